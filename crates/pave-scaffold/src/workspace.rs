//! Directories that template steps are confined to.
//!
//! Templates come from repositories anyone in the organisation can write to,
//! and their inputs come from whoever runs them, so every path an action gets
//! is untrusted. A [`Workspace`] resolves such a path relative to its root and
//! refuses anything that would reach outside: absolute paths, `..` that climbs
//! above the root, and symlinks (anywhere along the path, including the final
//! file) whose target is outside. The same type confines reads from a
//! template's own directory, so a skeleton cannot pull in `/etc/passwd`.
//!
//! The check happens when a path is resolved; nothing else writes into a
//! task's workspace while its steps run (steps run one at a time), so the
//! window between check and use is not reachable by a template author.

use std::io;
use std::path::{Component, Path, PathBuf};

/// A directory whose paths are resolved without escaping it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    /// Canonical (symlink-free, absolute) root.
    root: PathBuf,
    /// What the directory is, for error messages ("workspace", "template directory").
    label: &'static str,
}

/// A path that a [`Workspace`] refused, or could not inspect.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    /// The root itself is missing or not a directory.
    #[error("the {label} `{}` cannot be used: {source}; create the directory or point Pave at an existing one", root.display())]
    Root {
        /// What the directory is.
        label: &'static str,
        /// The root as given.
        root: PathBuf,
        /// Why it cannot be used.
        source: io::Error,
    },
    /// The path is absolute.
    #[error("path `{path}` is absolute; use a path relative to the {label}")]
    Absolute {
        /// What the directory is.
        label: &'static str,
        /// The path as given.
        path: String,
    },
    /// `..` climbs above the root.
    #[error("path `{path}` climbs out of the {label} with `..`; use a path that stays inside it")]
    ParentEscape {
        /// What the directory is.
        label: &'static str,
        /// The path as given.
        path: String,
    },
    /// A symlink along the path points outside the root.
    #[error("path `{path}` goes through the symlink `{}`, which points outside the {label} (to `{}`); remove the link or use a path that does not go through it", link.display(), target.display())]
    SymlinkEscape {
        /// What the directory is.
        label: &'static str,
        /// The path as given.
        path: String,
        /// The part of the path that is (or goes through) the link.
        link: PathBuf,
        /// Where it leads.
        target: PathBuf,
    },
    /// A symlink along the path points at something that does not exist, so
    /// writing through it could create a file anywhere.
    #[error("path `{path}` goes through the symlink `{}`, whose target does not exist; remove the dangling link", link.display())]
    DanglingSymlink {
        /// What the directory is.
        label: &'static str,
        /// The path as given.
        path: String,
        /// The part of the path that is (or goes through) the link.
        link: PathBuf,
    },
    /// The path contains a NUL byte, which no file system accepts.
    #[error("path `{}` contains a NUL byte; remove it", path.escape_debug())]
    Nul {
        /// The path as given.
        path: String,
    },
    /// The file system could not be inspected.
    #[error("could not inspect `{}` in the {label}: {source}", path.display())]
    Io {
        /// What the directory is.
        label: &'static str,
        /// The path inspected.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

impl Workspace {
    /// A task's workspace rooted at `root`, which must be an existing directory.
    pub fn new(root: impl AsRef<Path>) -> Result<Workspace, WorkspaceError> {
        Workspace::with_label(root.as_ref(), "workspace")
    }

    /// A template's base directory (where its `template.yaml` lives), confined
    /// the same way; skeletons are read through it.
    pub fn template_directory(root: impl AsRef<Path>) -> Result<Workspace, WorkspaceError> {
        Workspace::with_label(root.as_ref(), "template directory")
    }

    fn with_label(root: &Path, label: &'static str) -> Result<Workspace, WorkspaceError> {
        let failure = |source| WorkspaceError::Root {
            label,
            root: root.to_path_buf(),
            source,
        };
        let canonical = root.canonicalize().map_err(failure)?;
        if !canonical.is_dir() {
            return Err(failure(io::Error::new(
                io::ErrorKind::NotADirectory,
                "not a directory",
            )));
        }
        Ok(Workspace {
            root: canonical,
            label,
        })
    }

    /// The canonical root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// What this directory is in error messages: `workspace` or `template directory`.
    pub fn label(&self) -> &'static str {
        self.label
    }

    /// Resolves `path` (relative to the root; `""` and `.` mean the root) to
    /// an absolute path inside the root, following symlinks to check where
    /// they lead. The path need not exist yet: its existing ancestors are
    /// checked, and the missing rest can only create entries below them.
    pub fn resolve(&self, path: &str) -> Result<PathBuf, WorkspaceError> {
        let joined = self.join_lexically(path)?;
        self.check_links(path, &joined, true)?;
        Ok(joined)
    }

    /// Like [`Workspace::resolve`], but the last component is not followed
    /// when it is a symlink: for deleting or renaming the link itself, which
    /// never touches its target.
    pub fn resolve_entry(&self, path: &str) -> Result<PathBuf, WorkspaceError> {
        let joined = self.join_lexically(path)?;
        self.check_links(path, &joined, false)?;
        Ok(joined)
    }

    /// The path of `absolute` relative to the root, with `/` separators, or
    /// `None` when it is not below the root.
    pub fn relative(&self, absolute: &Path) -> Option<String> {
        let rest = absolute.strip_prefix(&self.root).ok()?;
        let parts: Vec<String> = rest
            .components()
            .map(|component| component.as_os_str().to_string_lossy().into_owned())
            .collect();
        Some(parts.join("/"))
    }

    /// Root joined with `path` after removing `.` and resolving `..` without
    /// looking at the file system, so the result never contains `..`.
    fn join_lexically(&self, path: &str) -> Result<PathBuf, WorkspaceError> {
        if path.contains('\0') {
            return Err(WorkspaceError::Nul {
                path: path.to_string(),
            });
        }
        let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
        for component in Path::new(path).components() {
            match component {
                Component::Normal(name) => parts.push(name),
                Component::CurDir => {}
                Component::ParentDir => {
                    if parts.pop().is_none() {
                        return Err(WorkspaceError::ParentEscape {
                            label: self.label,
                            path: path.to_string(),
                        });
                    }
                }
                Component::RootDir | Component::Prefix(_) => {
                    return Err(WorkspaceError::Absolute {
                        label: self.label,
                        path: path.to_string(),
                    });
                }
            }
        }
        let mut joined = self.root.clone();
        joined.extend(parts);
        Ok(joined)
    }

    /// Walks from the root down `joined`; at every existing symlink (the last
    /// one only when `follow_last`), checks that its fully resolved target
    /// stays inside the root. Stops at the first component that does not
    /// exist: nothing below it can be a link.
    fn check_links(
        &self,
        original: &str,
        joined: &Path,
        follow_last: bool,
    ) -> Result<(), WorkspaceError> {
        let Ok(rest) = joined.strip_prefix(&self.root) else {
            return Err(WorkspaceError::ParentEscape {
                label: self.label,
                path: original.to_string(),
            });
        };
        let components: Vec<Component<'_>> = rest.components().collect();
        let mut current = self.root.clone();
        for (index, component) in components.iter().enumerate() {
            current.push(component);
            let is_last = index + 1 == components.len();
            let metadata = match std::fs::symlink_metadata(&current) {
                Ok(metadata) => metadata,
                Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
                Err(source) => {
                    return Err(WorkspaceError::Io {
                        label: self.label,
                        path: current,
                        source,
                    });
                }
            };
            if !metadata.file_type().is_symlink() || (is_last && !follow_last) {
                continue;
            }
            match current.canonicalize() {
                Ok(target) if target.starts_with(&self.root) => {}
                Ok(target) => {
                    return Err(WorkspaceError::SymlinkEscape {
                        label: self.label,
                        path: original.to_string(),
                        link: current,
                        target,
                    });
                }
                Err(error) if error.kind() == io::ErrorKind::NotFound => {
                    return Err(WorkspaceError::DanglingSymlink {
                        label: self.label,
                        path: original.to_string(),
                        link: current,
                    });
                }
                Err(source) => {
                    return Err(WorkspaceError::Io {
                        label: self.label,
                        path: current,
                        source,
                    });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn setup() -> (tempfile::TempDir, tempfile::TempDir, Workspace) {
        let root = tempfile::tempdir().expect("tempdir");
        let outside = tempfile::tempdir().expect("tempdir");
        let workspace = Workspace::new(root.path()).expect("workspace");
        (root, outside, workspace)
    }

    #[test]
    fn plain_relative_paths_resolve_inside() {
        let (_root, _outside, workspace) = setup();
        assert_eq!(workspace.resolve("").unwrap(), workspace.root());
        assert_eq!(workspace.resolve("./").unwrap(), workspace.root());
        assert_eq!(
            workspace.resolve("a/./b/../c.txt").unwrap(),
            workspace.root().join("a/c.txt")
        );
        assert_eq!(
            workspace
                .relative(&workspace.root().join("a/c.txt"))
                .as_deref(),
            Some("a/c.txt")
        );
    }

    #[test]
    fn parent_escapes_are_refused() {
        let (_root, _outside, workspace) = setup();
        for path in ["..", "../x", "a/../../x", "./a/b/../../../x"] {
            let error = workspace.resolve(path).unwrap_err();
            assert!(
                matches!(error, WorkspaceError::ParentEscape { .. }),
                "{path}: {error}"
            );
            assert!(error.to_string().contains(path), "{error}");
        }
    }

    #[test]
    fn absolute_paths_are_refused() {
        let (_root, _outside, workspace) = setup();
        let inside = workspace.root().join("x").to_string_lossy().into_owned();
        for path in ["/etc/passwd", "/", inside.as_str()] {
            let error = workspace.resolve(path).unwrap_err();
            assert!(
                matches!(error, WorkspaceError::Absolute { .. }),
                "{path}: {error}"
            );
            assert!(error.to_string().contains("relative to the workspace"));
        }
    }

    #[test]
    fn nul_bytes_are_refused() {
        let (_root, _outside, workspace) = setup();
        assert!(matches!(
            workspace.resolve("a\0b"),
            Err(WorkspaceError::Nul { .. })
        ));
    }

    #[test]
    fn directory_symlink_outside_is_refused_for_paths_below_it() {
        let (root, outside, workspace) = setup();
        symlink(outside.path(), root.path().join("link")).unwrap();
        for path in ["link", "link/new.txt", "link/deeper/new.txt"] {
            let error = workspace.resolve(path).unwrap_err();
            assert!(
                matches!(error, WorkspaceError::SymlinkEscape { .. }),
                "{path}: {error}"
            );
            assert!(error.to_string().contains("remove the link"), "{error}");
        }
    }

    #[test]
    fn file_symlink_outside_is_refused_but_the_link_itself_can_be_removed() {
        let (root, outside, workspace) = setup();
        let secret = outside.path().join("secret");
        std::fs::write(&secret, "s").unwrap();
        symlink(&secret, root.path().join("innocent.txt")).unwrap();
        assert!(matches!(
            workspace.resolve("innocent.txt"),
            Err(WorkspaceError::SymlinkEscape { .. })
        ));
        // Deleting the link does not touch its target.
        assert_eq!(
            workspace.resolve_entry("innocent.txt").unwrap(),
            root.path().canonicalize().unwrap().join("innocent.txt")
        );
        // But a link in the middle of the path is still checked.
        symlink(outside.path(), root.path().join("dir")).unwrap();
        assert!(workspace.resolve_entry("dir/secret").is_err());
    }

    #[test]
    fn dangling_symlink_is_refused() {
        let (root, outside, workspace) = setup();
        symlink(outside.path().join("missing"), root.path().join("dangling")).unwrap();
        let error = workspace.resolve("dangling").unwrap_err();
        assert!(
            matches!(error, WorkspaceError::DanglingSymlink { .. }),
            "{error}"
        );
        assert!(workspace.resolve("dangling/x").is_err());
    }

    #[test]
    fn relative_symlink_climbing_out_is_refused() {
        let (root, _outside, workspace) = setup();
        std::fs::create_dir(root.path().join("sub")).unwrap();
        symlink("../..", root.path().join("sub/up")).unwrap();
        assert!(matches!(
            workspace.resolve("sub/up/x"),
            Err(WorkspaceError::SymlinkEscape { .. })
        ));
    }

    #[test]
    fn symlink_inside_is_allowed() {
        let (root, _outside, workspace) = setup();
        std::fs::create_dir(root.path().join("real")).unwrap();
        symlink("real", root.path().join("alias")).unwrap();
        assert!(workspace.resolve("alias/file.txt").is_ok());
    }

    #[test]
    fn root_that_is_a_symlink_is_canonicalized() {
        let target = tempfile::tempdir().unwrap();
        let holder = tempfile::tempdir().unwrap();
        let link = holder.path().join("ws");
        symlink(target.path(), &link).unwrap();
        let workspace = Workspace::new(&link).unwrap();
        assert_eq!(workspace.root(), target.path().canonicalize().unwrap());
        assert!(workspace.resolve("a").is_ok());
    }

    #[test]
    fn missing_root_is_refused() {
        let holder = tempfile::tempdir().unwrap();
        let error = Workspace::new(holder.path().join("missing")).unwrap_err();
        assert!(
            error.to_string().contains("create the directory"),
            "{error}"
        );
    }
}
