//! Local bare mirrors of remotes: where they live, keeping them fresh, and
//! replacing them when they are damaged.
//!
//! A mirror is `<cache>/mirrors/<hash of the URL>.git`. It is only ever
//! created whole: a new mirror is built in a `….partial-…` directory and
//! renamed into place after its first fetch succeeded, so a process killed
//! mid-clone leaves a partial directory (removed on the next attempt), never a
//! half-written mirror. A mirror that fails its health check, whose fetch
//! fails, or in which git finds missing objects is rebuilt the same way; the
//! old one stays in use until the new one is complete.
//!
//! Only branches and tags are fetched (not `refs/pull/*` and the like), plus
//! the remote's HEAD into `refs/pave/remote-head`, because a mirror's own
//! HEAD is not updated by fetches.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};
use tokio::sync::RwLock;

use crate::command::{GitRunner, Output, Request};
use crate::error::{GitError, summarize_stderr};
use crate::remote::Remote;

/// Where the remote's default branch is kept in a mirror.
pub(crate) const REMOTE_HEAD: &str = "refs/pave/remote-head";

const REFSPECS: &[&str] = &["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"];

/// Locks per mirror directory, shared by clones of a reader. Fetching and
/// rebuilding take the write side; reading objects takes the read side, so
/// reads run in parallel but never see a mirror being replaced.
#[derive(Debug, Default)]
pub(crate) struct MirrorLocks {
    locks: Mutex<HashMap<PathBuf, Arc<RwLock<MirrorState>>>>,
}

impl MirrorLocks {
    pub(crate) fn get(&self, directory: &Path) -> Arc<RwLock<MirrorState>> {
        // A poisoned map is still a valid map: a panic elsewhere cannot leave it half-updated.
        let mut locks = self
            .locks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        locks.entry(directory.to_path_buf()).or_default().clone()
    }
}

/// What is known about a mirror, guarded by its lock.
#[derive(Debug, Default)]
pub(crate) struct MirrorState {
    /// When the last successful refresh started; callers that asked before
    /// then get its result instead of fetching again.
    refreshed_at: Option<Instant>,
}

/// How hard to refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refresh {
    /// Fetch into the mirror (rebuilding it if that fails), unless a fetch
    /// started after `since`.
    Fetch { since: Instant },
    /// Rebuild the mirror from scratch: git found it damaged.
    Rebuild,
}

/// One remote's mirror.
pub(crate) struct Mirror<'a> {
    pub(crate) remote: &'a Remote,
    pub(crate) directory: PathBuf,
    pub(crate) runner: &'a GitRunner,
}

impl<'a> Mirror<'a> {
    pub(crate) fn new(cache_dir: &Path, remote: &'a Remote, runner: &'a GitRunner) -> Mirror<'a> {
        Mirror {
            remote,
            directory: mirror_directory(cache_dir, remote.url()),
            runner,
        }
    }

    /// A git request against this mirror.
    pub(crate) fn request(&self) -> Request<'_> {
        Request::new(self.remote, Some(&self.directory))
    }

    /// Makes the mirror up to date with the remote, or says why it cannot.
    pub(crate) async fn refresh(
        &self,
        state: &mut MirrorState,
        refresh: Refresh,
    ) -> Result<(), GitError> {
        if let Refresh::Fetch { since } = refresh
            && state
                .refreshed_at
                .is_some_and(|refreshed| refreshed >= since)
        {
            return Ok(());
        }
        let started = Instant::now();
        if refresh != Refresh::Rebuild {
            if self.is_healthy().await? {
                match self.fetch(&self.directory).await {
                    Ok(()) => {
                        state.refreshed_at = Some(started);
                        return Ok(());
                    }
                    // Rebuilding would only wait as long again.
                    Err(error @ GitError::Timeout { .. }) => return Err(error),
                    Err(error) => tracing::warn!(
                        remote = self.remote.url(), mirror = ?self.directory, %error,
                        "fetch into the mirror failed; rebuilding it"
                    ),
                }
            } else if self.directory.exists() {
                tracing::warn!(
                    remote = self.remote.url(), mirror = ?self.directory,
                    "mirror is damaged; rebuilding it"
                );
            }
        }
        self.rebuild().await?;
        state.refreshed_at = Some(started);
        Ok(())
    }

    /// A mirror is usable if git accepts it as a repository, it is the mirror
    /// of this remote, and the objects its refs point to can be read.
    async fn is_healthy(&self) -> Result<bool, GitError> {
        if !self.directory.is_dir() {
            return Ok(false);
        }
        let output = self
            .runner
            .run(
                self.request()
                    .args(["config", "--get", "remote.origin.url"]),
            )
            .await?;
        let url = output.stdout_text();
        if !output.success || url.trim_end_matches('\n') != self.remote.url() {
            return Ok(false);
        }
        // Reading each ref's object type fails when a ref points to a missing
        // or unreadable object: the usual damage after a lost or truncated pack.
        let tips = self
            .request()
            .args([
                "for-each-ref",
                "--format=%(objecttype)",
                "refs/heads",
                "refs/tags",
                "refs/pave",
            ])
            .max_stdout(64 * 1024 * 1024);
        Ok(self.runner.run(tips).await?.success)
    }

    /// Builds a new mirror next to the old one and swaps it in.
    async fn rebuild(&self) -> Result<(), GitError> {
        let parent = self
            .directory
            .parent()
            .unwrap_or(&self.directory)
            .to_path_buf();
        let name = file_name(&self.directory);
        tokio::fs::create_dir_all(&parent)
            .await
            .map_err(|source| GitError::Io {
                action: "create the mirror directory",
                path: parent.clone(),
                source,
            })?;
        remove_leftovers(&parent, &name).await;

        let partial = parent.join(format!("{name}.partial-{}", unique_suffix()));
        let built = self.build(&partial).await;
        if let Err(error) = built {
            remove_directory(&partial).await;
            return Err(error);
        }
        if self.directory.exists() {
            let stale = parent.join(format!("{name}.stale-{}", unique_suffix()));
            tokio::fs::rename(&self.directory, &stale)
                .await
                .map_err(|source| GitError::Io {
                    action: "move aside the old mirror",
                    path: self.directory.clone(),
                    source,
                })?;
            remove_directory(&stale).await;
        }
        tokio::fs::rename(&partial, &self.directory)
            .await
            .map_err(|source| GitError::Io {
                action: "move the new mirror into",
                path: self.directory.clone(),
                source,
            })?;
        tracing::info!(remote = self.remote.url(), mirror = ?self.directory, "created mirror");
        Ok(())
    }

    async fn build(&self, partial: &Path) -> Result<(), GitError> {
        // An empty template: no sample hooks or other files from the system.
        let init = Request::new(self.remote, None)
            .args(["init", "--bare", "--quiet", "--template="])
            .arg("--")
            .arg(partial);
        let output = self.runner.run(init).await?;
        if !output.success {
            return Err(self.command_error(&output));
        }
        let configure = Request::new(self.remote, Some(partial))
            .args(["config", "remote.origin.url"])
            .arg(self.remote.url());
        let output = self.runner.run(configure).await?;
        if !output.success {
            return Err(self.command_error(&output));
        }
        self.fetch(partial).await
    }

    /// Fetches branches, tags and the remote HEAD into `git_dir`.
    async fn fetch(&self, git_dir: &Path) -> Result<(), GitError> {
        let fetch = |with_head: bool| {
            let head = with_head.then_some("+HEAD:refs/pave/remote-head");
            Request::new(self.remote, Some(git_dir))
                .args([
                    "fetch",
                    "--prune",
                    "--no-tags",
                    "--no-write-fetch-head",
                    "--quiet",
                    "origin",
                ])
                .args(REFSPECS.iter().copied().chain(head))
        };
        let output = self.runner.run(fetch(true)).await?;
        if output.success {
            return Ok(());
        }
        // An empty remote, or one whose HEAD names a deleted branch, has no
        // HEAD to fetch; its branches and tags can still be read.
        if output.stderr.contains("couldn't find remote ref HEAD") {
            let output = self.runner.run(fetch(false)).await?;
            if output.success {
                let forget = Request::new(self.remote, Some(git_dir)).args([
                    "update-ref",
                    "-d",
                    REMOTE_HEAD,
                ]);
                let output = self.runner.run(forget).await?;
                return if output.success {
                    Ok(())
                } else {
                    Err(self.command_error(&output))
                };
            }
            return Err(self.unreachable_error(&output));
        }
        Err(self.unreachable_error(&output))
    }

    fn unreachable_error(&self, output: &Output) -> GitError {
        GitError::Unreachable {
            remote: self.remote.url().to_string(),
            detail: summarize_stderr(&output.stderr),
        }
    }

    /// An unexpected failure of git in this mirror.
    pub(crate) fn command_error(&self, output: &Output) -> GitError {
        GitError::Command {
            remote: self.remote.url().to_string(),
            operation: output.operation.clone(),
            status: output.status.clone(),
            detail: summarize_stderr(&output.stderr),
            mirror: self.directory.clone(),
        }
    }
}

/// `<cache>/mirrors/<first 128 bits of SHA-256(url)>.git`: stable, a valid
/// file name whatever the URL contains, and collision-free in practice.
pub(crate) fn mirror_directory(cache_dir: &Path, url: &str) -> PathBuf {
    let digest = Sha256::digest(url.as_bytes());
    let name = hex::encode(digest.get(..16).unwrap_or(&digest[..]));
    cache_dir.join("mirrors").join(format!("{name}.git"))
}

fn file_name(directory: &Path) -> String {
    directory
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn unique_suffix() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or(0);
    format!("{}-{nanos}", std::process::id())
}

/// Removes partial and stale directories of this mirror left by a killed
/// process. Best effort: a leftover only costs disk space.
async fn remove_leftovers(parent: &Path, name: &str) {
    let Ok(mut entries) = tokio::fs::read_dir(parent).await else {
        return;
    };
    let partial = format!("{name}.partial-");
    let stale = format!("{name}.stale-");
    while let Ok(Some(entry)) = entries.next_entry().await {
        let entry_name = entry.file_name().to_string_lossy().into_owned();
        if entry_name.starts_with(&partial) || entry_name.starts_with(&stale) {
            tracing::info!(path = ?entry.path(), "removing an incomplete mirror left by an earlier run");
            remove_directory(&entry.path()).await;
        }
    }
}

async fn remove_directory(path: &Path) {
    if let Err(error) = tokio::fs::remove_dir_all(path).await
        && error.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(?path, %error, "could not remove a leftover mirror directory");
    }
}
