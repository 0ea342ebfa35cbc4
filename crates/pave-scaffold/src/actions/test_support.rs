//! Shared setup for the action tests: real directories under a tempdir.

use std::path::Path;

use serde_json::Value;

use super::{ActionContext, ActionError, ActionRegistry};
use crate::workspace::Workspace;

/// Temporary directories that must outlive the test's workspaces.
pub(crate) struct Directories {
    pub workspace: tempfile::TempDir,
    pub template: tempfile::TempDir,
    pub outside: tempfile::TempDir,
}

/// An empty workspace (the directories are dropped with the first value).
pub(crate) fn workspace() -> (Directories, Workspace) {
    let directories = Directories {
        workspace: tempfile::tempdir().expect("tempdir"),
        template: tempfile::tempdir().expect("tempdir"),
        outside: tempfile::tempdir().expect("tempdir"),
    };
    let workspace = Workspace::new(directories.workspace.path()).expect("workspace");
    (directories, workspace)
}

/// Writes `files` (relative path, contents) below `root`.
pub(crate) fn write_files(root: &Path, files: &[(&str, &[u8])]) {
    for (relative, contents) in files {
        let path = root.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create dir");
        }
        std::fs::write(path, contents).expect("write");
    }
}

/// Runs `action` through the registry (so input is validated) with the
/// template directory set; returns the output and the log.
pub(crate) async fn run(
    directories: &Directories,
    workspace: &Workspace,
    action: &str,
    input: Value,
) -> (Result<Value, ActionError>, Vec<String>) {
    let template = Workspace::template_directory(directories.template.path()).expect("template");
    let mut log = Vec::new();
    let result = {
        let mut context = ActionContext::new(workspace, &mut log);
        context.template_directory = Some(&template);
        ActionRegistry::with_builtin_actions()
            .run(action, &mut context, &input)
            .await
    };
    (result, log)
}

/// Contents of a workspace file as text.
pub(crate) fn read(workspace: &Workspace, relative: &str) -> String {
    std::fs::read_to_string(workspace.root().join(relative)).expect("read workspace file")
}
