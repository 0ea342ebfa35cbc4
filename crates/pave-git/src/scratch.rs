//! Scratch directories for work that must not be seen half done: the git
//! directory a commit is built in, a hosted repository before it is renamed
//! into place.
//!
//! Names start with an id of this process (its pid and start time), so
//! cleaning up after a crashed process can skip what this process is still
//! working on, even when a restarted container reuses the same pid.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// `<pid>.<nanoseconds at first use>`: unique per process run.
fn instance() -> &'static str {
    static INSTANCE: OnceLock<String> = OnceLock::new();
    INSTANCE.get_or_init(|| {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_nanos())
            .unwrap_or(0);
        format!("{}.{nanos}", std::process::id())
    })
}

/// A name no other scratch directory of any process run has.
pub(crate) fn unique_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!("{}-{}", instance(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// True if `name` was made by [`unique_name`] in this process run.
fn is_ours(name: &str) -> bool {
    name.strip_prefix(instance())
        .is_some_and(|rest| rest.starts_with('-'))
}

/// Removes every entry of `parent` that this process run did not create:
/// what a crashed or killed earlier run left behind. Returns how many were
/// removed; a missing `parent` has none.
pub(crate) fn remove_leftovers(parent: &Path) -> std::io::Result<usize> {
    let entries = match std::fs::read_dir(parent) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(error) => return Err(error),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry?;
        if is_ours(&entry.file_name().to_string_lossy()) {
            continue;
        }
        let path = entry.path();
        tracing::info!(
            ?path,
            "removing an incomplete directory left by an earlier run"
        );
        // Not following symbolic links: a link is removed, never its target.
        let result = if entry.file_type()?.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        match result {
            Ok(()) => removed += 1,
            // Removed meanwhile by someone else: nothing left to do.
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(error),
        }
    }
    Ok(removed)
}

/// A directory that is removed unless [`ScratchDir::keep`] is called: by
/// [`ScratchDir::remove`] on the normal paths, and by `Drop` when the future
/// doing the work is cancelled or panics.
#[derive(Debug)]
pub(crate) struct ScratchDir {
    path: PathBuf,
    armed: bool,
}

impl ScratchDir {
    /// Takes charge of `path`, which need not exist yet.
    pub(crate) fn new(path: PathBuf) -> ScratchDir {
        ScratchDir { path, armed: true }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The work succeeded and the directory was moved away or is wanted.
    pub(crate) fn keep(mut self) {
        self.armed = false;
    }

    /// Removes the directory without blocking the async runtime.
    pub(crate) async fn remove(mut self) {
        self.armed = false;
        report(&self.path, tokio::fs::remove_dir_all(&self.path).await);
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if self.armed {
            report(&self.path, std::fs::remove_dir_all(&self.path));
        }
    }
}

/// A scratch directory that cannot be removed only costs disk space (and is
/// removed by the next run's cleanup), so it is logged, not returned.
fn report(path: &Path, result: std::io::Result<()>) {
    if let Err(error) = result
        && error.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(?path, %error, "could not remove a scratch directory");
    }
}

#[cfg(test)]
mod tests {
    use super::{ScratchDir, is_ours, remove_leftovers, unique_name};

    #[test]
    fn names_are_unique_and_recognised_as_ours() {
        let first = unique_name();
        let second = unique_name();
        assert_ne!(first, second);
        assert!(is_ours(&first));
        assert!(!is_ours("1.2-3"));
        assert!(!is_ours(""));
    }

    #[test]
    fn leftovers_of_other_runs_are_removed_and_ours_kept() {
        let root = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        let ours = root.path().join(unique_name());
        let theirs = root.path().join("1.2-0");
        for directory in [&ours, &theirs] {
            std::fs::create_dir_all(directory.join("objects"))
                .unwrap_or_else(|error| panic!("{error}"));
        }
        std::fs::write(root.path().join("stray-file"), b"x")
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(remove_leftovers(root.path()).ok(), Some(2));
        assert!(ours.is_dir());
        assert!(!theirs.exists());
        assert_eq!(remove_leftovers(&root.path().join("missing")).ok(), Some(0));
    }

    #[test]
    fn a_dropped_scratch_dir_is_removed_and_a_kept_one_is_not() {
        let root = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        let dropped = ScratchDir::new(root.path().join("dropped"));
        std::fs::create_dir_all(dropped.path().join("a")).unwrap_or_else(|error| panic!("{error}"));
        drop(dropped);
        assert!(!root.path().join("dropped").exists());
        let kept = ScratchDir::new(root.path().join("kept"));
        std::fs::create_dir_all(kept.path()).unwrap_or_else(|error| panic!("{error}"));
        kept.keep();
        assert!(root.path().join("kept").is_dir());
    }
}
