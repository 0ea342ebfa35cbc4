//! `fs:delete`: deletes files and directories in the workspace, by path or glob.

use globset::GlobBuilder;
use serde::Deserialize;
use serde_json::{Value, json};

use super::files;
use super::{Action, ActionContext, ActionError, ActionFuture, parse_input};

const NAME: &str = "fs:delete";

/// Deletes files and directories in the workspace.
#[derive(Debug, Clone, Copy, Default)]
pub struct FsDelete;

#[derive(Deserialize)]
struct Input {
    files: Vec<String>,
}

impl Action for FsDelete {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "Deletes files and directories in the workspace, by path or glob."
    }

    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "required": ["files"],
            "properties": {
                "files": {
                    "type": "array",
                    "description": "Paths or globs (`**/*.tmp`) relative to the workspace; missing paths are ignored.",
                    "items": {"type": "string"}
                }
            }
        })
    }

    fn run<'a>(&'a self, context: &'a mut ActionContext<'_>, input: &'a Value) -> ActionFuture<'a> {
        Box::pin(async move {
            let input: Input = parse_input(NAME, input)?;
            let workspace = context.workspace;
            for (index, pattern) in input.files.iter().enumerate() {
                context.check_cancelled(NAME)?;
                // The lexical and symlink checks apply to globs too: `..` or
                // an absolute glob is refused before anything is listed.
                let resolved = workspace
                    .resolve_entry(pattern)
                    .map_err(|error| ActionError::workspace(NAME, error))?;
                let Some(relative) = workspace.relative(&resolved) else {
                    continue;
                };
                if relative.is_empty() {
                    return Err(ActionError::invalid(
                        NAME,
                        &format!("files[{index}]"),
                        "the workspace root itself cannot be deleted; name paths inside it",
                    ));
                }
                let targets = if relative.contains(['*', '?', '[', '{']) {
                    let glob = GlobBuilder::new(&relative)
                        .literal_separator(true)
                        .build()
                        .map_err(|error| {
                            ActionError::invalid(
                                NAME,
                                &format!("files[{index}]"),
                                error.to_string(),
                            )
                        })?
                        .compile_matcher();
                    let mut matches: Vec<String> = Vec::new();
                    for (entry, _is_directory) in files::list_workspace(context, NAME)? {
                        let below_deleted = matches
                            .iter()
                            .any(|deleted| entry.starts_with(&format!("{deleted}/")));
                        if glob.is_match(&entry) && !below_deleted {
                            matches.push(entry);
                        }
                    }
                    matches
                } else {
                    vec![relative]
                };
                for target in targets {
                    delete(context, &target)?;
                }
            }
            Ok(json!({}))
        })
    }
}

/// Deletes one entry; a symlink is removed itself, never its target.
fn delete(context: &mut ActionContext<'_>, relative: &str) -> Result<(), ActionError> {
    let path = context
        .workspace
        .resolve_entry(relative)
        .map_err(|error| ActionError::workspace(NAME, error))?;
    let Ok(metadata) = path.symlink_metadata() else {
        context.log(format!("`{relative}` does not exist; nothing to delete"));
        return Ok(());
    };
    let removed = if metadata.is_dir() {
        std::fs::remove_dir_all(&path)
    } else {
        std::fs::remove_file(&path)
    };
    removed.map_err(|e| ActionError::io(NAME, "delete", relative, e))?;
    context.log(format!("Deleted `{relative}`"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use serde_json::json;

    use super::super::test_support::{run, workspace, write_files};

    #[tokio::test]
    async fn deletes_paths_and_globs() {
        let (directories, workspace) = workspace();
        write_files(
            workspace.root(),
            &[
                ("a.txt", b"a"),
                ("keep.md", b"k"),
                ("dir/x.tmp", b"x"),
                ("dir/sub/y.tmp", b"y"),
                ("old/z", b"z"),
            ],
        );
        let (result, _log) = run(
            &directories,
            &workspace,
            "fs:delete",
            json!({"files": ["a.txt", "./old", "**/*.tmp", "missing.txt"]}),
        )
        .await;
        result.unwrap();
        let root = workspace.root();
        assert!(!root.join("a.txt").exists());
        assert!(!root.join("old").exists());
        assert!(!root.join("dir/x.tmp").exists());
        assert!(!root.join("dir/sub/y.tmp").exists());
        assert!(root.join("keep.md").exists());
        assert!(root.join("dir/sub").is_dir());
    }

    #[tokio::test]
    async fn escapes_are_refused() {
        let (directories, workspace) = workspace();
        write_files(directories.outside.path(), &[("secret", b"s")]);
        symlink(directories.outside.path(), workspace.root().join("out")).unwrap();
        for pattern in [
            "../x",
            "/etc/passwd",
            "out/secret",
            "../*",
            "out/*",
            "",
            ".",
        ] {
            let (result, _log) = run(
                &directories,
                &workspace,
                "fs:delete",
                json!({"files": [pattern]}),
            )
            .await;
            assert!(result.is_err(), "{pattern}");
        }
        assert!(directories.outside.path().join("secret").exists());
    }

    #[tokio::test]
    async fn a_link_pointing_outside_is_removed_without_touching_its_target() {
        let (directories, workspace) = workspace();
        write_files(directories.outside.path(), &[("secret", b"s")]);
        symlink(directories.outside.path(), workspace.root().join("out")).unwrap();
        let (result, _log) = run(
            &directories,
            &workspace,
            "fs:delete",
            json!({"files": ["out"]}),
        )
        .await;
        result.unwrap();
        assert!(workspace.root().join("out").symlink_metadata().is_err());
        assert!(directories.outside.path().join("secret").exists());
    }
}
