use pave_store::testing::TestDatabase;
use serde_json::json;

use super::*;

async fn environments() -> (TestDatabase, Environments) {
    let database = TestDatabase::create().await.expect("database");
    let store = database.open().await.expect("store");
    (database, Environments::new(store))
}

fn preview(name: &str, parent: &str) -> NewEnvironment {
    NewEnvironment {
        name: name.into(),
        parent: Some(parent.into()),
        source: Some(PreviewSource {
            repository: "file:///srv/git/orders.git".into(),
            branch: "feature/x".into(),
            pull_request: 7,
            head_commit: "0123456789abcdef0123456789abcdef01234567".into(),
        }),
        ttl_seconds: Some(60),
        ..NewEnvironment::default()
    }
}

#[tokio::test]
async fn environments_are_created_listed_and_removed() {
    let (_database, environments) = environments().await;
    let mut config = Map::new();
    config.insert("LOG_LEVEL".into(), json!("debug"));
    config.insert("REGION".into(), json!("local"));
    let dev = environments
        .create(
            NewEnvironment {
                name: "dev".into(),
                config,
                ..NewEnvironment::default()
            },
            "user:default/alice",
        )
        .await
        .expect("dev");
    assert_eq!(dev.environment_type, EnvironmentType::Development);
    assert_eq!(dev.expires_at, None);
    // A preview inherits its parent's config under its own, and expires.
    let mut request = preview("pr-7", "dev");
    request.config.insert("LOG_LEVEL".into(), json!("trace"));
    let pr = environments
        .create(request, "service:github")
        .await
        .expect("preview");
    assert_eq!(pr.environment_type, EnvironmentType::Preview);
    assert_eq!(pr.config["LOG_LEVEL"], json!("trace"));
    assert_eq!(pr.config["REGION"], json!("local"));
    assert!(pr.expires_at.is_some());
    assert_eq!(
        pr.source.as_ref().map(|source| source.pull_request),
        Some(7)
    );
    assert_eq!(
        environments.children("dev").await.expect("children"),
        ["pr-7"]
    );
    let names: Vec<String> = environments
        .list()
        .await
        .expect("list")
        .into_iter()
        .map(|environment| environment.name)
        .collect();
    assert_eq!(names, ["dev", "pr-7"]);
    let again = environments
        .create(
            NewEnvironment {
                name: "dev".into(),
                ..NewEnvironment::default()
            },
            "x",
        )
        .await
        .expect_err("exists");
    assert!(matches!(again, EnvironmentError::Conflict(_)), "{again}");
    environments.remove("pr-7").await.expect("remove");
    assert!(matches!(
        environments.get("pr-7").await,
        Err(EnvironmentError::NotFound(_))
    ));
}

#[tokio::test]
async fn bad_requests_say_what_is_wrong_and_store_nothing() {
    let (_database, environments) = environments().await;
    let cases = [
        (
            NewEnvironment {
                name: "Dev".into(),
                ..NewEnvironment::default()
            },
            "lower-case",
        ),
        (
            NewEnvironment {
                name: "a--b".into(),
                ..NewEnvironment::default()
            },
            "'--'",
        ),
        (
            NewEnvironment {
                name: "-x".into(),
                ..NewEnvironment::default()
            },
            "start and end",
        ),
        (
            NewEnvironment {
                name: "x".repeat(41),
                ..NewEnvironment::default()
            },
            "40",
        ),
        (
            preview("pr-1", "missing"),
            "parent environment `missing` does not exist",
        ),
        (
            NewEnvironment {
                name: "pr-2".into(),
                environment_type: Some(EnvironmentType::Preview),
                ..NewEnvironment::default()
            },
            "needs a `parent`",
        ),
        (
            NewEnvironment {
                name: "prod".into(),
                environment_type: Some(EnvironmentType::Production),
                ttl_seconds: Some(5),
                ..NewEnvironment::default()
            },
            "for preview environments",
        ),
    ];
    for (request, expected) in cases {
        let name = request.name.clone();
        let error = environments
            .create(request, "x")
            .await
            .expect_err("refused");
        assert!(error.to_string().contains(expected), "{name}: {error}");
    }
    let mut bad_commit = preview("pr-3", "dev");
    environments
        .create(
            NewEnvironment {
                name: "dev".into(),
                ..NewEnvironment::default()
            },
            "x",
        )
        .await
        .expect("dev");
    if let Some(source) = bad_commit.source.as_mut() {
        source.head_commit = "main".into();
    }
    let error = environments
        .create(bad_commit, "x")
        .await
        .expect_err("refused");
    assert!(error.to_string().contains("headCommit"), "{error}");
    assert_eq!(environments.list().await.expect("list").len(), 1);
}

#[tokio::test]
async fn expired_previews_are_found() {
    let (_database, environments) = environments().await;
    environments
        .create(
            NewEnvironment {
                name: "dev".into(),
                ..NewEnvironment::default()
            },
            "x",
        )
        .await
        .expect("dev");
    let mut request = preview("pr-9", "dev");
    request.ttl_seconds = Some(0);
    environments.create(request, "x").await.expect("preview");
    environments
        .create(preview("pr-10", "dev"), "x")
        .await
        .expect("preview");
    let expired: Vec<String> = environments
        .expired()
        .await
        .expect("expired")
        .into_iter()
        .map(|environment| environment.name)
        .collect();
    assert_eq!(expired, ["pr-9"]);
}
