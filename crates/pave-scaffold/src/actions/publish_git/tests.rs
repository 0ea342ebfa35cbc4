use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use pave_git::{GitPublisher, Hosting};
use serde_json::{Value, json};

use super::{PublishGit, PublishSettings};
use crate::actions::{ActionContext, ActionRegistry};
use crate::expression::UserContext;
use crate::workspace::Workspace;

struct Setup {
    _root: tempfile::TempDir,
    hosting: std::path::PathBuf,
    workspace: Workspace,
    registry: ActionRegistry,
    allowed: std::path::PathBuf,
}

fn setup() -> Setup {
    let root = tempfile::tempdir().expect("tempdir");
    let hosting = root.path().join("git");
    let allowed = root.path().join("allowed");
    std::fs::create_dir_all(root.path().join("workspace/src")).expect("workspace");
    std::fs::write(root.path().join("workspace/README.md"), "# orders\n").expect("file");
    std::fs::write(root.path().join("workspace/src/main.py"), "print('hi')\n").expect("file");
    let workspace = Workspace::new(root.path().join("workspace")).expect("workspace");
    let mut registry = ActionRegistry::new();
    registry
        .register(Arc::new(PublishGit::new(PublishSettings {
            hosting: Hosting::new(&hosting),
            publisher: GitPublisher::new(root.path().join("home")),
            file_push_roots: vec![allowed.clone()],
        })))
        .expect("register");
    Setup {
        hosting,
        workspace,
        registry,
        allowed,
        _root: root,
    }
}

fn git(directory: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(directory)
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

async fn publish(
    setup: &Setup,
    input: Value,
    dry_run: bool,
) -> (Result<Value, String>, Vec<String>) {
    let mut log = Vec::new();
    let result = {
        let mut context = ActionContext::new(&setup.workspace, &mut log);
        context.dry_run = dry_run;
        context.user = Some(UserContext {
            entity: Some(
                json!({"spec": {"profile": {"displayName": "Alice Doe", "email": "alice@example.com"}}}),
            ),
            entity_ref: "user:default/alice".into(),
        });
        setup
            .registry
            .run("publish:git", &mut context, &input)
            .await
            .map_err(|error| error.to_string())
    };
    (result, log)
}

#[tokio::test]
async fn creates_a_hosted_repository_with_one_commit_by_the_user() {
    let setup = setup();
    let (result, _) = publish(
        &setup,
        json!({"repoUrl": "pave?owner=team-a&repo=orders", "description": "Orders", "gitCommitMessage": "Create orders"}),
        false,
    )
    .await;
    let output = result.expect("published");
    let remote = output["remoteUrl"].as_str().expect("remote");
    assert!(remote.starts_with("file://"), "{remote}");
    assert_eq!(
        output["repoContentsUrl"],
        json!(format!("{remote}/blob/main"))
    );
    let clone = setup.hosting.parent().expect("parent").join("clone");
    let status = Command::new("git")
        .args(["clone", "-q", remote, clone.to_str().expect("utf-8")])
        .status()
        .expect("clone");
    assert!(status.success());
    assert_eq!(git(&clone, &["rev-list", "--count", "HEAD"]), "1");
    assert_eq!(
        git(&clone, &["log", "-1", "--format=%an <%ae>|%s"]),
        "Alice Doe <alice@example.com>|Create orders"
    );
    assert_eq!(
        git(&clone, &["rev-parse", "HEAD"]),
        output["commitHash"].as_str().expect("hash")
    );
    assert!(clone.join("src/main.py").exists());
    assert!(
        !setup.workspace.root().join(".git").exists(),
        "the workspace got a .git"
    );

    // The same name again is refused and the first repository stays.
    let (again, _) = publish(
        &setup,
        json!({"repoUrl": "pave?owner=team-a&repo=orders"}),
        false,
    )
    .await;
    let message = again.expect_err("exists");
    assert!(message.contains("already has team-a/orders"), "{message}");
}

#[tokio::test]
async fn a_dry_run_publishes_nothing() {
    let setup = setup();
    let (result, log) = publish(
        &setup,
        json!({"repoUrl": "pave?owner=team-a&repo=orders"}),
        true,
    )
    .await;
    let output = result.expect("described");
    assert!(
        output["repoContentsUrl"]
            .as_str()
            .expect("url")
            .ends_with("/blob/main")
    );
    assert!(
        log.iter()
            .any(|line| line.contains("Dry run: would publish")),
        "{log:?}"
    );
    assert!(!setup.hosting.join("team-a").exists());
}

#[tokio::test]
async fn refuses_other_hosts_and_file_remotes_outside_the_allowed_roots() {
    let setup = setup();
    let (github, _) = publish(
        &setup,
        json!({"repoUrl": "github.com?owner=o&repo=r"}),
        false,
    )
    .await;
    assert!(github.expect_err("refused").contains("host `github.com`"));
    let (outside, _) = publish(&setup, json!({"remoteUrl": "file:///etc/some.git"}), false).await;
    assert!(outside.expect_err("refused").contains("file_push_roots"));
    let (sneaky, _) = publish(
        &setup,
        json!({"remoteUrl": format!("file://{}/../escape.git", setup.allowed.display())}),
        false,
    )
    .await;
    assert!(sneaky.expect_err("refused").contains("file_push_roots"));
    let (neither, _) = publish(&setup, json!({"description": "x"}), false).await;
    assert!(neither.expect_err("invalid").contains("invalid input"));
}

#[tokio::test]
async fn pushes_to_an_allowed_file_remote_without_overwriting_a_branch() {
    let setup = setup();
    std::fs::create_dir_all(&setup.allowed).expect("dir");
    let bare = setup.allowed.join("remote.git");
    let status = Command::new("git")
        .args(["init", "-q", "--bare", bare.to_str().expect("utf-8")])
        .status()
        .expect("init");
    assert!(status.success());
    let remote = format!("file://{}", bare.display());
    let (first, _) = publish(
        &setup,
        json!({"remoteUrl": remote, "defaultBranch": "trunk"}),
        false,
    )
    .await;
    let output = first.expect("pushed");
    assert_eq!(
        git(&bare, &["rev-parse", "trunk"]),
        output["commitHash"].as_str().expect("hash")
    );
    let (second, _) = publish(
        &setup,
        json!({"remoteUrl": remote, "defaultBranch": "trunk"}),
        false,
    )
    .await;
    assert!(
        second.is_err(),
        "a second push to the same branch must fail"
    );
    assert_eq!(
        git(&bare, &["rev-parse", "trunk"]),
        output["commitHash"].as_str().expect("hash")
    );
}
