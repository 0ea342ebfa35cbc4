use pave_git::{GitError, RepositoryPath};

use crate::fixture::{Expect, Fixture};

#[tokio::test]
async fn locate_splits_ambiguous_refs_at_the_longest_existing_name() {
    let fixture = Fixture::new();
    let reader = fixture.reader();
    let remote = &fixture.remote;
    let commits = &fixture.commits;
    // `feature` is a tag on the first commit, `feature/x` a branch.
    let cases = [
        (
            format!("{remote}/blob/feature/x/feature.yaml"),
            "feature/x",
            "feature.yaml",
            &commits.feature,
        ),
        (
            format!("{remote}/blob/feature/catalog-info.yaml"),
            "feature",
            "catalog-info.yaml",
            &commits.first,
        ),
        (
            format!("{remote}/blob/main/services/a/catalog-info.yaml"),
            "main",
            "services/a/catalog-info.yaml",
            &commits.main,
        ),
        (
            format!("{remote}/tree/feature/x"),
            "feature/x",
            "",
            &commits.feature,
        ),
        (
            format!("{remote}/-/blob/v1/catalog-info.yaml"),
            "v1",
            "catalog-info.yaml",
            &commits.first,
        ),
        (
            format!("{remote}/blob/{}/catalog-info.yaml", commits.main),
            commits.main.as_str(),
            "catalog-info.yaml",
            &commits.main,
        ),
        (
            format!("{remote}#feature/x:feature.yaml"),
            "feature/x",
            "feature.yaml",
            &commits.feature,
        ),
    ];
    for (url, reference, path, commit) in cases {
        let located = reader.locate(&url).await.or_fail(&url);
        assert_eq!(located.path.remote, *remote, "{url}");
        assert_eq!(located.path.reference.as_deref(), Some(reference), "{url}");
        assert_eq!(located.path.path, path, "{url}");
        assert_eq!(&located.commit, commit, "{url}");
    }

    let located = reader
        .locate(&format!("{remote}#:catalog-info.yaml"))
        .await
        .or_fail("default");
    assert_eq!(located.path.reference, None);
    assert_eq!(located.commit, commits.main);
    let content = reader
        .read_file(remote, &located.commit, &located.path.path)
        .await
        .or_fail("read");
    assert_eq!(content, b"version: 2\n");

    let result = reader.locate(&format!("{remote}/blob/feature/x")).await;
    assert!(
        matches!(result, Err(GitError::InvalidUrl { .. })),
        "{result:?}"
    );
    let result = reader.locate(&format!("{remote}/blob/nope/a.yaml")).await;
    assert!(
        matches!(result, Err(GitError::UnknownReference { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn parse_then_resolve_then_read_works_for_the_plain_and_blob_forms() {
    let fixture = Fixture::new();
    let reader = fixture.reader();
    for url in [
        format!("{}/blob/v1/services/b/catalog-info.yaml", fixture.remote),
        format!("{}#v1:services/b/catalog-info.yaml", fixture.remote),
    ] {
        let location = RepositoryPath::parse(&url).or_fail(&url);
        let commit = reader
            .resolve(&location.remote, location.reference.as_deref())
            .await
            .or_fail(&url);
        assert_eq!(commit, fixture.commits.first);
        let content = reader
            .read_file(&location.remote, &commit, &location.path)
            .await
            .or_fail(&url);
        assert_eq!(content, b"name: b\n");
    }
}
