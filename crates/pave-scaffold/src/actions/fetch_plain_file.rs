//! `fetch:plain:file`: copies one file from the template into the workspace.

use serde::Deserialize;
use serde_json::{Value, json};

use super::files;
use super::{Action, ActionContext, ActionError, ActionFuture, parse_input};

const NAME: &str = "fetch:plain:file";

/// Copies one file from the template's directory into the workspace.
#[derive(Debug, Clone, Copy, Default)]
pub struct FetchPlainFile;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    url: String,
    target_path: String,
}

impl Action for FetchPlainFile {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "Copies one file next to the template into the workspace, as is."
    }

    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "required": ["url", "targetPath"],
            "properties": {
                "url": {
                    "type": "string",
                    "description": "File to copy, relative to the template's directory (remote URLs are not supported)."
                },
                "targetPath": {
                    "type": "string",
                    "description": "File path in the workspace to write."
                },
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
            if source.is_dir() {
                return Err(ActionError::invalid(
                    NAME,
                    "url",
                    format!(
                        "`{}` is a directory; use fetch:plain to copy a directory",
                        input.url
                    ),
                ));
            }
            let (bytes, permissions) = files::read_source(NAME, template, &source)?;
            files::write_file(
                context.workspace,
                NAME,
                &input.target_path,
                &bytes,
                Some(permissions),
            )?;
            context.log(format!("Copied `{}` to `{}`", input.url, input.target_path));
            Ok(json!({}))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use serde_json::json;

    use super::super::test_support::{read, run, workspace, write_files};
    use crate::actions::ActionError;

    #[tokio::test]
    async fn copies_one_file_creating_directories() {
        let (directories, workspace) = workspace();
        write_files(directories.template.path(), &[("files/LICENSE", b"MIT")]);
        let (result, _log) = run(
            &directories,
            &workspace,
            "fetch:plain:file",
            json!({"url": "./files/LICENSE", "targetPath": "docs/LICENSE.txt"}),
        )
        .await;
        result.unwrap();
        assert_eq!(read(&workspace, "docs/LICENSE.txt"), "MIT");
    }

    #[tokio::test]
    async fn target_path_is_required() {
        let (directories, workspace) = workspace();
        let (result, _log) = run(
            &directories,
            &workspace,
            "fetch:plain:file",
            json!({"url": "x"}),
        )
        .await;
        let error = result.unwrap_err().to_string();
        assert!(error.contains("`targetPath`"), "{error}");
    }

    #[tokio::test]
    async fn directories_and_escapes_are_refused() {
        let (directories, workspace) = workspace();
        write_files(directories.template.path(), &[("dir/a", b"a")]);
        write_files(directories.outside.path(), &[("secret", b"s")]);
        symlink(
            directories.outside.path().join("secret"),
            directories.template.path().join("link"),
        )
        .unwrap();
        let (result, _log) = run(
            &directories,
            &workspace,
            "fetch:plain:file",
            json!({"url": "dir", "targetPath": "a"}),
        )
        .await;
        assert!(
            result
                .unwrap_err()
                .to_string()
                .contains("fetch:plain to copy")
        );
        for (url, target) in [("link", "a"), ("dir/a", "../a"), ("../x", "a")] {
            let (result, _log) = run(
                &directories,
                &workspace,
                "fetch:plain:file",
                json!({"url": url, "targetPath": target}),
            )
            .await;
            assert!(
                matches!(result, Err(ActionError::Workspace { .. })),
                "{url} -> {target}: {result:?}"
            );
        }
    }
}
