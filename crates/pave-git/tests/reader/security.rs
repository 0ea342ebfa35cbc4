//! Input can never become a git option, a command, or a path outside the
//! repository, whichever entry point it comes through.

use pave_git::GitError;

use crate::fixture::{Expect, ExpectSome, Fixture};

fn is_refusal(error: &GitError) -> bool {
    matches!(
        error,
        GitError::InvalidUrl { .. }
            | GitError::UnsupportedScheme { .. }
            | GitError::InvalidReference { .. }
            | GitError::InvalidPath { .. }
            | GitError::InvalidGlob { .. }
    )
}

#[tokio::test]
async fn hostile_remotes_are_refused_before_git_runs() {
    let fixture = Fixture::new();
    let reader = fixture.reader();
    let witness = fixture.root.path().join("pwned");
    let witness_text = witness.display().to_string();
    let remotes = [
        format!("ext::sh -c touch% {witness_text}"),
        format!("ext::sh%20-c%20touch%20{witness_text}"),
        format!("--upload-pack=touch {witness_text}"),
        format!("-u touch {witness_text}"),
        "ssh://git@example.invalid/o/r.git".to_string(),
        "git@example.invalid:o/r.git".to_string(),
        fixture.bare.display().to_string(),
        "http://example.invalid/o/r.git".to_string(),
        "https://user:secret@example.invalid/o/r.git".to_string(),
    ];
    let commit = fixture.commits.main.as_str();
    for remote in &remotes {
        let results = [
            reader.resolve(remote, None).await.err(),
            reader
                .read_file(remote, commit, "catalog-info.yaml")
                .await
                .err(),
            reader.list_files(remote, commit, "**").await.err(),
            reader
                .locate(&format!("{remote}#main:catalog-info.yaml"))
                .await
                .err(),
        ];
        for result in results {
            let error = result.or_fail_some(remote);
            assert!(is_refusal(&error), "{remote}: {error:?}");
        }
    }
    assert!(!witness.exists(), "a remote ran a command");
    // Nothing was fetched, so no mirror was made.
    assert!(!reader.cache_dir().join("mirrors").exists());
}

#[tokio::test]
async fn hostile_refs_paths_commits_and_globs_are_refused() {
    let fixture = Fixture::new();
    let reader = fixture.reader();
    let remote = fixture.remote.as_str();
    let main = fixture.commits.main.as_str();
    for reference in [
        "--output=/tmp/x",
        "-x",
        "main..feature/x",
        "main~1",
        "main^{tree}",
        "@{-1}",
        "a\0b",
        "HEAD:catalog-info.yaml",
    ] {
        let error = reader
            .resolve(remote, Some(reference))
            .await
            .err()
            .or_fail_some(reference);
        assert!(
            matches!(error, GitError::InvalidReference { .. }),
            "{reference:?}: {error:?}"
        );
    }
    for commit in ["main", "HEAD", "--all", &main[..12], "v1", ""] {
        let error = reader
            .read_file(remote, commit, "catalog-info.yaml")
            .await
            .err()
            .or_fail_some(commit);
        assert!(
            matches!(error, GitError::InvalidReference { .. }),
            "{commit:?}: {error:?}"
        );
    }
    for path in [
        "../remote.git/config",
        "a/../../x",
        "-x",
        "--output=x",
        "/etc/passwd",
        "./catalog-info.yaml",
        "a\0b",
    ] {
        let error = reader
            .read_file(remote, main, path)
            .await
            .err()
            .or_fail_some(path);
        assert!(
            matches!(error, GitError::InvalidPath { .. }),
            "{path:?}: {error:?}"
        );
    }
    for glob in ["../**", "-*", "/**", "**/../*", ""] {
        let error = reader
            .list_files(remote, main, glob)
            .await
            .err()
            .or_fail_some(glob);
        assert!(
            matches!(error, GitError::InvalidGlob { .. }),
            "{glob:?}: {error:?}"
        );
    }
}

#[tokio::test]
async fn hooks_in_the_remote_and_the_mirror_do_not_run() {
    let fixture = Fixture::new();
    let reader = fixture.reader();
    reader
        .resolve(&fixture.remote, None)
        .await
        .or_fail("resolve");
    let pushed = fixture.push_to_main("trigger.yaml", b"x: 1\n");

    let witness = fixture.root.path().join("hook-ran");
    let script = format!("#!/bin/sh\ntouch {}\n", witness.display());
    let mirror = reader.mirror_path(&fixture.remote).or_fail("path");
    // A hostile remote may ship hooks and config (upload-pack runs in it for
    // file:// fetches); the mirror is ours, but a hook planted there must
    // not run either, even when its config points at it.
    for repository in [&fixture.bare, &mirror] {
        let hooks = repository.join("hooks");
        std::fs::create_dir_all(&hooks).or_fail("mkdir");
        for name in ["reference-transaction", "post-checkout", "pre-auto-gc"] {
            let hook = hooks.join(name);
            std::fs::write(&hook, &script).or_fail("hook");
            std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755))
                .or_fail("chmod");
        }
        let hooks_text = hooks.display().to_string();
        crate::fixture::git(repository, &["config", "core.hooksPath", &hooks_text]);
        crate::fixture::git(
            repository,
            &[
                "config",
                "core.fsmonitor",
                &format!("touch {}", witness.display()),
            ],
        );
    }
    // This fetch updates refs in the mirror: a reference-transaction hook would run.
    let commit = reader
        .resolve(&fixture.remote, None)
        .await
        .or_fail("resolve after push");
    assert_eq!(commit, pushed);
    assert!(!witness.exists(), "a hook ran");
}
