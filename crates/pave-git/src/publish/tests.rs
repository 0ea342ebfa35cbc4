use std::path::{Path, PathBuf};
use std::process::Command;

use super::{CommitSpec, GitPublisher, PushOutcome, classify_push};
use crate::error::GitError;
use crate::remote::file_url;

/// Runs git for test setup and checks, isolated from the user's config, and
/// returns stdout.
pub(crate) fn git(directory: &Path, args: &[&str]) -> String {
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

pub(crate) fn write(directory: &Path, path: &str, content: &[u8]) {
    let file = directory.join(path);
    if let Some(parent) = file.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|error| panic!("{parent:?}: {error}"));
    }
    std::fs::write(&file, content).unwrap_or_else(|error| panic!("{file:?}: {error}"));
}

/// Every path under `directory` with its content (empty for directories), sorted.
pub(crate) fn snapshot(directory: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(base: &Path, directory: &Path, into: &mut Vec<(String, Vec<u8>)>) {
        let entries =
            std::fs::read_dir(directory).unwrap_or_else(|error| panic!("{directory:?}: {error}"));
        for entry in entries.flatten() {
            let path = entry.path();
            let relative = path
                .strip_prefix(base)
                .map(|relative| relative.to_string_lossy().into_owned())
                .unwrap_or_default();
            if path.is_dir() {
                into.push((format!("{relative}/"), Vec::new()));
                walk(base, &path, into);
            } else {
                into.push((relative, std::fs::read(&path).unwrap_or_default()));
            }
        }
    }
    let mut entries = Vec::new();
    walk(directory, directory, &mut entries);
    entries.sort();
    entries
}

pub(crate) fn spec(branch: &str) -> CommitSpec {
    CommitSpec {
        author_name: "Jane Doe".to_string(),
        author_email: "jane@example.com".to_string(),
        message: "Create service web\n\nScaffolded by Pave.".to_string(),
        branch: branch.to_string(),
    }
}

/// A directory to publish with nested folders, a .gitignore and a file it
/// names, plus a publisher home.
pub(crate) struct Setup {
    pub(crate) root: tempfile::TempDir,
    pub(crate) source: PathBuf,
    pub(crate) publisher: GitPublisher,
}

impl Setup {
    pub(crate) fn new() -> Setup {
        let root = tempfile::tempdir().unwrap_or_else(|error| panic!("temp dir: {error}"));
        let source = root.path().join("source");
        write(&source, "catalog-info.yaml", b"kind: Component\n");
        write(&source, "src/main.rs", b"fn main() {}\n");
        write(&source, "deploy/k8s/base/service.yaml", b"kind: Service\n");
        write(&source, ".gitignore", b"*.log\n");
        write(
            &source,
            "build.log",
            b"ignored by .gitignore, published anyway\n",
        );
        std::fs::create_dir_all(source.join("empty"))
            .unwrap_or_else(|error| panic!("mkdir: {error}"));
        let publisher = GitPublisher::new(root.path().join("home"));
        Setup {
            root,
            source,
            publisher,
        }
    }

    /// A new empty bare repository and its file URL.
    pub(crate) fn bare_remote(&self, name: &str) -> (PathBuf, String) {
        let bare = self.root.path().join(name);
        git(
            self.root.path(),
            &["init", "--quiet", "--bare", "--initial-branch=main", name],
        );
        let url = file_url(&bare);
        (bare, url)
    }

    /// Scratch directories left in the publisher's home.
    fn scratch_left(&self) -> Vec<String> {
        match std::fs::read_dir(self.publisher.home_dir().join("publish")) {
            Ok(entries) => entries
                .flatten()
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect(),
            Err(_) => Vec::new(),
        }
    }
}

#[tokio::test]
async fn publishes_every_file_as_one_commit_by_the_given_author() {
    let setup = Setup::new();
    let (bare, remote) = setup.bare_remote("remote.git");
    let before = snapshot(&setup.source);

    let published = setup
        .publisher
        .publish(&setup.source, &remote, &spec("main"))
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(published.remote, remote);
    assert_eq!(published.branch, "main");
    assert_eq!(published.commit.len(), 40, "{published:?}");

    let bare_dir = bare.to_string_lossy().into_owned();
    let in_bare = |args: &[&str]| {
        let mut all = vec!["--git-dir", bare_dir.as_str()];
        all.extend_from_slice(args);
        git(setup.root.path(), &all)
    };
    assert_eq!(in_bare(&["rev-parse", "refs/heads/main"]), published.commit);
    assert_eq!(in_bare(&["rev-list", "--count", "refs/heads/main"]), "1");
    assert_eq!(
        in_bare(&[
            "log",
            "-1",
            "--format=%an|%ae|%cn|%ce|%P",
            "refs/heads/main"
        ]),
        "Jane Doe|jane@example.com|Jane Doe|jane@example.com|"
    );
    assert_eq!(
        in_bare(&["log", "-1", "--format=%B", "refs/heads/main"]),
        "Create service web\n\nScaffolded by Pave."
    );
    assert_eq!(
        in_bare(&["ls-tree", "-r", "--name-only", "refs/heads/main"]),
        ".gitignore\nbuild.log\ncatalog-info.yaml\ndeploy/k8s/base/service.yaml\nsrc/main.rs"
    );
    assert_eq!(
        in_bare(&["show", "refs/heads/main:deploy/k8s/base/service.yaml"]),
        "kind: Service"
    );
    assert_eq!(
        in_bare(&["for-each-ref", "--format=%(refname)"]),
        "refs/heads/main"
    );

    assert_eq!(snapshot(&setup.source), before, "the source was modified");
    assert!(!setup.source.join(".git").exists());
    assert_eq!(setup.scratch_left(), Vec::<String>::new());
}

#[tokio::test]
async fn an_existing_branch_is_never_overwritten() {
    let setup = Setup::new();
    let (bare, remote) = setup.bare_remote("remote.git");
    let first = setup
        .publisher
        .publish(&setup.source, &remote, &spec("main"))
        .await
        .unwrap_or_else(|error| panic!("{error}"));

    write(&setup.source, "catalog-info.yaml", b"kind: Other\n");
    let result = setup
        .publisher
        .publish(&setup.source, &remote, &spec("main"))
        .await;
    match result {
        Err(error @ GitError::BranchExists { .. }) => {
            let message = error.to_string();
            assert!(message.contains("\"main\""), "{message}");
            assert!(
                message.contains("choose another repository or another branch"),
                "{message}"
            );
        }
        other => panic!("expected BranchExists, got {other:?}"),
    }
    let bare_dir = bare.to_string_lossy().into_owned();
    assert_eq!(
        git(
            setup.root.path(),
            &["--git-dir", &bare_dir, "rev-parse", "refs/heads/main"]
        ),
        first.commit
    );
    assert_eq!(setup.scratch_left(), Vec::<String>::new());

    // Another branch of the same remote is fine.
    let second = setup
        .publisher
        .publish(&setup.source, &remote, &spec("feature/x"))
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(
        git(
            setup.root.path(),
            &["--git-dir", &bare_dir, "rev-parse", "refs/heads/feature/x"]
        ),
        second.commit
    );
}

#[test]
fn push_results_are_read_from_the_porcelain_status() {
    let full = "refs/heads/main";
    let created = "To file:///r.git\n*\trefs/heads/main:refs/heads/main\t[new branch]\nDone\n";
    assert_eq!(classify_push(created, full, true), PushOutcome::Created);
    assert_eq!(
        classify_push(created, full, false),
        PushOutcome::Refused {
            summary: "[new branch]".to_string()
        }
    );
    let same = "To file:///r.git\n=\trefs/heads/main:refs/heads/main\t[up to date]\nDone\n";
    assert_eq!(classify_push(same, full, true), PushOutcome::Exists);
    let raced = "!\trefs/heads/main:refs/heads/main\t[rejected] (fetch first)\nDone\n";
    assert_eq!(classify_push(raced, full, false), PushOutcome::Exists);
    let raced = "!\trefs/heads/main:refs/heads/main\t[rejected] (non-fast-forward)\n";
    assert_eq!(classify_push(raced, full, false), PushOutcome::Exists);
    let hook =
        "!\trefs/heads/main:refs/heads/main\t[remote rejected] (pre-receive hook declined)\n";
    assert_eq!(
        classify_push(hook, full, false),
        PushOutcome::Refused {
            summary: "[remote rejected] (pre-receive hook declined)".to_string()
        }
    );
    // A line for another ref that merely ends the same way does not count.
    let other = "*\trefs/heads/x:refs/heads/x/refs/heads/main\t[new branch]\n";
    assert!(matches!(
        classify_push(other, full, true),
        PushOutcome::Refused { .. }
    ));
    assert!(matches!(
        classify_push("", full, false),
        PushOutcome::Refused { .. }
    ));
}

#[tokio::test]
async fn the_remote_hooks_do_not_run() {
    let setup = Setup::new();
    let (bare, remote) = setup.bare_remote("remote.git");
    let marker = setup.root.path().join("hook-ran");
    let hook = format!("#!/bin/sh\ntouch '{}'\nexit 1\n", marker.display());
    for name in ["pre-receive", "update", "post-receive"] {
        write(&bare, &format!("hooks/{name}"), hook.as_bytes());
        let path = bare.join("hooks").join(name);
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap_or_else(|error| panic!("{error}"));
    }
    setup
        .publisher
        .publish(&setup.source, &remote, &spec("main"))
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    assert!(!marker.exists(), "a hook of the remote ran");
}

/// Asserts that `result` is an error of the expected kind whose message contains `needle`.
fn assert_refused<T: std::fmt::Debug>(
    what: &str,
    result: Result<T, GitError>,
    kind: fn(&GitError) -> bool,
    needle: &str,
) {
    match result {
        Err(error) if kind(&error) => {
            let message = error.to_string();
            assert!(message.contains(needle), "{what}: {message}");
        }
        other => panic!("{what}: unexpected {other:?}"),
    }
}

#[tokio::test]
async fn bad_input_is_refused_with_a_clear_error() {
    let setup = Setup::new();
    let (bare, remote) = setup.bare_remote("remote.git");
    let publisher = &setup.publisher;

    let empty = setup.root.path().join("empty");
    std::fs::create_dir_all(empty.join("only/empty/dirs"))
        .unwrap_or_else(|error| panic!("{error}"));
    assert_refused(
        "empty source",
        publisher.publish(&empty, &remote, &spec("main")).await,
        |error| matches!(error, GitError::NothingToPublish { .. }),
        "nothing to publish: ",
    );
    assert_refused(
        "empty source",
        publisher.publish(&empty, &remote, &spec("main")).await,
        |error| matches!(error, GitError::NothingToPublish { .. }),
        "has no files",
    );
    assert_refused(
        "missing source",
        publisher
            .publish(&setup.root.path().join("missing"), &remote, &spec("main"))
            .await,
        |error| matches!(error, GitError::NothingToPublish { .. }),
        "does not exist",
    );
    assert_refused(
        "file as source",
        publisher
            .publish(
                &setup.source.join("catalog-info.yaml"),
                &remote,
                &spec("main"),
            )
            .await,
        |error| matches!(error, GitError::NothingToPublish { .. }),
        "is not a directory",
    );

    for (branch, needle) in [
        ("", "empty"),
        ("-x", "'-'"),
        ("a..b", "'..'"),
        ("main~1", "'~'"),
        ("a b", "' '"),
        ("HEAD", "HEAD is not a branch"),
        ("refs/heads/main", "without refs/heads/"),
        ("x.lock", ".lock"),
    ] {
        assert_refused(
            branch,
            publisher
                .publish(&setup.source, &remote, &spec(branch))
                .await,
            |error| matches!(error, GitError::InvalidReference { .. }),
            needle,
        );
    }

    let with = |change: fn(&mut CommitSpec)| {
        let mut commit = spec("main");
        change(&mut commit);
        commit
    };
    let bad_commits: [(CommitSpec, &str, &str); 9] = [
        (
            with(|c| c.author_name = String::new()),
            "author name",
            "empty",
        ),
        (
            with(|c| c.author_name = " .; ".to_string()),
            "author name",
            "empty",
        ),
        (
            with(|c| c.author_name = "Jane\nDoe".to_string()),
            "author name",
            "'\\n'",
        ),
        (
            with(|c| c.author_name = "Jane <x>".to_string()),
            "author name",
            "'<'",
        ),
        (
            with(|c| c.author_email = String::new()),
            "author email",
            "empty",
        ),
        (
            with(|c| c.author_email = "a>b@x".to_string()),
            "author email",
            "'>'",
        ),
        (
            with(|c| c.author_email = "jane doe@x".to_string()),
            "author email",
            "' '",
        ),
        (
            with(|c| c.message = " \n\n".to_string()),
            "commit message",
            "empty",
        ),
        (
            with(|c| c.message = "a\0b".to_string()),
            "commit message",
            "NUL",
        ),
    ];
    for (commit, field, needle) in bad_commits {
        let what = format!("{field}: {commit:?}");
        let result = publisher.publish(&setup.source, &remote, &commit).await;
        match &result {
            Err(GitError::InvalidInput { field: got, .. }) => assert_eq!(*got, field, "{what}"),
            other => panic!("{what}: unexpected {other:?}"),
        }
        assert_refused(
            &what,
            result,
            |error| matches!(error, GitError::InvalidInput { .. }),
            needle,
        );
    }

    for (url, needle) in [
        ("ssh://git@example.com/o/r.git", "\"ssh\""),
        ("ext::sh -c touch% /tmp/pwned", "remote helpers"),
        ("git@example.com:o/r.git", "scp-like"),
        ("http://example.com/o/r.git", "plain http"),
    ] {
        assert_refused(
            url,
            publisher.publish(&setup.source, url, &spec("main")).await,
            |error| matches!(error, GitError::UnsupportedScheme { .. }),
            needle,
        );
    }
    let plain_path = bare.to_string_lossy().into_owned();
    assert_refused(
        "plain path",
        publisher
            .publish(&setup.source, &plain_path, &spec("main"))
            .await,
        |error| matches!(error, GitError::UnsupportedScheme { .. }),
        "plain local paths",
    );
    assert_refused(
        "option",
        publisher
            .publish(&setup.source, "--upload-pack=x", &spec("main"))
            .await,
        |error| matches!(error, GitError::InvalidUrl { .. }),
        "option",
    );

    let missing = file_url(&setup.root.path().join("missing.git"));
    assert_refused(
        "missing remote",
        publisher
            .publish(&setup.source, &missing, &spec("main"))
            .await,
        |error| matches!(error, GitError::Unreachable { .. }),
        "does not appear to be a git repository",
    );
    assert!(!setup.root.path().join("missing.git").exists());

    // Nothing reached the remote, and nothing was left behind.
    let bare_dir = bare.to_string_lossy().into_owned();
    assert_eq!(
        git(
            setup.root.path(),
            &[
                "--git-dir",
                &bare_dir,
                "for-each-ref",
                "--format=%(refname)"
            ]
        ),
        ""
    );
    assert_eq!(setup.scratch_left(), Vec::<String>::new());
}

#[tokio::test]
async fn a_nested_repository_is_refused() {
    let setup = Setup::new();
    let (_bare, remote) = setup.bare_remote("remote.git");
    let nested = setup.source.join("vendor/lib");
    write(&nested, "lib.rs", b"\n");
    git(&nested, &["init", "--quiet"]);
    git(&nested, &["add", "--all"]);
    git(&nested, &["commit", "--quiet", "--message", "lib"]);
    assert_refused(
        "nested repository",
        setup
            .publisher
            .publish(&setup.source, &remote, &spec("main"))
            .await,
        |error| matches!(error, GitError::InvalidInput { .. }),
        "\"vendor/lib\" inside it is a git repository",
    );
    assert_eq!(setup.scratch_left(), Vec::<String>::new());
}

#[tokio::test]
async fn a_home_inside_the_source_is_refused() {
    let setup = Setup::new();
    let (_bare, remote) = setup.bare_remote("remote.git");
    let publisher = GitPublisher::new(setup.source.join("home"));
    assert_refused(
        "home inside source",
        publisher
            .publish(&setup.source, &remote, &spec("main"))
            .await,
        |error| matches!(error, GitError::InvalidInput { .. }),
        "publisher's home directory",
    );
    assert!(!setup.source.join("home").exists(), "the home was created");
}

#[test]
fn none_of_the_new_errors_is_transient() {
    let errors = [
        GitError::BranchExists {
            remote: "file:///r.git".to_string(),
            branch: "main".to_string(),
        },
        GitError::PushRejected {
            remote: "file:///r.git".to_string(),
            branch: "main".to_string(),
            detail: "no".to_string(),
        },
        GitError::RepositoryExists {
            owner: "o".to_string(),
            name: "r".to_string(),
        },
        GitError::NothingToPublish {
            directory: PathBuf::from("/x"),
            reason: "has no files",
        },
    ];
    for error in errors {
        assert!(!error.is_transient(), "{error}");
    }
}

#[tokio::test]
async fn a_push_the_remote_refuses_is_reported_with_its_reason() {
    let setup = Setup::new();
    let (bare, remote) = setup.bare_remote("remote.git");
    let bare_dir = bare.to_string_lossy().into_owned();
    // The receiving side refuses to update hidden refs.
    git(
        setup.root.path(),
        &[
            "--git-dir",
            &bare_dir,
            "config",
            "receive.hideRefs",
            "refs/heads/main",
        ],
    );
    let result = setup
        .publisher
        .publish(&setup.source, &remote, &spec("main"))
        .await;
    match result {
        Err(error @ GitError::PushRejected { .. }) => {
            assert!(!error.is_transient());
            let message = error.to_string();
            assert!(message.contains("deny updating a hidden ref"), "{message}");
        }
        other => panic!("expected PushRejected, got {other:?}"),
    }
    assert_eq!(setup.scratch_left(), Vec::<String>::new());
}
