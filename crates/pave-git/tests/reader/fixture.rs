//! A small repository with history, tags and branches, cloned bare so the
//! reader fetches it like a real remote.

use std::path::{Path, PathBuf};
use std::process::Command;

use pave_git::GitReader;
use tempfile::TempDir;

/// The commits of the fixture repository.
pub struct Commits {
    /// First commit on main; tags `v1` (annotated), `v1-light` and `feature` point here.
    pub first: String,
    /// Second commit: the head of main.
    pub main: String,
    /// The head of branch `feature/x`, one commit after `main`.
    pub feature: String,
}

pub struct Fixture {
    /// Holds everything below; removed on drop.
    pub root: TempDir,
    /// The working repository commits are made in.
    pub work: PathBuf,
    /// The bare repository the reader fetches from.
    pub bare: PathBuf,
    /// `file://` URL of `bare`.
    pub remote: String,
    pub commits: Commits,
}

/// Runs git for fixture setup, isolated from the user's config, and returns stdout.
pub fn git(directory: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(directory)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Fixture")
        .env("GIT_AUTHOR_EMAIL", "fixture@example.invalid")
        .env("GIT_COMMITTER_NAME", "Fixture")
        .env("GIT_COMMITTER_EMAIL", "fixture@example.invalid")
        .output()
        .unwrap_or_else(|error| panic!("git {args:?}: {error}"));
    assert!(
        output.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .trim_end()
        .to_string()
}

pub fn write(directory: &Path, path: &str, content: &[u8]) {
    let file = directory.join(path);
    if let Some(parent) = file.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|error| panic!("{parent:?}: {error}"));
    }
    std::fs::write(&file, content).unwrap_or_else(|error| panic!("{file:?}: {error}"));
}

impl Fixture {
    pub fn new() -> Fixture {
        let root = tempfile::tempdir().unwrap_or_else(|error| panic!("temp dir: {error}"));
        let work = root.path().join("work");
        let bare = root.path().join("remote.git");
        std::fs::create_dir_all(&work).unwrap_or_else(|error| panic!("{error}"));
        git(&work, &["init", "--quiet", "--initial-branch=main"]);

        write(&work, "catalog-info.yaml", b"version: 1\n");
        write(&work, "services/a/catalog-info.yaml", b"name: a\n");
        write(&work, "services/b/catalog-info.yaml", b"name: b\n");
        write(&work, "services/b/notes.md", b"# b\n");
        write(&work, "docs/readme.md", b"# docs\n");
        std::os::unix::fs::symlink("catalog-info.yaml", work.join("link.yaml"))
            .unwrap_or_else(|error| panic!("symlink: {error}"));
        git(&work, &["add", "--all"]);
        git(&work, &["commit", "--quiet", "--message", "first"]);
        let first = git(&work, &["rev-parse", "HEAD"]);
        git(
            &work,
            &["tag", "--annotate", "v1", "--message", "version 1"],
        );
        git(&work, &["tag", "v1-light"]);
        git(&work, &["tag", "feature"]);

        write(&work, "catalog-info.yaml", b"version: 2\n");
        write(&work, "services/c/deep/catalog-info.yaml", b"name: c\n");
        write(&work, "big.bin", &vec![b'x'; 4096]);
        git(&work, &["add", "--all"]);
        git(&work, &["commit", "--quiet", "--message", "second"]);
        let main = git(&work, &["rev-parse", "HEAD"]);

        git(&work, &["checkout", "--quiet", "-b", "feature/x"]);
        write(&work, "feature.yaml", b"feature: x\n");
        write(&work, "catalog-info.yaml", b"version: feature\n");
        git(&work, &["add", "--all"]);
        git(&work, &["commit", "--quiet", "--message", "feature"]);
        let feature = git(&work, &["rev-parse", "HEAD"]);
        git(&work, &["checkout", "--quiet", "main"]);

        git(
            root.path(),
            &["clone", "--quiet", "--bare", "work", "remote.git"],
        );
        let remote = format!("file://{}", bare.display());
        Fixture {
            root,
            work,
            bare,
            remote,
            commits: Commits {
                first,
                main,
                feature,
            },
        }
    }

    /// A reader with its own empty cache inside the fixture directory.
    pub fn reader(&self) -> GitReader {
        GitReader::new(self.root.path().join(format!("cache-{}", unique())))
    }

    /// Commits a change on main in the work tree and pushes it to the remote.
    pub fn push_to_main(&self, path: &str, content: &[u8]) -> String {
        write(&self.work, path, content);
        git(&self.work, &["add", "--all"]);
        git(&self.work, &["commit", "--quiet", "--message", "pushed"]);
        git(
            &self.work,
            &[
                "push",
                "--quiet",
                self.bare.to_str().unwrap_or_default(),
                "main",
            ],
        );
        git(&self.work, &["rev-parse", "HEAD"])
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Unwraps a result in a test, showing the error's message.
pub trait Expect<T> {
    fn or_fail(self, what: &str) -> T;
}

impl<T, E: std::fmt::Display> Expect<T> for Result<T, E> {
    fn or_fail(self, what: &str) -> T {
        self.unwrap_or_else(|error| panic!("{what}: {error}"))
    }
}

/// Unwraps an option in a test; with `.err()`, "None" means the call was accepted.
pub trait ExpectSome<T> {
    fn or_fail_some(self, what: &str) -> T;
}

impl<T> ExpectSome<T> for Option<T> {
    fn or_fail_some(self, what: &str) -> T {
        self.unwrap_or_else(|| panic!("{what:?}: expected a value (or an error, after .err())"))
    }
}
