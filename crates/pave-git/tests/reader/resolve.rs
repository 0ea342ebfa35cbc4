use pave_git::GitError;

use crate::fixture::{Expect, Fixture, git};

#[tokio::test]
async fn resolves_default_branch_branches_tags_and_commits() {
    let fixture = Fixture::new();
    let reader = fixture.reader();
    let remote = fixture.remote.as_str();
    let commits = &fixture.commits;
    let short_first = &commits.first[..7];
    let upper_main = commits.main.to_ascii_uppercase();
    let cases: [(Option<&str>, &str); 11] = [
        (None, &commits.main),
        (Some("main"), &commits.main),
        (Some("feature/x"), &commits.feature),
        (Some("refs/heads/feature/x"), &commits.feature),
        (Some("v1"), &commits.first),
        (Some("refs/tags/v1"), &commits.first),
        (Some("v1-light"), &commits.first),
        (Some("feature"), &commits.first),
        (Some(&commits.first), &commits.first),
        (Some(short_first), &commits.first),
        (Some(&upper_main), &commits.main),
    ];
    for (reference, expected) in cases {
        let commit = reader
            .resolve(remote, reference)
            .await
            .or_fail(&format!("{reference:?}"));
        assert_eq!(commit, expected, "{reference:?}");
    }
}

#[tokio::test]
async fn unknown_refs_and_non_commits_are_errors() {
    let fixture = Fixture::new();
    let reader = fixture.reader();
    for reference in [
        "nope",
        "feature/y",
        "refs/heads/nope",
        "deadbeefdeadbeef",
        &"0".repeat(40),
    ] {
        match reader.resolve(&fixture.remote, Some(reference)).await {
            Err(GitError::UnknownReference {
                remote,
                reference: shown,
            }) => {
                assert_eq!(remote, fixture.remote);
                assert_eq!(shown, reference);
            }
            other => panic!("{reference}: expected UnknownReference, got {other:?}"),
        }
    }
    // A tree id is an object, but not a commit.
    let tree = git(&fixture.work, &["rev-parse", "main^{tree}"]);
    let result = reader.resolve(&fixture.remote, Some(&tree)).await;
    assert!(
        matches!(&result, Err(GitError::InvalidReference { reason, .. }) if reason.contains("tree")),
        "{result:?}"
    );
}

#[tokio::test]
async fn later_resolves_see_new_pushes_and_a_moved_default_branch() {
    let fixture = Fixture::new();
    let reader = fixture.reader();
    let before = reader
        .resolve(&fixture.remote, None)
        .await
        .or_fail("first resolve");
    assert_eq!(before, fixture.commits.main);

    let pushed = fixture.push_to_main("new.yaml", b"new: true\n");
    let after = reader
        .resolve(&fixture.remote, Some("main"))
        .await
        .or_fail("after push");
    assert_eq!(after, pushed);

    git(
        &fixture.bare,
        &["symbolic-ref", "HEAD", "refs/heads/feature/x"],
    );
    let default = reader
        .resolve(&fixture.remote, None)
        .await
        .or_fail("moved HEAD");
    assert_eq!(default, fixture.commits.feature);

    // A deleted branch disappears from the mirror too.
    git(
        &fixture.bare,
        &["branch", "--delete", "--force", "feature/x"],
    );
    git(&fixture.bare, &["symbolic-ref", "HEAD", "refs/heads/main"]);
    let result = reader.resolve(&fixture.remote, Some("feature/x")).await;
    assert!(
        matches!(result, Err(GitError::UnknownReference { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn an_empty_remote_has_no_default_branch() {
    let fixture = Fixture::new();
    git(
        fixture.root.path(),
        &["init", "--quiet", "--bare", "empty.git"],
    );
    let remote = format!("file://{}", fixture.root.path().join("empty.git").display());
    let reader = fixture.reader();
    let result = reader.resolve(&remote, None).await;
    assert!(
        matches!(result, Err(GitError::UnknownReference { .. })),
        "{result:?}"
    );
    let result = reader.resolve(&remote, Some("main")).await;
    assert!(
        matches!(result, Err(GitError::UnknownReference { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_missing_repository_is_unreachable() {
    let fixture = Fixture::new();
    let remote = format!(
        "file://{}",
        fixture.root.path().join("missing.git").display()
    );
    let result = fixture.reader().resolve(&remote, None).await;
    match result {
        Err(GitError::Unreachable { detail, .. }) => assert!(!detail.contains('\n'), "{detail}"),
        other => panic!("expected Unreachable, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_resolves_share_one_healthy_mirror() {
    let fixture = Fixture::new();
    let reader = fixture.reader();
    let mut tasks = tokio::task::JoinSet::new();
    for index in 0..12 {
        let reader = reader.clone();
        let remote = fixture.remote.clone();
        let reference = ["main", "feature/x", "v1"][index % 3];
        tasks.spawn(async move { (reference, reader.resolve(&remote, Some(reference)).await) });
    }
    while let Some(joined) = tasks.join_next().await {
        let (reference, result) = joined.or_fail("task");
        let expected = match reference {
            "main" => &fixture.commits.main,
            "feature/x" => &fixture.commits.feature,
            _ => &fixture.commits.first,
        };
        assert_eq!(&result.or_fail(reference), expected, "{reference}");
    }
    // Separate readers on the same cache (not sharing locks) are not
    // supported; one reader's clones are.
    let mirrors = std::fs::read_dir(reader.cache_dir().join("mirrors")).or_fail("mirrors");
    let names: Vec<String> = mirrors
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names.len(),
        1,
        "exactly one mirror and no leftovers: {names:?}"
    );
    git(
        &reader.mirror_path(&fixture.remote).or_fail("path"),
        &["fsck", "--no-progress"],
    );
}

#[tokio::test]
async fn a_relative_cache_directory_works() {
    let fixture = Fixture::new();
    // The same temporary directory, written relative to the current one.
    let current = std::env::current_dir().or_fail("current dir");
    let mut relative = std::path::PathBuf::new();
    for _ in current.components().skip(1) {
        relative.push("..");
    }
    let target = fixture.root.path().join("relative-cache");
    relative.push(target.strip_prefix("/").or_fail("absolute temp dir"));
    assert!(relative.is_relative());

    let reader = pave_git::GitReader::new(&relative);
    assert!(reader.cache_dir().is_absolute(), "{:?}", reader.cache_dir());
    let commit = reader
        .resolve(&fixture.remote, Some("v1"))
        .await
        .or_fail("resolve");
    assert_eq!(commit, fixture.commits.first);
    let content = reader
        .read_file(&fixture.remote, &commit, "catalog-info.yaml")
        .await
        .or_fail("read");
    assert_eq!(content, b"version: 1\n");
    assert!(target.join("mirrors").is_dir());
}
