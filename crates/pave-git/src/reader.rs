//! [`GitReader`]: the public entry point.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::command::GitRunner;
use crate::error::GitError;
use crate::glob::PathGlob;
use crate::location::{RepositoryPath, parse_location};
use crate::mirror::{Mirror, MirrorLocks, Refresh};
use crate::remote::Remote;
use crate::validation::{check_path, check_reference, is_full_commit_id};

/// How long one git command may run before it is killed.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Largest file [`GitReader::read_file`] returns.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 10 * 1024 * 1024;

/// Reads repositories through local bare mirrors kept under `cache_dir`
/// (one per remote, named by a hash of the URL).
///
/// Cloning is cheap: clones share the per-remote locks, so one reader can be
/// handed to many tasks. Within one process, fetches of the same remote are
/// serialized and reads never see a mirror being rebuilt; two processes
/// must not share a cache directory.
#[derive(Debug, Clone)]
pub struct GitReader {
    cache_dir: PathBuf,
    timeout: Duration,
    max_file_size: u64,
    locks: Arc<MirrorLocks>,
}

/// A location whose ref has been resolved to a commit; see [`GitReader::locate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedPath {
    /// The location, with an ambiguous ref split at the ref that exists.
    pub path: RepositoryPath,
    /// The full commit id the ref pointed to when it was fetched.
    pub commit: String,
}

impl GitReader {
    /// A reader keeping its mirrors under `cache_dir`, with a 60 s timeout
    /// per git command and a 10 MiB file size limit. Nothing is created on
    /// disk until the first call.
    pub fn new(cache_dir: impl Into<PathBuf>) -> GitReader {
        let cache_dir = cache_dir.into();
        // Git runs with the cache's home as its working directory, so a
        // relative path would name a different place there. If this fails
        // (no current directory), `runner` reports it on first use.
        let cache_dir = std::path::absolute(&cache_dir).unwrap_or(cache_dir);
        GitReader {
            cache_dir,
            timeout: DEFAULT_TIMEOUT,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            locks: Arc::new(MirrorLocks::default()),
        }
    }

    /// Sets how long one git command may run before it is killed and
    /// [`GitError::Timeout`] returned. A first clone of a large repository is
    /// one command, so allow for it.
    pub fn with_timeout(mut self, timeout: Duration) -> GitReader {
        self.timeout = timeout;
        self
    }

    /// Sets the largest file, in bytes, that [`GitReader::read_file`] returns.
    pub fn with_max_file_size(mut self, bytes: u64) -> GitReader {
        self.max_file_size = bytes;
        self
    }

    /// The directory holding the mirrors, made absolute.
    pub fn cache_dir(&self) -> &Path {
        &self.cache_dir
    }

    /// Where the mirror of `remote` is (or will be) kept.
    pub fn mirror_path(&self, remote: &str) -> Result<PathBuf, GitError> {
        let remote = Remote::parse(remote)?;
        Ok(crate::mirror::mirror_directory(
            &self.cache_dir,
            remote.url(),
        ))
    }

    /// Fetches the remote (creating its mirror on first use) and resolves
    /// `reference` to a full commit id: a branch, a tag, a full ref
    /// (`refs/heads/x`), or a commit id of at least 7 hex digits; `None` is
    /// the remote's default branch. Branches win over tags of the same name.
    ///
    /// Concurrent calls for the same remote share one fetch where they can
    /// and never corrupt the mirror.
    pub async fn resolve(&self, remote: &str, reference: Option<&str>) -> Result<String, GitError> {
        let remote = Remote::parse(remote)?;
        if let Some(reference) = reference {
            check_reference(reference).map_err(|reason| GitError::InvalidReference {
                reference: reference.to_string(),
                reason,
            })?;
        }
        let runner = self.runner().await?;
        let mirror = Mirror::new(&self.cache_dir, &remote, &runner);
        let lock = self.locks.get(&mirror.directory);
        let since = Instant::now();
        let mut state = lock.write().await;
        mirror.refresh(&mut state, Refresh::Fetch { since }).await?;
        match mirror.resolve(reference).await {
            Err(error @ GitError::Command { .. }) => {
                tracing::warn!(remote = remote.url(), %error, "mirror is damaged; rebuilding it");
                mirror.refresh(&mut state, Refresh::Rebuild).await?;
                mirror.resolve(reference).await
            }
            result => result,
        }
    }

    /// Parses a location URL (see [`RepositoryPath::parse`]), fetches, and
    /// resolves its ref. In blob and tree URLs a ref containing '/' is found
    /// the way Backstage does: the longest branch or tag name that matches
    /// whole segments after `blob/` wins, so `blob/feature/x/a.yaml` reads
    /// `a.yaml` on branch `feature/x` when that branch exists. With no
    /// matching name the first segment is the ref (e.g. a commit id).
    pub async fn locate(&self, url: &str) -> Result<ResolvedPath, GitError> {
        let parsed = parse_location(url)?;
        let remote = Remote::parse(&parsed.location.remote)?;
        let runner = self.runner().await?;
        let mirror = Mirror::new(&self.cache_dir, &remote, &runner);
        let lock = self.locks.get(&mirror.directory);
        let since = Instant::now();
        let mut state = lock.write().await;
        mirror.refresh(&mut state, Refresh::Fetch { since }).await?;

        let mut path = parsed.location.clone();
        if parsed.ref_and_path.is_some() {
            let names = mirror.short_names().await?;
            if let Some((reference, rest)) = parsed.split_with_known_refs(&names) {
                let rest = check_path(&rest).map_err(|reason| GitError::InvalidUrl {
                    url: url.to_string(),
                    reason,
                })?;
                if parsed.needs_path && rest.is_empty() {
                    return Err(GitError::InvalidUrl {
                        url: url.to_string(),
                        reason: format!(
                            "the blob URL names branch or tag {reference:?} but no file after it"
                        ),
                    });
                }
                path.path = rest.to_string();
                path.reference = Some(reference);
            }
        }
        let reference = path.reference.as_deref();
        let commit = match mirror.resolve(reference).await {
            Err(error @ GitError::Command { .. }) => {
                tracing::warn!(remote = remote.url(), %error, "mirror is damaged; rebuilding it");
                mirror.refresh(&mut state, Refresh::Rebuild).await?;
                mirror.resolve(reference).await?
            }
            result => result?,
        };
        Ok(ResolvedPath { path, commit })
    }

    /// Reads one file at `commit` (a full commit id, as [`GitReader::resolve`]
    /// returns). Fails with [`GitError::NotFound`] when the path does not
    /// exist, [`GitError::NotAFile`] for a directory, symbolic link or
    /// submodule, and [`GitError::TooLarge`] above the size limit.
    pub async fn read_file(
        &self,
        remote: &str,
        commit: &str,
        path: &str,
    ) -> Result<Vec<u8>, GitError> {
        let remote = Remote::parse(remote)?;
        check_commit(commit)?;
        let path = check_path(path).map_err(|reason| GitError::InvalidPath {
            path: path.to_string(),
            reason,
        })?;
        let limit = self.max_file_size;
        // Owned captures keep the returned future `Send` for every caller
        // lifetime (borrowed captures in an async closure do not).
        let (commit, path) = (commit.to_string(), path.to_string());
        self.with_mirror(&remote, async move |mirror: &Mirror<'_>| {
            mirror.read_file(&commit, &path, limit).await
        })
        .await
    }

    /// Lists the regular files at `commit` whose paths match `glob`, sorted;
    /// e.g. `services/*/catalog-info.yaml` or `**/catalog-info.yaml`. `*`
    /// does not cross '/', `**` does. Symbolic links and submodules are left out.
    pub async fn list_files(
        &self,
        remote: &str,
        commit: &str,
        glob: &str,
    ) -> Result<Vec<String>, GitError> {
        let remote = Remote::parse(remote)?;
        check_commit(commit)?;
        let glob = PathGlob::new(glob)?;
        // Owned captures keep the returned future `Send` for every caller
        // lifetime (borrowed captures in an async closure do not).
        let commit = commit.to_string();
        self.with_mirror(&remote, async move |mirror: &Mirror<'_>| {
            mirror.list_files(&commit, &glob).await
        })
        .await
    }

    /// Writes the files of `commit` into `target` (which must not exist):
    /// a local clone of the mirror with the commit checked out, detached.
    /// Deployments run from such a checkout; it is independent of the
    /// mirror (objects are copied or hard-linked, never shared).
    pub async fn export(&self, remote: &str, commit: &str, target: &Path) -> Result<(), GitError> {
        let remote = Remote::parse(remote)?;
        check_commit(commit)?;
        if target.exists() {
            return Err(GitError::Io {
                action: "check out into",
                path: target.to_path_buf(),
                source: std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "the directory already exists",
                ),
            });
        }
        let commit = commit.to_string();
        let target = target.to_path_buf();
        self.with_mirror(&remote, async move |mirror: &Mirror<'_>| {
            mirror.export(&commit, &target).await
        })
        .await
    }

    /// Runs a read against the mirror under its read lock. If the mirror is
    /// missing or lacks the commit, fetches once and retries; if git fails
    /// unexpectedly, rebuilds the mirror once and retries.
    async fn with_mirror<T>(
        &self,
        remote: &Remote,
        operation: impl AsyncFn(&Mirror<'_>) -> Result<T, GitError>,
    ) -> Result<T, GitError> {
        let runner = self.runner().await?;
        let mirror = Mirror::new(&self.cache_dir, remote, &runner);
        let lock = self.locks.get(&mirror.directory);
        let refresh = {
            let _state = lock.read().await;
            let since = Instant::now();
            if !mirror.directory.is_dir() {
                Refresh::Fetch { since }
            } else {
                match operation(&mirror).await {
                    Err(GitError::UnknownReference { .. }) => Refresh::Fetch { since },
                    Err(error @ GitError::Command { .. }) => {
                        tracing::warn!(remote = remote.url(), %error, "mirror is damaged; rebuilding it");
                        Refresh::Rebuild
                    }
                    result => return result,
                }
            }
        };
        let mut state = lock.write().await;
        mirror.refresh(&mut state, refresh).await?;
        let _state = state.downgrade();
        operation(&mirror).await
    }

    /// A runner whose home directory exists.
    async fn runner(&self) -> Result<GitRunner, GitError> {
        if !self.cache_dir.is_absolute() {
            return Err(GitError::Io {
                action: "make an absolute path of",
                path: self.cache_dir.clone(),
                source: std::io::Error::other("the current directory is not available"),
            });
        }
        let home = self.cache_dir.join("home");
        tokio::fs::create_dir_all(&home)
            .await
            .map_err(|source| GitError::Io {
                action: "create the git cache directory",
                path: home.clone(),
                source,
            })?;
        Ok(GitRunner::new(home, self.timeout))
    }
}

fn check_commit(commit: &str) -> Result<(), GitError> {
    if is_full_commit_id(commit) {
        Ok(())
    } else {
        Err(GitError::InvalidReference {
            reference: commit.to_string(),
            reason: "expected a full commit id, as GitReader::resolve returns".to_string(),
        })
    }
}
