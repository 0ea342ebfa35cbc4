use std::path::Path;

use super::{HostedRepository, Hosting};
use crate::error::GitError;
use crate::location::RepositoryPath;
use crate::publish::tests::{Setup, git, snapshot, spec, write};
use crate::reader::GitReader;

/// Names of the entries directly under `directory`, sorted.
fn entries(directory: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(directory)
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn git_dir(repository: &HostedRepository) -> String {
    repository.path.to_string_lossy().into_owned()
}

#[tokio::test]
async fn a_created_repository_clones_and_reads_like_any_remote() {
    let setup = Setup::new();
    let hosting = Hosting::new(setup.root.path().join("hosted"));
    let before = snapshot(&setup.source);
    let (repository, published) = hosting
        .create(
            &setup.publisher,
            "acme",
            "web",
            Some("The web service"),
            &setup.source,
            &spec("main"),
        )
        .await
        .unwrap_or_else(|error| panic!("{error}"));

    let expected_path = hosting.root().join("acme").join("web.git");
    assert_eq!(repository.owner, "acme");
    assert_eq!(repository.name, "web");
    assert_eq!(repository.path, expected_path);
    assert_eq!(
        repository.remote_url,
        format!("file://{}", expected_path.display())
    );
    assert_eq!(published.remote, repository.remote_url);
    assert_eq!(published.branch, "main");
    assert_eq!(snapshot(&setup.source), before);
    assert_eq!(entries(hosting.root()), [".incoming", "acme"]);
    assert_eq!(
        entries(&hosting.root().join(".incoming")),
        Vec::<String>::new()
    );
    assert_eq!(hosting.exists("acme", "web").ok(), Some(true));
    assert_eq!(hosting.exists("acme", "api").ok(), Some(false));

    let bare = git_dir(&repository);
    let root = setup.root.path();
    assert_eq!(
        git(root, &["--git-dir", &bare, "symbolic-ref", "HEAD"]),
        "refs/heads/main"
    );
    assert_eq!(
        git(root, &["--git-dir", &bare, "rev-parse", "HEAD"]),
        published.commit
    );
    assert_eq!(
        git(root, &["--git-dir", &bare, "config", "--bool", "core.bare"]),
        "true"
    );
    assert_eq!(
        std::fs::read_to_string(repository.path.join("description")).ok(),
        Some("The web service\n".to_string())
    );
    // No hooks, not even git's samples.
    assert!(!repository.path.join("hooks").exists());

    git(
        root,
        &["clone", "--quiet", repository.remote_url.as_str(), "clone"],
    );
    let clone = root.join("clone");
    assert_eq!(git(&clone, &["rev-list", "--count", "HEAD"]), "1");
    assert_eq!(git(&clone, &["branch", "--show-current"]), "main");
    assert_eq!(
        std::fs::read(clone.join("deploy/k8s/base/service.yaml")).ok(),
        Some(b"kind: Service\n".to_vec())
    );

    let location = format!("{}/blob/main/catalog-info.yaml", repository.remote_url);
    let parsed = RepositoryPath::parse(&location).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(parsed.remote, repository.remote_url);
    assert_eq!(parsed.reference.as_deref(), Some("main"));
    assert_eq!(parsed.path, "catalog-info.yaml");

    let reader = GitReader::new(root.join("cache"));
    let located = reader
        .locate(&location)
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(located.path, parsed);
    assert_eq!(located.commit, published.commit);
    let content = reader
        .read_file(&repository.remote_url, &located.commit, "catalog-info.yaml")
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(content, b"kind: Component\n");
}

#[tokio::test]
async fn an_existing_repository_is_never_replaced() {
    let setup = Setup::new();
    let hosting = Hosting::new(setup.root.path().join("hosted"));
    let (repository, first) = hosting
        .create(
            &setup.publisher,
            "acme",
            "web",
            Some("first"),
            &setup.source,
            &spec("main"),
        )
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    let before = snapshot(&repository.path);

    write(&setup.source, "catalog-info.yaml", b"kind: Other\n");
    let result = hosting
        .create(
            &setup.publisher,
            "acme",
            "web",
            Some("second"),
            &setup.source,
            &spec("other"),
        )
        .await;
    match result {
        Err(error @ GitError::RepositoryExists { .. }) => {
            let message = error.to_string();
            assert!(message.contains("already has acme/web"), "{message}");
            assert!(message.contains("pick another name"), "{message}");
        }
        other => panic!("expected RepositoryExists, got {other:?}"),
    }
    assert_eq!(snapshot(&repository.path), before, "the first was changed");
    let bare = git_dir(&repository);
    assert_eq!(
        git(
            setup.root.path(),
            &["--git-dir", &bare, "rev-parse", "HEAD"]
        ),
        first.commit
    );

    // Anything at the path blocks creation, and stays as it is.
    write(hosting.root(), "acme/notes.git", b"not a repository\n");
    let result = hosting
        .create(
            &setup.publisher,
            "acme",
            "notes",
            None,
            &setup.source,
            &spec("main"),
        )
        .await;
    assert!(
        matches!(result, Err(GitError::RepositoryExists { .. })),
        "{result:?}"
    );
    assert_eq!(
        std::fs::read(hosting.root().join("acme/notes.git")).ok(),
        Some(b"not a repository\n".to_vec())
    );
    assert_eq!(
        entries(&hosting.root().join(".incoming")),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn a_failed_create_leaves_nothing_behind() {
    let setup = Setup::new();
    let hosting = Hosting::new(setup.root.path().join("hosted"));
    let empty = setup.root.path().join("empty");
    std::fs::create_dir_all(empty.join("sub")).unwrap_or_else(|error| panic!("{error}"));
    let result = hosting
        .create(&setup.publisher, "acme", "web", None, &empty, &spec("main"))
        .await;
    assert!(
        matches!(result, Err(GitError::NothingToPublish { .. })),
        "{result:?}"
    );
    assert_eq!(entries(hosting.root()), [".incoming"]);
    assert_eq!(
        entries(&hosting.root().join(".incoming")),
        Vec::<String>::new()
    );

    // Refused before anything is created.
    let other = Hosting::new(setup.root.path().join("other"));
    let result = other
        .create(
            &setup.publisher,
            "acme",
            "web",
            None,
            &setup.source,
            &spec("-x"),
        )
        .await;
    assert!(
        matches!(result, Err(GitError::InvalidReference { .. })),
        "{result:?}"
    );
    let result = other
        .create(
            &setup.publisher,
            "acme",
            "web",
            Some("bad\0description"),
            &setup.source,
            &spec("main"),
        )
        .await;
    match result {
        Err(GitError::InvalidInput { field, .. }) => assert_eq!(field, "repository description"),
        other => panic!("{other:?}"),
    }
    assert!(!other.root().exists());
}

#[tokio::test]
async fn bad_names_are_refused() {
    let setup = Setup::new();
    let hosting = Hosting::new(setup.root.path().join("hosted"));
    let long = "a".repeat(101);
    let bad = [
        ("", "it is empty"),
        ("..", "starts with '.'"),
        ("a..b", "'..'"),
        ("-x", "starts with '-'"),
        (".hidden", "starts with '.'"),
        ("_x", "starts with '_'"),
        ("a/b", "contains '/'"),
        ("a\\b", "contains '\\\\'"),
        ("a b", "contains ' '"),
        ("é", "starts with 'é'"),
        ("x.git", "ends in '.git'"),
        ("x.GIT", "ends in '.git'"),
        ("a\nb", "contains '\\n'"),
        (long.as_str(), "longer than 100"),
    ];
    for (name, needle) in bad {
        for (owner, repository, field) in [
            (name, "web", "repository owner"),
            ("acme", name, "repository name"),
        ] {
            let result = hosting.repository(owner, repository);
            match result {
                Err(error @ GitError::InvalidInput { .. }) => {
                    let message = error.to_string();
                    assert!(
                        message.starts_with(&format!("invalid {field} ")),
                        "{message}"
                    );
                    assert!(message.contains(needle), "{name:?}: {message}");
                    assert!(message.contains("letters, digits"), "{message}");
                }
                other => panic!("{owner:?}/{repository:?}: {other:?}"),
            }
            assert!(
                hosting.exists(owner, repository).is_err(),
                "{owner:?}/{repository:?}"
            );
        }
    }
    // `blob` and `tree` are fine too: location URLs split after the `.git` segment.
    let longest = "b".repeat(100);
    for (owner, name) in [
        ("acme", "web"),
        ("A1", "x.y_z-1"),
        ("9", longest.as_str()),
        ("blob", "tree"),
        ("tree", "blob"),
        ("a.git.x", "x-"),
    ] {
        assert!(
            hosting.repository(owner, name).is_ok(),
            "{owner:?}/{name:?}"
        );
    }

    let result = hosting
        .create(
            &setup.publisher,
            "..",
            "web",
            None,
            &setup.source,
            &spec("main"),
        )
        .await;
    assert!(
        matches!(result, Err(GitError::InvalidInput { .. })),
        "{result:?}"
    );
    assert!(!hosting.root().exists());
}

#[test]
fn clean_incomplete_removes_leftovers_of_earlier_runs() {
    let root = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
    let hosting = Hosting::new(root.path());
    assert_eq!(hosting.clean_incomplete().ok(), Some(0));
    write(root.path(), ".incoming/1.2-0/objects/pack/x.pack", b"half");
    write(
        root.path(),
        ".incoming/1.2-1/HEAD",
        b"ref: refs/heads/main\n",
    );
    write(root.path(), "acme/web.git/HEAD", b"ref: refs/heads/main\n");
    assert_eq!(hosting.clean_incomplete().ok(), Some(2));
    assert_eq!(
        entries(&root.path().join(".incoming")),
        Vec::<String>::new()
    );
    assert!(root.path().join("acme/web.git/HEAD").exists());
}

#[tokio::test]
async fn list_returns_hosted_repositories_sorted() {
    let setup = Setup::new();
    let hosting = Hosting::new(setup.root.path().join("hosted"));
    assert_eq!(hosting.list().ok(), Some(Vec::new()));
    for (owner, name) in [("beta", "x"), ("alpha", "y"), ("alpha", "x")] {
        hosting
            .create(
                &setup.publisher,
                owner,
                name,
                None,
                &setup.source,
                &spec("main"),
            )
            .await
            .unwrap_or_else(|error| panic!("{owner}/{name}: {error}"));
    }
    // Not repositories: a file, a name without .git, names breaking the rules.
    write(hosting.root(), "alpha/notes.git", b"file\n");
    write(hosting.root(), "alpha/plain/HEAD", b"\n");
    write(hosting.root(), "alpha/.hidden.git/HEAD", b"\n");
    write(hosting.root(), "-bad/x.git/HEAD", b"\n");
    write(hosting.root(), "README", b"\n");
    write(hosting.root(), ".incoming/1.2-0/HEAD", b"\n");

    let listed = hosting.list().unwrap_or_else(|error| panic!("{error}"));
    let names: Vec<(String, String)> = listed
        .iter()
        .map(|repository| (repository.owner.clone(), repository.name.clone()))
        .collect();
    let expected = [("alpha", "x"), ("alpha", "y"), ("beta", "x")]
        .map(|(owner, name)| (owner.to_string(), name.to_string()));
    assert_eq!(names, expected);
    for repository in &listed {
        assert_eq!(
            Some(repository),
            hosting
                .repository(&repository.owner, &repository.name)
                .ok()
                .as_ref()
        );
    }
}

#[tokio::test]
async fn a_root_with_spaces_and_percent_signs_still_works() {
    let setup = Setup::new();
    let hosting = Hosting::new(setup.root.path().join("my data/50%41 #1?"));
    let (repository, published) = hosting
        .create(
            &setup.publisher,
            "acme",
            "web",
            None,
            &setup.source,
            &spec("main"),
        )
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    assert!(
        repository
            .remote_url
            .ends_with("/my%20data/50%2541%20%231%3F/acme/web.git"),
        "{}",
        repository.remote_url
    );
    assert!(repository.path.join("HEAD").is_file());
    let reader = GitReader::new(setup.root.path().join("cache"));
    let located = reader
        .locate(&format!(
            "{}/blob/main/catalog-info.yaml",
            repository.remote_url
        ))
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(located.path.remote, repository.remote_url);
    assert_eq!(located.commit, published.commit);
}

#[test]
fn a_root_that_location_urls_cannot_express_is_refused() {
    for root in ["/srv/x.git/blob/hosted", "/srv/../hosted"] {
        let hosting = Hosting::new(root);
        match hosting.repository("acme", "web") {
            Err(GitError::InvalidInput { field, .. }) => assert_eq!(field, "git hosting root"),
            other => panic!("{root}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn of_two_concurrent_creates_of_one_name_exactly_one_wins() {
    let setup = Setup::new();
    let hosting = Hosting::new(setup.root.path().join("hosted"));
    let create = |message: &'static str| {
        let mut commit = spec("main");
        commit.message = message.to_string();
        let (hosting, publisher, source) = (&hosting, &setup.publisher, &setup.source);
        async move {
            hosting
                .create(publisher, "acme", "web", None, source, &commit)
                .await
        }
    };
    let (first, second) = tokio::join!(create("first"), create("second"));
    let (winner, loser) = match (first, second) {
        (Ok(won), Err(lost)) | (Err(lost), Ok(won)) => (won, lost),
        other => panic!("expected one success and one failure: {other:?}"),
    };
    assert!(
        matches!(loser, GitError::RepositoryExists { .. }),
        "{loser:?}"
    );
    let bare = git_dir(&winner.0);
    assert_eq!(
        git(
            setup.root.path(),
            &["--git-dir", &bare, "rev-parse", "HEAD"]
        ),
        winner.1.commit
    );
    assert_eq!(
        entries(&hosting.root().join(".incoming")),
        Vec::<String>::new()
    );
}
