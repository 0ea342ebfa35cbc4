use pave_git::GitError;

use crate::fixture::{Expect, Fixture};

#[tokio::test]
async fn reads_files_at_different_refs() {
    let fixture = Fixture::new();
    let reader = fixture.reader();
    let remote = fixture.remote.as_str();
    for (reference, expected) in [
        ("main", "version: 2\n"),
        ("v1", "version: 1\n"),
        ("feature/x", "version: feature\n"),
    ] {
        let commit = reader
            .resolve(remote, Some(reference))
            .await
            .or_fail(reference);
        let content = reader
            .read_file(remote, &commit, "catalog-info.yaml")
            .await
            .or_fail(reference);
        assert_eq!(String::from_utf8_lossy(&content), expected, "{reference}");
    }
    let content = reader
        .read_file(
            remote,
            &fixture.commits.main,
            "services/c/deep/catalog-info.yaml",
        )
        .await
        .or_fail("nested");
    assert_eq!(content, b"name: c\n");
    let content = reader
        .read_file(remote, &fixture.commits.main, "docs/readme.md")
        .await
        .or_fail("docs");
    assert_eq!(content, b"# docs\n");
}

#[tokio::test]
async fn missing_paths_directories_links_and_large_files_are_errors() {
    let fixture = Fixture::new();
    let reader = fixture.reader().with_max_file_size(1024);
    let remote = fixture.remote.as_str();
    let first = &fixture.commits.first;
    reader.resolve(remote, None).await.or_fail("resolve");

    for path in [
        "nope.yaml",
        "services/nope/catalog-info.yaml",
        "big.bin",
        "services/a/catalog-info.yaml/x",
    ] {
        match reader.read_file(remote, first, path).await {
            Err(GitError::NotFound {
                remote: shown,
                commit,
                path: missing,
            }) => {
                assert_eq!(
                    (shown.as_str(), commit.as_str(), missing.as_str()),
                    (remote, first.as_str(), path)
                );
            }
            other => panic!("{path}: expected NotFound, got {other:?}"),
        }
    }
    for (path, kind) in [
        ("services", "directory"),
        ("services/a/", "directory"),
        ("", "directory"),
        ("link.yaml", "symbolic link"),
    ] {
        match reader.read_file(remote, first, path).await {
            Err(error @ GitError::NotAFile { .. }) => {
                assert!(error.to_string().contains(kind), "{path}: {error}");
            }
            other => panic!("{path:?}: expected NotAFile, got {other:?}"),
        }
    }
    match reader
        .read_file(remote, &fixture.commits.main, "big.bin")
        .await
    {
        Err(GitError::TooLarge {
            size: 4096,
            limit: 1024,
            ..
        }) => {}
        other => panic!("expected TooLarge, got {other:?}"),
    }
}

#[tokio::test]
async fn read_file_fetches_when_the_mirror_lacks_the_commit() {
    let fixture = Fixture::new();
    let reader = fixture.reader();
    // No resolve first: the mirror does not exist yet.
    let content = reader
        .read_file(&fixture.remote, &fixture.commits.feature, "feature.yaml")
        .await
        .or_fail("read without resolve");
    assert_eq!(content, b"feature: x\n");

    let unknown = "0123456789012345678901234567890123456789";
    let result = reader
        .read_file(&fixture.remote, unknown, "catalog-info.yaml")
        .await;
    assert!(
        matches!(result, Err(GitError::UnknownReference { .. })),
        "{result:?}"
    );
    let result = reader.list_files(&fixture.remote, unknown, "**").await;
    assert!(
        matches!(result, Err(GitError::UnknownReference { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn lists_files_matching_globs() {
    let fixture = Fixture::new();
    let reader = fixture.reader();
    let remote = fixture.remote.as_str();
    let main = &fixture.commits.main;
    let first = &fixture.commits.first;
    let cases: [(&str, &str, &[&str]); 9] = [
        (
            main,
            "services/*/catalog-info.yaml",
            &[
                "services/a/catalog-info.yaml",
                "services/b/catalog-info.yaml",
            ],
        ),
        (
            main,
            "**/catalog-info.yaml",
            &[
                "catalog-info.yaml",
                "services/a/catalog-info.yaml",
                "services/b/catalog-info.yaml",
                "services/c/deep/catalog-info.yaml",
            ],
        ),
        (
            first,
            "**/catalog-info.yaml",
            &[
                "catalog-info.yaml",
                "services/a/catalog-info.yaml",
                "services/b/catalog-info.yaml",
            ],
        ),
        (
            main,
            "services/**",
            &[
                "services/a/catalog-info.yaml",
                "services/b/catalog-info.yaml",
                "services/b/notes.md",
                "services/c/deep/catalog-info.yaml",
            ],
        ),
        (main, "*.yaml", &["catalog-info.yaml"]),
        (
            main,
            "services/{a,c}/**/*.yaml",
            &[
                "services/a/catalog-info.yaml",
                "services/c/deep/catalog-info.yaml",
            ],
        ),
        (main, "docs/readme.md", &["docs/readme.md"]),
        (main, "nothing/**", &[]),
        (main, "**/*.json", &[]),
    ];
    for (commit, glob, expected) in cases {
        let files = reader.list_files(remote, commit, glob).await.or_fail(glob);
        assert_eq!(files, expected, "{glob} at {commit}");
    }
    let result = reader.list_files(remote, main, "services/[a").await;
    assert!(
        matches!(result, Err(GitError::InvalidGlob { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn exports_a_commit_as_a_detached_checkout() {
    let fixture = Fixture::new();
    let reader = fixture.reader();
    let remote = fixture.remote.as_str();
    let target = fixture.root.path().join("checkouts/first");
    reader
        .export(remote, &fixture.commits.first, &target)
        .await
        .or_fail("export");
    assert_eq!(
        std::fs::read_to_string(target.join("catalog-info.yaml")).unwrap_or_default(),
        "version: 1\n"
    );
    assert!(!target.join("services/c").exists(), "a later commit's file");
    assert_eq!(
        crate::fixture::git(&target, &["rev-parse", "HEAD"]),
        fixture.commits.first
    );
    // Not twice into one directory, and not a commit the remote lacks.
    let again = reader.export(remote, &fixture.commits.first, &target).await;
    assert!(matches!(again, Err(GitError::Io { .. })), "{again:?}");
    let missing = reader
        .export(
            remote,
            "0123456789abcdef0123456789abcdef01234567",
            &fixture.root.path().join("checkouts/missing"),
        )
        .await;
    assert!(missing.is_err());
    assert!(!fixture.root.path().join("checkouts/missing").exists());
}
