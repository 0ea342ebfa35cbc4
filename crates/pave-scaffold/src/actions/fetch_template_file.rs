//! `fetch:template:file`: renders one file from the template into the workspace.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::files;
use super::{Action, ActionContext, ActionError, ActionFuture, parse_input};
use crate::text::{TextOptions, render_text};

const NAME: &str = "fetch:template:file";

/// Renders one file next to the template into the workspace with `values`.
#[derive(Debug, Clone, Copy, Default)]
pub struct FetchTemplateFile;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    url: String,
    target_path: String,
    #[serde(default)]
    values: Map<String, Value>,
    #[serde(default)]
    cookiecutter_compat: bool,
    #[serde(default)]
    replace: bool,
    #[serde(default)]
    trim_blocks: bool,
    #[serde(default)]
    lstrip_blocks: bool,
}

impl Action for FetchTemplateFile {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "Renders one file next to the template with `values` and writes it into the workspace."
    }

    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "required": ["url", "targetPath"],
            "properties": {
                "url": {
                    "type": "string",
                    "description": "File to render, relative to the template's directory (remote URLs are not supported)."
                },
                "targetPath": {
                    "type": "string",
                    "description": "File path in the workspace to write."
                },
                "values": {
                    "type": "object",
                    "description": "Values the file reads as `${{ values.x }}`."
                },
                "cookiecutterCompat": {
                    "type": "boolean",
                    "description": "Read `{{ cookiecutter.x }}` instead of `${{ values.x }}`.",
                    "default": false
                },
                "replace": {
                    "type": "boolean",
                    "description": "Overwrite the file if it already exists in the workspace.",
                    "default": false
                },
                "trimBlocks": {"type": "boolean", "default": false},
                "lstripBlocks": {"type": "boolean", "default": false},
                "token": {
                    "type": "string",
                    "description": "Accepted for Backstage compatibility and ignored: content is never fetched remotely."
                }
            }
        })
    }

    fn run<'a>(&'a self, context: &'a mut ActionContext<'_>, input: &'a Value) -> ActionFuture<'a> {
        Box::pin(async move {
            let input: Input = parse_input(NAME, input)?;
            let (template, source) = files::source_path(context, NAME, &input.url)?;
            let destination = files::destination(context.workspace, NAME, &input.target_path)?;
            if !input.replace && destination.symlink_metadata().is_ok() {
                context.log(format!(
                    "Keeping existing `{}` (set replace to overwrite)",
                    input.target_path
                ));
                return Ok(json!({}));
            }
            let (bytes, permissions) = files::read_source(NAME, template, &source)?;
            let contents = match String::from_utf8(bytes) {
                Ok(text) => {
                    let root = if input.cookiecutter_compat {
                        "cookiecutter"
                    } else {
                        "values"
                    };
                    let variables = json!({ root: input.values });
                    let options = TextOptions {
                        cookiecutter_compat: input.cookiecutter_compat,
                        trim_blocks: input.trim_blocks,
                        lstrip_blocks: input.lstrip_blocks,
                    };
                    render_text(&text, &variables, options)
                        .map_err(|source| ActionError::Template {
                            action: NAME.to_string(),
                            path: input.url.clone(),
                            source: Box::new(source),
                        })?
                        .into_bytes()
                }
                Err(binary) => {
                    context.log(format!(
                        "Copying binary file `{}` without templating",
                        input.url
                    ));
                    binary.into_bytes()
                }
            };
            files::write_file(
                context.workspace,
                NAME,
                &input.target_path,
                &contents,
                Some(permissions),
            )?;
            context.log(format!(
                "Rendered `{}` to `{}`",
                input.url, input.target_path
            ));
            Ok(json!({}))
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::test_support::{read, run, workspace, write_files};
    use crate::actions::ActionError;

    #[tokio::test]
    async fn renders_one_file() {
        let (directories, workspace) = workspace();
        write_files(
            directories.template.path(),
            &[("files/app.yaml", b"name: ${{ values.name }}\n")],
        );
        let (result, _log) = run(
            &directories,
            &workspace,
            "fetch:template:file",
            json!({"url": "files/app.yaml", "targetPath": "config/app.yaml", "values": {"name": "svc"}}),
        )
        .await;
        result.unwrap();
        assert_eq!(read(&workspace, "config/app.yaml"), "name: svc\n");
    }

    #[tokio::test]
    async fn cookiecutter_compat_and_replace() {
        let (directories, workspace) = workspace();
        write_files(
            directories.template.path(),
            &[("f.txt", b"{{ cookiecutter.name }}")],
        );
        write_files(workspace.root(), &[("f.txt", b"old")]);
        let input = json!({"url": "f.txt", "targetPath": "f.txt", "values": {"name": "svc"}, "cookiecutterCompat": true});
        let (result, _log) = run(
            &directories,
            &workspace,
            "fetch:template:file",
            input.clone(),
        )
        .await;
        result.unwrap();
        assert_eq!(read(&workspace, "f.txt"), "old");
        let mut replacing = input;
        replacing["replace"] = json!(true);
        let (result, _log) = run(&directories, &workspace, "fetch:template:file", replacing).await;
        result.unwrap();
        assert_eq!(read(&workspace, "f.txt"), "svc");
    }

    #[tokio::test]
    async fn escaping_paths_are_refused() {
        let (directories, workspace) = workspace();
        write_files(directories.template.path(), &[("f.txt", b"x")]);
        for (url, target) in [
            ("../f.txt", "f.txt"),
            ("f.txt", "../../f.txt"),
            ("f.txt", "/tmp/f.txt"),
        ] {
            let (result, _log) = run(
                &directories,
                &workspace,
                "fetch:template:file",
                json!({"url": url, "targetPath": target}),
            )
            .await;
            assert!(
                matches!(result, Err(ActionError::Workspace { .. })),
                "{url} {target}: {result:?}"
            );
        }
    }
}
