//! `fetch:plain`: copies a directory from the template into the workspace,
//! without templating.

use serde::Deserialize;
use serde_json::{Value, json};

use super::files::{self, SourceKind};
use super::{Action, ActionContext, ActionFuture, parse_input};

const NAME: &str = "fetch:plain";

/// Copies a directory tree from the template's directory into the workspace.
#[derive(Debug, Clone, Copy, Default)]
pub struct FetchPlain;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    url: String,
    #[serde(default = "current_directory")]
    target_path: String,
}

fn current_directory() -> String {
    "./".to_string()
}

impl Action for FetchPlain {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "Copies a directory next to the template into the workspace, as is."
    }

    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "required": ["url"],
            "properties": {
                "url": {
                    "type": "string",
                    "description": "Directory to copy, relative to the template's directory (remote URLs are not supported)."
                },
                "targetPath": {
                    "type": "string",
                    "description": "Directory in the workspace to copy into; defaults to the workspace root.",
                    "default": "./"
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
            let (template, source) =
                files::source_directory(context, NAME, &input.url, "fetch:plain:file")?;
            let target = input.target_path.as_str();
            files::create_directory(context.workspace, NAME, target)?;
            let entries = files::walk(context, NAME, template, &source)?;
            context.log(format!(
                "Copying {} entries from `{}` to `{target}`",
                entries.len(),
                input.url
            ));
            for entry in entries {
                context.check_cancelled(NAME)?;
                let destination = files::join(target, &entry.relative);
                match entry.kind {
                    SourceKind::Directory => {
                        files::create_directory(context.workspace, NAME, &destination)?;
                    }
                    SourceKind::File(path) => {
                        let (bytes, permissions) = files::read_source(NAME, template, &path)?;
                        files::write_file(
                            context.workspace,
                            NAME,
                            &destination,
                            &bytes,
                            Some(permissions),
                        )?;
                    }
                }
            }
            Ok(json!({}))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::{PermissionsExt, symlink};

    use serde_json::json;

    use super::super::test_support::{read, run, workspace, write_files};
    use crate::actions::ActionError;

    #[tokio::test]
    async fn copies_a_tree_with_permissions() {
        let (directories, workspace) = workspace();
        let skeleton = directories.template.path().join("skeleton");
        write_files(
            &skeleton,
            &[
                ("a.txt", b"${{ values.x }}"),
                ("sub/b.bin", &[0, 159, 146, 150]),
                (".hidden", b"h"),
            ],
        );
        let script = skeleton.join("run.sh");
        std::fs::write(&script, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let (result, _log) = run(
            &directories,
            &workspace,
            "fetch:plain",
            json!({"url": "./skeleton", "targetPath": "out"}),
        )
        .await;
        assert_eq!(result.unwrap(), json!({}));
        assert_eq!(read(&workspace, "out/a.txt"), "${{ values.x }}");
        assert_eq!(read(&workspace, "out/.hidden"), "h");
        assert_eq!(
            std::fs::read(workspace.root().join("out/sub/b.bin")).unwrap(),
            [0, 159, 146, 150]
        );
        let mode = std::fs::metadata(workspace.root().join("out/run.sh"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o111, 0o111);
    }

    #[tokio::test]
    async fn target_defaults_to_the_workspace_root() {
        let (directories, workspace) = workspace();
        write_files(&directories.template.path().join("s"), &[("a.txt", b"a")]);
        let (result, _log) =
            run(&directories, &workspace, "fetch:plain", json!({"url": "s"})).await;
        result.unwrap();
        assert_eq!(read(&workspace, "a.txt"), "a");
    }

    #[tokio::test]
    async fn remote_urls_are_refused_with_a_hint() {
        let (directories, workspace) = workspace();
        let (result, _log) = run(
            &directories,
            &workspace,
            "fetch:plain",
            json!({"url": "https://github.com/backstage/software-templates/tree/main/x"}),
        )
        .await;
        let error = result.unwrap_err().to_string();
        assert!(
            error.contains("remote") && error.contains("./skeleton"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn sources_outside_the_template_directory_are_refused() {
        let (directories, workspace) = workspace();
        for url in ["..", "/etc", "../outside"] {
            let (result, _log) =
                run(&directories, &workspace, "fetch:plain", json!({"url": url})).await;
            assert!(
                matches!(result, Err(ActionError::Workspace { .. })),
                "{url}: {result:?}"
            );
        }
    }

    #[tokio::test]
    async fn skeleton_symlinks_leading_outside_are_refused() {
        let (directories, workspace) = workspace();
        let skeleton = directories.template.path().join("skeleton");
        write_files(&skeleton, &[("ok.txt", b"ok")]);
        write_files(directories.outside.path(), &[("secret", b"secret")]);
        symlink(
            directories.outside.path().join("secret"),
            skeleton.join("leak"),
        )
        .unwrap();
        let (result, _log) = run(
            &directories,
            &workspace,
            "fetch:plain",
            json!({"url": "skeleton"}),
        )
        .await;
        let error = result.unwrap_err().to_string();
        assert!(
            error.contains("points outside the template directory"),
            "{error}"
        );
        assert!(!workspace.root().join("leak").exists());
    }

    #[tokio::test]
    async fn skeleton_symlinks_inside_are_copied_as_files() {
        let (directories, workspace) = workspace();
        let skeleton = directories.template.path().join("skeleton");
        write_files(&skeleton, &[("real.txt", b"real")]);
        symlink("real.txt", skeleton.join("alias.txt")).unwrap();
        let (result, _log) = run(
            &directories,
            &workspace,
            "fetch:plain",
            json!({"url": "skeleton"}),
        )
        .await;
        result.unwrap();
        assert_eq!(read(&workspace, "alias.txt"), "real");
        assert!(!workspace.root().join("alias.txt").is_symlink());
    }

    #[tokio::test]
    async fn targets_escaping_the_workspace_are_refused() {
        let (directories, workspace) = workspace();
        write_files(&directories.template.path().join("s"), &[("a.txt", b"a")]);
        symlink(directories.outside.path(), workspace.root().join("out")).unwrap();
        for target in ["../x", "/tmp/x", "out"] {
            let (result, _log) = run(
                &directories,
                &workspace,
                "fetch:plain",
                json!({"url": "s", "targetPath": target}),
            )
            .await;
            assert!(
                matches!(result, Err(ActionError::Workspace { .. })),
                "{target}: {result:?}"
            );
        }
        assert!(!directories.outside.path().join("a.txt").exists());
    }

    #[tokio::test]
    async fn writing_through_a_workspace_symlink_file_is_refused() {
        let (directories, workspace) = workspace();
        write_files(
            &directories.template.path().join("s"),
            &[("a.txt", b"evil")],
        );
        let victim = directories.outside.path().join("victim");
        std::fs::write(&victim, "safe").unwrap();
        symlink(&victim, workspace.root().join("a.txt")).unwrap();
        let (result, _log) =
            run(&directories, &workspace, "fetch:plain", json!({"url": "s"})).await;
        assert!(
            matches!(result, Err(ActionError::Workspace { .. })),
            "{result:?}"
        );
        assert_eq!(std::fs::read_to_string(victim).unwrap(), "safe");
    }
}
