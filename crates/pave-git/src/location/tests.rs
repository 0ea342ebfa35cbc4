use super::{RepositoryPath, parse_location};
use crate::error::GitError;

fn location(remote: &str, reference: Option<&str>, path: &str) -> RepositoryPath {
    RepositoryPath {
        remote: remote.to_string(),
        reference: reference.map(str::to_string),
        path: path.to_string(),
    }
}

#[test]
fn parses_every_accepted_form() {
    let cases = [
        (
            "file:///abs/path/repo.git/blob/main/catalog-info.yaml",
            location(
                "file:///abs/path/repo.git",
                Some("main"),
                "catalog-info.yaml",
            ),
        ),
        (
            "file:///srv/repo/blob/v1.0/services/a/catalog-info.yaml",
            location(
                "file:///srv/repo",
                Some("v1.0"),
                "services/a/catalog-info.yaml",
            ),
        ),
        (
            // The '.git' segment decides which 'tree' ends the remote.
            "file:///srv/tree/repo.git/tree/main/services",
            location("file:///srv/tree/repo.git", Some("main"), "services"),
        ),
        (
            "https://github.com/backstage/backstage/blob/master/catalog-info.yaml",
            location(
                "https://github.com/backstage/backstage",
                Some("master"),
                "catalog-info.yaml",
            ),
        ),
        (
            "https://github.com/o/r/tree/main/services/",
            location("https://github.com/o/r", Some("main"), "services"),
        ),
        (
            "https://github.com/o/r/tree/main",
            location("https://github.com/o/r", Some("main"), ""),
        ),
        (
            "https://github.com/o/r/blob/0123456789abcdef0123456789abcdef01234567/a%20b.yaml",
            location(
                "https://github.com/o/r",
                Some("0123456789abcdef0123456789abcdef01234567"),
                "a b.yaml",
            ),
        ),
        (
            "https://gitlab.com/group/sub/repo/-/blob/main/catalog-info.yaml",
            location(
                "https://gitlab.com/group/sub/repo",
                Some("main"),
                "catalog-info.yaml",
            ),
        ),
        (
            // A 'blob' group name does not confuse the GitLab form.
            "https://gitlab.com/blob/repo/-/tree/dev/docs",
            location("https://gitlab.com/blob/repo", Some("dev"), "docs"),
        ),
        (
            "http://127.0.0.1:8080/o/r.git/blob/main/a.yaml",
            location("http://127.0.0.1:8080/o/r.git", Some("main"), "a.yaml"),
        ),
        (
            "file:///tmp/repo#main:catalog-info.yaml",
            location("file:///tmp/repo", Some("main"), "catalog-info.yaml"),
        ),
        (
            "file:///tmp/repo#feature/x:services/a/catalog-info.yaml",
            location(
                "file:///tmp/repo",
                Some("feature/x"),
                "services/a/catalog-info.yaml",
            ),
        ),
        (
            "file:///tmp/repo#:catalog-info.yaml",
            location("file:///tmp/repo", None, "catalog-info.yaml"),
        ),
        (
            "https://example.com/o/r.git#refs/tags/v1:**/catalog-info.yaml",
            location(
                "https://example.com/o/r.git",
                Some("refs/tags/v1"),
                "**/catalog-info.yaml",
            ),
        ),
        (
            "file:///tmp/repo#main:",
            location("file:///tmp/repo", Some("main"), ""),
        ),
        // Only the first ':' ends the ref: the path may contain more.
        (
            "file:///tmp/repo#main:a:b.yaml",
            location("file:///tmp/repo", Some("main"), "a:b.yaml"),
        ),
    ];
    for (url, expected) in cases {
        let parsed = RepositoryPath::parse(url).unwrap_or_else(|error| panic!("{url}: {error}"));
        assert_eq!(parsed, expected, "{url}");
    }
}

#[test]
fn display_writes_the_plain_form_which_parses_back() {
    for url in [
        "https://github.com/o/r/blob/main/a/b.yaml",
        "file:///tmp/repo#:catalog-info.yaml",
        "file:///tmp/repo#feature/x:a.yaml",
    ] {
        let parsed = RepositoryPath::parse(url).unwrap_or_else(|error| panic!("{url}: {error}"));
        assert_eq!(
            RepositoryPath::parse(&parsed.to_string()).ok(),
            Some(parsed),
            "{url}"
        );
    }
}

#[test]
fn rejects_bad_locations() {
    // (url, a word the message must contain)
    let cases = [
        ("", "empty"),
        ("catalog-info.yaml", "no scheme"),
        ("/srv/repo#main:a.yaml", "plain local paths"),
        ("-https://github.com/o/r/blob/main/a.yaml", "option"),
        ("ext::sh -c touch% /tmp/pwned#main:a.yaml", "remote helpers"),
        ("ssh://git@github.com/o/r.git#main:a.yaml", "\"ssh\""),
        ("git@github.com:o/r.git#main:a.yaml", "scp-like"),
        ("http://example.com/o/r/blob/main/a.yaml", "plain http"),
        (
            "https://user:token@github.com/o/r/blob/main/a.yaml",
            "credentials",
        ),
        ("https://github.com/o/r", "does not point at a file"),
        ("https://github.com/o/r/blob/main", "needs a file path"),
        ("https://github.com/o/r/blob/main/", "needs a file path"),
        ("https://github.com/o/r/blob//a.yaml", "no ref"),
        ("https://github.com/o/r/blob/main/a.yaml?plain=1", "query"),
        (
            "https://github.com/o/r/blob/main/a.yaml#L10",
            "<ref>:<path>",
        ),
        ("file:///tmp/repo#catalog-info.yaml", "<ref>:<path>"),
        ("file:///tmp/repo#-x:a.yaml", "option"),
        ("file:///tmp/repo#main:-a.yaml", "option"),
        ("file:///tmp/repo#--upload-pack=x:a.yaml", "option"),
        ("file:///tmp/repo#main..other:a.yaml", "'..'"),
        ("file:///tmp/repo#main~1:a.yaml", "'~'"),
        ("file:///tmp/repo#main:../a.yaml", "'..'"),
        ("file:///tmp/repo#main:a/../../b.yaml", "'..'"),
        ("file:///tmp/repo#main:/etc/passwd", "absolute"),
        ("file:///tmp/repo#main:a%00b", "'\\0'"),
        ("file:///tmp/repo#main:a\0b", "'\\0'"),
        ("https://github.com/o/r/blob/main/%2e%2e/x", "'..'"),
        ("https://github.com/o/r/blob/main/a%2", "two hex digits"),
        ("https://github.com/o/r/blob/main/%ff", "UTF-8"),
        ("https://github.com/o/r/blob/-x/a.yaml", "option"),
        ("https://github.com/o/r/blob/main/-a.yaml", "option"),
        ("file:///srv/../repo/blob/main/a.yaml", "'..'"),
    ];
    for (url, needle) in cases {
        match RepositoryPath::parse(url) {
            Ok(parsed) => panic!("{url:?} was accepted as {parsed:?}"),
            Err(error @ (GitError::InvalidUrl { .. } | GitError::UnsupportedScheme { .. })) => {
                let message = error.to_string();
                assert!(message.contains(needle), "{url:?}: {message}");
            }
            Err(other) => panic!("{url:?}: unexpected error {other:?}"),
        }
    }
}

#[test]
fn ambiguous_refs_split_at_the_longest_known_name() {
    let parsed = parse_location("https://github.com/o/r/blob/feature/x/services/a.yaml")
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(parsed.location.reference.as_deref(), Some("feature"));
    assert_eq!(parsed.location.path, "x/services/a.yaml");

    let known = [
        "feature".to_string(),
        "feature/x".to_string(),
        "feature/xy".to_string(),
    ];
    assert_eq!(
        parsed.split_with_known_refs(&known),
        Some(("feature/x".to_string(), "services/a.yaml".to_string()))
    );
    assert_eq!(parsed.split_with_known_refs(&["main".to_string()]), None);

    let plain =
        parse_location("file:///tmp/repo#feature/x:a.yaml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        plain.split_with_known_refs(&known),
        None,
        "the plain form is never re-split"
    );
}
