//! Reading location targets: files on disk (one file or a glob) and files in
//! git repositories, plus the relative reads that nested Locations and
//! `$text`/`$json`/`$yaml` placeholders make.
//!
//! Every relative read is confined to the root of the location it started
//! from: the directory of a file target (or of a glob's fixed part), or the
//! repository of a git target. `..`, absolute paths and symlinks that lead
//! outside are refused.

use std::path::{Component, Path, PathBuf};

use pave_git::GitReader;

use crate::yaml::MAX_FILE_BYTES;

/// The most files one glob may match.
pub const MAX_GLOB_MATCHES: usize = 10_000;

/// A location as registered: its type (`file` or `url`) and target.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LocationSpec {
    pub r#type: String,
    pub target: String,
}

/// Where a source came from, so relative paths in it can be resolved.
#[derive(Debug, Clone)]
pub enum Base {
    /// A file on disk: relative paths resolve against `directory`, and may
    /// not leave `root`.
    Directory { root: PathBuf, directory: PathBuf },
    /// A file in a repository at a commit: relative paths resolve against
    /// `directory` (a path inside the repository) and stay in the repository.
    Repository {
        remote: String,
        commit: String,
        directory: String,
    },
}

/// One file read from a location.
#[derive(Debug, Clone)]
pub struct Source {
    /// `file:/abs/path.yaml` or `url:<url>`: what Backstage calls the location key.
    pub key: String,
    pub text: String,
    pub base: Base,
}

/// Why a target could not be read. The message names the target.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ReadError {
    pub message: String,
}

fn error(message: impl Into<String>) -> ReadError {
    ReadError {
        message: message.into(),
    }
}

/// Reads targets from disk and from git.
pub struct Reader {
    git: GitReader,
}

impl Reader {
    /// `cache_dir` holds the git mirrors.
    pub fn new(cache_dir: PathBuf) -> Reader {
        Reader {
            git: GitReader::new(cache_dir),
        }
    }

    /// Reads a location's target: a root location (no parent) or one named
    /// by a Location entity in `parent`.
    pub async fn read(
        &self,
        spec: &LocationSpec,
        parent: Option<&Base>,
    ) -> Result<Vec<Source>, ReadError> {
        // Decide first, await after: matching on borrowed tuples across an
        // await makes the future lose `Send` (a rustc limitation).
        enum Plan<'a> {
            File(PathBuf, Option<&'a PathBuf>),
            Relative(&'a Base),
            Url,
        }
        let plan = match spec.r#type.as_str() {
            "file" => match parent {
                None => Plan::File(PathBuf::from(&spec.target), None),
                Some(Base::Directory { root, directory }) => {
                    Plan::File(confine(root, directory, &spec.target)?, Some(root))
                }
                Some(Base::Repository { .. }) => {
                    return Err(error(format!(
                        "file target `{}` is not allowed inside a repository location; use a relative url target",
                        spec.target
                    )));
                }
            },
            "url" => match parent {
                Some(base) if is_relative(&spec.target) => Plan::Relative(base),
                _ => Plan::Url,
            },
            other => {
                return Err(error(format!(
                    "location type `{other}` is not supported; use `file` or `url`"
                )));
            }
        };
        match plan {
            Plan::File(path, root) => read_file_target(&path, root),
            Plan::Relative(base) => self.read_relative_source(base, &spec.target).await,
            Plan::Url => self.read_url(&spec.target).await,
        }
    }

    async fn read_url(&self, url: &str) -> Result<Vec<Source>, ReadError> {
        // `locate` fetches and splits ambiguous refs (`blob/feature/x/a.yaml`)
        // at the branch or tag that exists, as Backstage does.
        let resolved = self
            .git
            .locate(url)
            .await
            .map_err(|e| error(format!("url `{url}`: {e}")))?;
        self.read_repository_target(
            &resolved.path.remote,
            &resolved.commit,
            &resolved.path.path,
            Some(url),
        )
        .await
    }

    async fn read_repository_target(
        &self,
        remote: &str,
        commit: &str,
        path: &str,
        url: Option<&str>,
    ) -> Result<Vec<Source>, ReadError> {
        let paths = if has_glob(path) {
            self.git
                .list_files(remote, commit, path)
                .await
                .map_err(|e| error(e.to_string()))?
        } else {
            vec![path.to_string()]
        };
        let mut sources = Vec::new();
        for file in paths {
            let bytes = self
                .git
                .read_file(remote, commit, &file)
                .await
                .map_err(|e| error(e.to_string()))?;
            let text = String::from_utf8(bytes)
                .map_err(|_| error(format!("{file} in {remote} is not UTF-8 text")))?;
            let key = match url.filter(|_| !has_glob(path)) {
                Some(url) => format!("url:{url}"),
                None => format!("url:{remote}#{commit}:{file}"),
            };
            sources.push(Source {
                key,
                text,
                base: Base::Repository {
                    remote: remote.to_string(),
                    commit: commit.to_string(),
                    directory: parent_of(&file),
                },
            });
        }
        Ok(sources)
    }

    async fn read_relative_source(
        &self,
        base: &Base,
        target: &str,
    ) -> Result<Vec<Source>, ReadError> {
        match base {
            Base::Directory { root, directory } => {
                let path = confine(root, directory, target)?;
                read_file_target(&path, Some(root))
            }
            Base::Repository {
                remote,
                commit,
                directory,
            } => {
                let path = join_repository_path(directory, target)?;
                self.read_repository_target(remote, commit, &path, None)
                    .await
            }
        }
    }

    /// Reads a file named relative to `base`, for placeholders.
    pub async fn read_relative(&self, base: &Base, target: &str) -> Result<String, ReadError> {
        if has_glob(target) {
            return Err(error(format!(
                "`{target}`: placeholders read one file, not a glob"
            )));
        }
        let sources = if target.contains("://") {
            self.read_url(target).await?
        } else {
            self.read_relative_source(base, target).await?
        };
        sources
            .into_iter()
            .next()
            .map(|source| source.text)
            .ok_or_else(|| error(format!("`{target}` matched no file")))
    }
}

fn is_relative(target: &str) -> bool {
    !target.contains("://")
}

fn has_glob(path: &str) -> bool {
    path.contains(['*', '?', '[', '{'])
}

fn parent_of(path: &str) -> String {
    match path.rsplit_once('/') {
        Some((directory, _)) => directory.to_string(),
        None => String::new(),
    }
}

/// Joins a relative path to a directory inside a repository, refusing to
/// climb above the repository root.
fn join_repository_path(directory: &str, target: &str) -> Result<String, ReadError> {
    if target.starts_with('/') {
        return Err(error(format!(
            "`{target}`: absolute paths are not allowed; use a path relative to the file"
        )));
    }
    let mut parts: Vec<&str> = directory
        .split('/')
        .filter(|part| !part.is_empty())
        .collect();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(error(format!("`{target}` leads outside the repository")));
                }
            }
            other => parts.push(other),
        }
    }
    Ok(parts.join("/"))
}

/// Resolves `target` against `directory` and checks it stays under `root`.
fn confine(root: &Path, directory: &Path, target: &str) -> Result<PathBuf, ReadError> {
    let candidate = Path::new(target);
    if candidate.is_absolute() {
        return Err(error(format!(
            "`{target}`: absolute paths are not allowed here; use a path relative to the file"
        )));
    }
    let joined = normalize(&directory.join(candidate));
    if !joined.starts_with(root) {
        return Err(error(format!(
            "`{target}` leads outside the location's root {}",
            root.display()
        )));
    }
    Ok(joined)
}

/// Removes `.` and `..` without touching the disk.
fn normalize(path: &Path) -> PathBuf {
    let mut result = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                result.pop();
            }
            Component::CurDir => {}
            other => result.push(other.as_os_str()),
        }
    }
    result
}

/// Reads one file or every file a glob matches. With `root`, the real path
/// (after symlinks) must stay inside it.
fn read_file_target(path: &Path, root: Option<&PathBuf>) -> Result<Vec<Source>, ReadError> {
    let text = path.to_string_lossy().to_string();
    if !path.is_absolute() {
        return Err(error(format!(
            "file target `{text}` must be an absolute path"
        )));
    }
    let files = if has_glob(&text) {
        glob_files(&text)?
    } else {
        vec![path.to_path_buf()]
    };
    let own_root = root.cloned().unwrap_or_else(|| glob_root(path));
    let real_root = own_root.canonicalize().unwrap_or_else(|_| own_root.clone());
    let mut sources = Vec::new();
    for file in files {
        let real = file
            .canonicalize()
            .map_err(|e| error(format!("cannot read {}: {e}", file.display())))?;
        if !real.starts_with(&real_root) {
            return Err(error(format!(
                "{} leads outside the location's root {} (through a symbolic link)",
                file.display(),
                own_root.display()
            )));
        }
        let metadata = std::fs::metadata(&real)
            .map_err(|e| error(format!("cannot read {}: {e}", file.display())))?;
        if metadata.is_dir() {
            return Err(error(format!(
                "{} is a directory; name a file or a glob such as {}/*.yaml",
                file.display(),
                file.display()
            )));
        }
        if metadata.len() as usize > MAX_FILE_BYTES {
            return Err(error(format!(
                "{} is {} bytes; descriptor files may be at most {MAX_FILE_BYTES}",
                file.display(),
                metadata.len()
            )));
        }
        let text = std::fs::read_to_string(&real)
            .map_err(|e| error(format!("cannot read {}: {e}", file.display())))?;
        sources.push(Source {
            key: format!("file:{}", file.display()),
            text,
            base: Base::Directory {
                root: real_root.clone(),
                directory: real
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| real_root.clone()),
            },
        });
    }
    Ok(sources)
}

/// The directory a target's files live under: the file's directory, or the
/// fixed part of a glob.
fn glob_root(path: &Path) -> PathBuf {
    let mut root = PathBuf::new();
    for component in path.components() {
        let part = component.as_os_str().to_string_lossy();
        if has_glob(&part) {
            return root;
        }
        root.push(component.as_os_str());
    }
    root.parent().map(Path::to_path_buf).unwrap_or(root)
}

fn glob_files(pattern: &str) -> Result<Vec<PathBuf>, ReadError> {
    let matcher = globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map_err(|e| error(format!("`{pattern}` is not a valid glob: {e}")))?
        .compile_matcher();
    let root = glob_root(Path::new(pattern));
    let mut found = Vec::new();
    let mut pending = vec![root];
    while let Some(directory) = pending.pop() {
        let entries = match std::fs::read_dir(&directory) {
            Ok(entries) => entries,
            Err(_) => continue,
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                pending.push(path);
            } else if matcher.is_match(&path) {
                found.push(path);
                if found.len() > MAX_GLOB_MATCHES {
                    return Err(error(format!(
                        "`{pattern}` matches more than {MAX_GLOB_MATCHES} files; narrow it"
                    )));
                }
            }
        }
    }
    found.sort();
    if found.is_empty() {
        return Err(error(format!("`{pattern}` matches no file")));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_stay_in_their_root() {
        let root = Path::new("/data/catalog");
        let directory = Path::new("/data/catalog/teams");
        assert_eq!(
            confine(root, directory, "../apis/a.yaml").unwrap(),
            PathBuf::from("/data/catalog/apis/a.yaml")
        );
        let message = confine(root, directory, "../../../etc/passwd")
            .unwrap_err()
            .message;
        assert!(message.contains("leads outside"), "{message}");
        assert!(
            confine(root, directory, "/etc/passwd")
                .unwrap_err()
                .message
                .contains("absolute")
        );
    }

    #[test]
    fn repository_paths_stay_in_the_repository() {
        assert_eq!(
            join_repository_path("a/b", "../c.yaml").unwrap(),
            "a/c.yaml"
        );
        assert_eq!(join_repository_path("", "./x/y.yaml").unwrap(), "x/y.yaml");
        assert!(join_repository_path("a", "../../x").is_err());
        assert!(join_repository_path("a", "/x").is_err());
    }

    #[test]
    fn globs_have_a_fixed_root() {
        assert_eq!(glob_root(Path::new("/a/b/*/c.yaml")), PathBuf::from("/a/b"));
        assert_eq!(glob_root(Path::new("/a/b/c.yaml")), PathBuf::from("/a/b"));
    }
}
