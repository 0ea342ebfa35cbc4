//! File helpers shared by the file actions: locating sources in the template
//! directory, walking a skeleton, and writing into the workspace, each step
//! through the confinement checks of [`Workspace`].

use std::fs;
use std::path::{Path, PathBuf};

use super::{ActionContext, ActionError};
use crate::workspace::Workspace;

/// One entry of a skeleton, in a stable order (parents before children).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SourceEntry {
    /// Path below the skeleton root with `/` separators.
    pub relative: String,
    /// What the entry is.
    pub kind: SourceKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SourceKind {
    Directory,
    /// A file to read; for a symlink inside the template directory, its target.
    File(PathBuf),
}

/// Whether `url` names a remote location (`https://…`, `git@…:`, `file:…`)
/// rather than a path relative to the template.
fn is_remote(url: &str) -> bool {
    if url.starts_with("//") {
        return true;
    }
    let Some((scheme, _)) = url.split_once(':') else {
        return false;
    };
    let mut characters = scheme.chars();
    let starts_with_letter = characters.next().is_some_and(|c| c.is_ascii_alphabetic());
    // `git@host:owner/repo` is the scp-like remote syntax.
    scheme.contains('@')
        || (starts_with_letter
            && scheme.len() > 1
            && characters.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)))
}

/// The template directory and `url` resolved inside it.
pub(crate) fn source_path<'w>(
    context: &ActionContext<'w>,
    action: &str,
    url: &str,
) -> Result<(&'w Workspace, PathBuf), ActionError> {
    if is_remote(url) {
        return Err(ActionError::invalid(
            action,
            "url",
            format!(
                "`{url}` is a remote location, and Pave cannot fetch remote content here (no network access); put the files next to the template and use a relative path such as `./skeleton`"
            ),
        ));
    }
    let template = context.template_directory.ok_or_else(|| {
        ActionError::failed(
            action,
            format!(
                "`url: {url}` is relative to the template's directory, but this template was not read from files; run it from a catalog location or a directory"
            ),
        )
    })?;
    let path = template
        .resolve(url)
        .map_err(|error| ActionError::workspace(action, error))?;
    Ok((template, path))
}

/// A skeleton directory named by `url`; a single file there is refused with
/// a pointer to the action for files (`file_action`).
pub(crate) fn source_directory<'w>(
    context: &ActionContext<'w>,
    action: &str,
    url: &str,
    file_action: &str,
) -> Result<(&'w Workspace, PathBuf), ActionError> {
    let (template, source) = source_path(context, action, url)?;
    if !source.is_dir() {
        return Err(ActionError::invalid(
            action,
            "url",
            format!(
                "`{url}` is not a directory in the template; use {file_action} for a single file"
            ),
        ));
    }
    Ok((template, source))
}

/// Lists the skeleton below `root` (a directory inside `template`), parents
/// before children, sorted by name. Symlinks are not followed as directories;
/// a symlinked file is read from its target when that target is inside the
/// template directory, and refused otherwise.
pub(crate) fn walk(
    context: &ActionContext<'_>,
    action: &str,
    template: &Workspace,
    root: &Path,
) -> Result<Vec<SourceEntry>, ActionError> {
    let mut entries = Vec::new();
    let mut pending: Vec<(PathBuf, String)> = vec![(root.to_path_buf(), String::new())];
    while let Some((directory, prefix)) = pending.pop() {
        context.check_cancelled(action)?;
        let shown = display(template, &directory);
        let listing =
            fs::read_dir(&directory).map_err(|e| ActionError::io(action, "list", &shown, e))?;
        let mut children = Vec::new();
        for child in listing {
            let child = child.map_err(|e| ActionError::io(action, "list", &shown, e))?;
            children.push(child);
        }
        children.sort_by_key(|child| child.file_name());
        let mut subdirectories = Vec::new();
        for child in children {
            let name = child.file_name().to_string_lossy().into_owned();
            let relative = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            let path = child.path();
            let shown = display(template, &path);
            let file_type = child
                .file_type()
                .map_err(|e| ActionError::io(action, "inspect", &shown, e))?;
            if file_type.is_dir() {
                entries.push(SourceEntry {
                    relative: relative.clone(),
                    kind: SourceKind::Directory,
                });
                subdirectories.push((path, relative));
            } else if file_type.is_symlink() {
                let target = template
                    .resolve(&shown)
                    .and_then(|_| {
                        path.canonicalize()
                            .map_err(|source| crate::workspace::WorkspaceError::Io {
                                label: template.label(),
                                path: path.clone(),
                                source,
                            })
                    })
                    .map_err(|error| ActionError::workspace(action, error))?;
                if target.is_dir() {
                    return Err(ActionError::failed(
                        action,
                        format!(
                            "`{shown}` is a symlink to a directory, which is not copied (it could loop); replace the link with the directory itself"
                        ),
                    ));
                }
                entries.push(SourceEntry {
                    relative,
                    kind: SourceKind::File(target),
                });
            } else {
                entries.push(SourceEntry {
                    relative,
                    kind: SourceKind::File(path),
                });
            }
        }
        // Reversed so that popping visits them in name order.
        pending.extend(subdirectories.into_iter().rev());
    }
    Ok(entries)
}

/// `path` relative to the directory, for messages (falls back to the full path).
pub(crate) fn display(directory: &Workspace, path: &Path) -> String {
    directory
        .relative(path)
        .unwrap_or_else(|| path.display().to_string())
}

/// A source file's bytes and permissions.
pub(crate) fn read_source(
    action: &str,
    template: &Workspace,
    path: &Path,
) -> Result<(Vec<u8>, fs::Permissions), ActionError> {
    let shown = display(template, path);
    let metadata = fs::metadata(path).map_err(|e| ActionError::io(action, "inspect", &shown, e))?;
    if !metadata.is_file() {
        return Err(ActionError::failed(
            action,
            format!("`{shown}` is not a regular file; point the url at a file"),
        ));
    }
    let bytes = fs::read(path).map_err(|e| ActionError::io(action, "read", &shown, e))?;
    Ok((bytes, metadata.permissions()))
}

/// Resolves `relative` in the workspace and refuses paths that escape it.
pub(crate) fn destination(
    workspace: &Workspace,
    action: &str,
    relative: &str,
) -> Result<PathBuf, ActionError> {
    workspace
        .resolve(relative)
        .map_err(|error| ActionError::workspace(action, error))
}

/// Writes `bytes` to `relative` in the workspace, creating parent
/// directories, and gives it `permissions` (so scripts stay executable).
pub(crate) fn write_file(
    workspace: &Workspace,
    action: &str,
    relative: &str,
    bytes: &[u8],
    permissions: Option<fs::Permissions>,
) -> Result<(), ActionError> {
    let path = destination(workspace, action, relative)?;
    if path.is_dir() {
        return Err(ActionError::failed(
            action,
            format!(
                "`{relative}` is a directory in the workspace; choose another target path or delete it first"
            ),
        ));
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .map_err(|e| ActionError::io(action, "create directory for", relative, e))?;
    }
    fs::write(&path, bytes).map_err(|e| ActionError::io(action, "write", relative, e))?;
    if let Some(permissions) = permissions {
        fs::set_permissions(&path, permissions)
            .map_err(|e| ActionError::io(action, "set permissions of", relative, e))?;
    }
    Ok(())
}

/// Creates the directory `relative` (and its parents) in the workspace.
pub(crate) fn create_directory(
    workspace: &Workspace,
    action: &str,
    relative: &str,
) -> Result<(), ActionError> {
    let path = destination(workspace, action, relative)?;
    fs::create_dir_all(&path).map_err(|e| ActionError::io(action, "create directory", relative, e))
}

/// Joins a workspace-relative directory and a path below it with `/`.
pub(crate) fn join(directory: &str, relative: &str) -> String {
    let directory = directory.trim_end_matches('/');
    if directory.is_empty() || directory == "." {
        relative.to_string()
    } else if relative.is_empty() {
        directory.to_string()
    } else {
        format!("{directory}/{relative}")
    }
}

/// Every entry of the workspace (not following symlinked directories), as
/// `/`-separated relative paths with whether each is a directory, sorted
/// (so parents come before children).
pub(crate) fn list_workspace(
    context: &ActionContext<'_>,
    action: &str,
) -> Result<Vec<(String, bool)>, ActionError> {
    let workspace = context.workspace;
    let mut entries = Vec::new();
    let mut pending: Vec<(PathBuf, String)> = vec![(workspace.root().to_path_buf(), String::new())];
    while let Some((directory, prefix)) = pending.pop() {
        context.check_cancelled(action)?;
        let listing =
            fs::read_dir(&directory).map_err(|e| ActionError::io(action, "list", &prefix, e))?;
        let mut children = Vec::new();
        for child in listing {
            children.push(child.map_err(|e| ActionError::io(action, "list", &prefix, e))?);
        }
        children.sort_by_key(|child| child.file_name());
        let mut subdirectories = Vec::new();
        for child in children {
            let relative = join(&prefix, &child.file_name().to_string_lossy());
            let is_directory = child.file_type().is_ok_and(|kind| kind.is_dir());
            if is_directory {
                subdirectories.push((child.path(), relative.clone()));
            }
            entries.push((relative, is_directory));
        }
        pending.extend(subdirectories.into_iter().rev());
    }
    // By path: readable, and a directory still comes before what it holds.
    entries.sort();
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_locations_are_recognised() {
        for url in [
            "https://github.com/o/r/tree/main/skeleton",
            "http://x",
            "file:///etc",
            "git@github.com:o/r.git",
            "//host/share",
        ] {
            assert!(is_remote(url), "{url}");
        }
        for url in ["./skeleton", "skeleton", "../x", "dir/with:colon", "c:"] {
            assert!(!is_remote(url), "{url}");
        }
    }

    #[test]
    fn joins_relative_paths() {
        assert_eq!(join("./", "a/b"), "a/b");
        assert_eq!(join("", "a"), "a");
        assert_eq!(join("out/", "a"), "out/a");
        assert_eq!(join("out", ""), "out");
    }
}
