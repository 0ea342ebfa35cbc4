//! `fs:rename`: moves files and directories within the workspace.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{Action, ActionContext, ActionError, ActionFuture, parse_input};

const NAME: &str = "fs:rename";

/// Renames (moves) files or directories inside the workspace.
#[derive(Debug, Clone, Copy, Default)]
pub struct FsRename;

#[derive(Deserialize)]
struct Input {
    files: Vec<Rename>,
}

#[derive(Deserialize)]
struct Rename {
    from: String,
    to: String,
    #[serde(default)]
    overwrite: bool,
}

impl Action for FsRename {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "Renames files and directories in the workspace."
    }

    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "required": ["files"],
            "properties": {
                "files": {
                    "type": "array",
                    "description": "Renames to do, in order.",
                    "items": {
                        "type": "object",
                        "required": ["from", "to"],
                        "properties": {
                            "from": {"type": "string", "description": "Existing path in the workspace."},
                            "to": {"type": "string", "description": "New path in the workspace."},
                            "overwrite": {
                                "type": "boolean",
                                "description": "Replace what is already at `to`.",
                                "default": false
                            }
                        }
                    }
                }
            }
        })
    }

    fn run<'a>(&'a self, context: &'a mut ActionContext<'_>, input: &'a Value) -> ActionFuture<'a> {
        Box::pin(async move {
            let input: Input = parse_input(NAME, input)?;
            for (index, rename) in input.files.iter().enumerate() {
                context.check_cancelled(NAME)?;
                // Renaming moves a link itself, never its target, so the last
                // component need not be followed (its parents still are).
                let workspace = context.workspace;
                let from = workspace
                    .resolve_entry(&rename.from)
                    .map_err(|error| ActionError::workspace(NAME, error))?;
                let to = workspace
                    .resolve_entry(&rename.to)
                    .map_err(|error| ActionError::workspace(NAME, error))?;
                if from == workspace.root() || to == workspace.root() {
                    return Err(ActionError::invalid(
                        NAME,
                        &format!("files[{index}]"),
                        "the workspace root itself cannot be renamed or replaced; name a path inside it",
                    ));
                }
                if from.symlink_metadata().is_err() {
                    return Err(ActionError::invalid(
                        NAME,
                        &format!("files[{index}].from"),
                        format!(
                            "`{}` does not exist in the workspace; check the path",
                            rename.from
                        ),
                    ));
                }
                if let Ok(existing) = to.symlink_metadata() {
                    if !rename.overwrite {
                        return Err(ActionError::invalid(
                            NAME,
                            &format!("files[{index}].to"),
                            format!(
                                "`{}` already exists; set overwrite: true to replace it",
                                rename.to
                            ),
                        ));
                    }
                    let removed = if existing.is_dir() {
                        std::fs::remove_dir_all(&to)
                    } else {
                        std::fs::remove_file(&to)
                    };
                    removed.map_err(|e| ActionError::io(NAME, "replace", &rename.to, e))?;
                }
                if let Some(parent) = to.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        ActionError::io(NAME, "create directory for", &rename.to, e)
                    })?;
                }
                std::fs::rename(&from, &to)
                    .map_err(|e| ActionError::io(NAME, "rename", &rename.from, e))?;
                context.log(format!("Renamed `{}` to `{}`", rename.from, rename.to));
            }
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
    async fn renames_files_and_directories() {
        let (directories, workspace) = workspace();
        write_files(workspace.root(), &[("a.txt", b"a"), ("dir/b.txt", b"b")]);
        let (result, _log) = run(
            &directories,
            &workspace,
            "fs:rename",
            json!({"files": [{"from": "a.txt", "to": "new/a2.txt"}, {"from": "dir", "to": "dir2"}]}),
        )
        .await;
        result.unwrap();
        assert_eq!(read(&workspace, "new/a2.txt"), "a");
        assert_eq!(read(&workspace, "dir2/b.txt"), "b");
        assert!(!workspace.root().join("a.txt").exists());
    }

    #[tokio::test]
    async fn existing_targets_need_overwrite() {
        let (directories, workspace) = workspace();
        write_files(workspace.root(), &[("a.txt", b"a"), ("b.txt", b"b")]);
        let (result, _log) = run(
            &directories,
            &workspace,
            "fs:rename",
            json!({"files": [{"from": "a.txt", "to": "b.txt"}]}),
        )
        .await;
        let error = result.unwrap_err().to_string();
        assert!(
            error.contains("files[0].to") && error.contains("overwrite"),
            "{error}"
        );
        let (result, _log) = run(
            &directories,
            &workspace,
            "fs:rename",
            json!({"files": [{"from": "a.txt", "to": "b.txt", "overwrite": true}]}),
        )
        .await;
        result.unwrap();
        assert_eq!(read(&workspace, "b.txt"), "a");
    }

    #[tokio::test]
    async fn missing_source_is_reported() {
        let (directories, workspace) = workspace();
        let (result, _log) = run(
            &directories,
            &workspace,
            "fs:rename",
            json!({"files": [{"from": "nope", "to": "x"}]}),
        )
        .await;
        assert!(result.unwrap_err().to_string().contains("does not exist"));
    }

    #[tokio::test]
    async fn escapes_are_refused() {
        let (directories, workspace) = workspace();
        write_files(workspace.root(), &[("a.txt", b"a")]);
        write_files(directories.outside.path(), &[("secret", b"s")]);
        symlink(directories.outside.path(), workspace.root().join("out")).unwrap();
        for (from, to) in [
            ("a.txt", "../a.txt"),
            ("a.txt", "/tmp/a.txt"),
            ("../x", "b"),
            ("a.txt", "out/a.txt"),
            ("out/secret", "stolen"),
        ] {
            let (result, _log) = run(
                &directories,
                &workspace,
                "fs:rename",
                json!({"files": [{"from": from, "to": to}]}),
            )
            .await;
            assert!(
                matches!(result, Err(ActionError::Workspace { .. })),
                "{from} -> {to}: {result:?}"
            );
        }
        assert!(workspace.root().join("a.txt").exists());
        assert!(directories.outside.path().join("secret").exists());
    }
}
