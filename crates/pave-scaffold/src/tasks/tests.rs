//! The engine against a real database (SQLite, or PostgreSQL when
//! `PAVE_TEST_DATABASE_URL` is set), a real catalog and real git.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use pave_catalog::{Catalog, CatalogConfig, LocationSpec};
use pave_catalog_model::EntityRef;
use pave_store::testing::TestDatabase;
use serde_json::{Value, json};

use super::*;

struct Fixture {
    _database: TestDatabase,
    root: tempfile::TempDir,
    store: Store,
    catalog: Arc<Catalog>,
    engine: Scaffolder,
}

async fn fixture() -> Fixture {
    let database = TestDatabase::create().await.expect("database");
    let store = database.open().await.expect("store");
    let root = tempfile::tempdir().expect("tempdir");
    let catalog = Arc::new(Catalog::new(
        store.clone(),
        CatalogConfig::quiet(root.path().join("cache")),
    ));
    let engine = Scaffolder::new(
        store.clone(),
        Arc::clone(&catalog),
        ScaffolderConfig::under(&root.path().join("data")),
    );
    Fixture {
        _database: database,
        root,
        store,
        catalog,
        engine,
    }
}

/// Writes a template with a skeleton under `dir` and registers it.
async fn register_template(fixture: &Fixture, steps: &str) -> Value {
    let dir = fixture.root.path().join("templates/service");
    std::fs::create_dir_all(dir.join("skeleton")).expect("dir");
    std::fs::write(
        dir.join("skeleton/catalog-info.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: ${{ values.name }}\nspec:\n  type: service\n  lifecycle: experimental\n  owner: ${{ values.owner }}\n",
    )
    .expect("skeleton");
    std::fs::write(dir.join("skeleton/README.md"), "# ${{ values.name }}\n").expect("skeleton");
    let template = format!(
        "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata:\n  name: service\n  tags: [python]\nspec:\n  owner: team-a\n  type: service\n  parameters:\n    - title: About\n      required: [name, owner]\n      properties:\n        name: {{type: string, pattern: '^[a-z][a-z0-9-]+$'}}\n        owner: {{type: string}}\n  steps:\n{steps}\n  output:\n    links:\n      - title: Repository\n        url: ${{{{ steps.publish.output.remoteUrl }}}}\n      - title: Open in catalog\n        entityRef: ${{{{ steps.register.output.entityRef }}}}\n"
    );
    std::fs::write(dir.join("template.yaml"), template).expect("template");
    fixture
        .catalog
        .register(
            LocationSpec {
                r#type: "file".into(),
                target: dir.join("template.yaml").display().to_string(),
            },
            false,
        )
        .await
        .expect("register template");
    fixture
        .catalog
        .entity_by_ref(&EntityRef::new("template", "default", "service"))
        .await
        .expect("template entity")
}

const GOLDEN_STEPS: &str = "    - id: fetch\n      action: fetch:template\n      input:\n        url: ./skeleton\n        values: {name: '${{ parameters.name }}', owner: '${{ parameters.owner }}'}\n    - id: publish\n      action: publish:git\n      input: {repoUrl: 'pave?owner=team-a&repo=${{ parameters.name }}'}\n    - id: register\n      action: catalog:register\n      input: {repoContentsUrl: '${{ steps.publish.output.repoContentsUrl }}', catalogInfoPath: /catalog-info.yaml}";

fn new_task(template: Value, values: Value) -> NewTask {
    NewTask {
        template,
        values,
        secrets: Default::default(),
        created_by: "user:default/alice".into(),
    }
}

#[tokio::test]
async fn a_task_publishes_registers_and_records_its_events() {
    let fixture = fixture().await;
    let template = register_template(&fixture, GOLDEN_STEPS).await;
    let task = fixture
        .engine
        .create_task(new_task(
            template,
            json!({"name": "orders", "owner": "group:default/team-a"}),
        ))
        .await
        .expect("created");
    assert_eq!(task.status, TaskStatus::Open);
    assert_eq!(task.template_ref, "template:default/service");
    let finished = fixture
        .engine
        .wait(&task.id, Duration::from_secs(60))
        .await
        .expect("waited");
    let (events, _) = fixture
        .engine
        .next_events(&task.id, None, Duration::ZERO)
        .await
        .expect("events");
    assert_eq!(
        finished.status,
        TaskStatus::Completed,
        "events: {events:#?}"
    );
    let output = finished.output.expect("output");
    assert_eq!(
        output["links"][1]["entityRef"],
        json!("component:default/orders")
    );
    let component = fixture
        .catalog
        .entity_by_ref(&EntityRef::new("component", "default", "orders"))
        .await
        .expect("registered");
    assert_eq!(component["spec"]["owner"], json!("group:default/team-a"));
    // The catalog records where its code is: the new repository's root.
    let source = component["metadata"]["annotations"]["backstage.io/source-location"]
        .as_str()
        .expect("source location");
    assert!(
        source.starts_with("url:file://") && source.ends_with("/team-a/orders.git/tree/main/"),
        "{source}"
    );
    // Events are ordered, end with the completion, and show every step.
    assert!(events.windows(2).all(|pair| pair[0].id < pair[1].id));
    assert_eq!(
        events.last().map(|event| event.event_type),
        Some(EventType::Completion)
    );
    for step in ["fetch", "publish", "register"] {
        assert!(
            events
                .iter()
                .any(|event| event.body["stepId"] == json!(step)
                    && event.body["status"] == json!("completed")),
            "{step} did not complete"
        );
    }
    // The workspace is gone; the hosted repository has one commit.
    assert!(
        !fixture
            .root
            .path()
            .join("data/scaffolder/tasks")
            .join(&task.id)
            .exists()
    );
    let repository = fixture
        .engine
        .hosting()
        .repository("team-a", "orders")
        .expect("repo");
    let count = Command::new("git")
        .args([
            "--git-dir",
            repository.path.to_str().expect("utf-8"),
            "rev-list",
            "--count",
            "main",
        ])
        .output()
        .expect("git");
    assert_eq!(String::from_utf8_lossy(&count.stdout).trim(), "1");
    let (list, total) = fixture
        .engine
        .tasks(Some("user:default/alice"), 10, 0)
        .await
        .expect("list");
    assert_eq!((list.len(), total), (1, 1));
    let (none, _) = fixture
        .engine
        .tasks(Some("user:default/bob"), 10, 0)
        .await
        .expect("list");
    assert!(none.is_empty());
}

#[tokio::test]
async fn bad_values_and_unknown_actions_are_refused_before_anything_is_stored() {
    let fixture = fixture().await;
    let template = register_template(&fixture, GOLDEN_STEPS).await;
    let error = fixture
        .engine
        .create_task(new_task(template.clone(), json!({"name": "Bad Name!"})))
        .await
        .expect_err("refused");
    match &error {
        ScaffolderError::Input { problems, .. } => {
            let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
            assert!(
                paths.contains(&"/name") && paths.contains(&"/owner"),
                "{paths:?}"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    let mut unknown = template.clone();
    unknown["spec"]["steps"][1]["action"] = json!("publish:github");
    let error = fixture
        .engine
        .create_task(new_task(
            unknown,
            json!({"name": "orders", "owner": "team-a"}),
        ))
        .await
        .expect_err("refused");
    assert!(
        error
            .to_string()
            .contains("`publish:github` (step `publish`)"),
        "{error}"
    );
    let (tasks, total) = fixture.engine.tasks(None, 10, 0).await.expect("list");
    assert!(tasks.is_empty() && total == 0);
}

#[tokio::test]
async fn a_failing_step_fails_the_task_and_a_cancel_stops_a_running_one() {
    let fixture = fixture().await;
    let steps =
        "    - id: fetch\n      action: fetch:template\n      input: {url: ./missing-skeleton}";
    let template = register_template(&fixture, steps).await;
    let task = fixture
        .engine
        .create_task(new_task(
            template,
            json!({"name": "orders", "owner": "team-a"}),
        ))
        .await
        .expect("created");
    let finished = fixture
        .engine
        .wait(&task.id, Duration::from_secs(30))
        .await
        .expect("wait");
    assert_eq!(finished.status, TaskStatus::Failed);
    let (events, _) = fixture
        .engine
        .next_events(&task.id, None, Duration::ZERO)
        .await
        .expect("events");
    let completion = events.last().expect("events");
    assert_eq!(completion.body["status"], json!("failed"));
    assert!(
        completion.body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("step `fetch`")
    );

    let waiting = "    - id: wait\n      action: debug:wait\n      input: {seconds: 60}\n    - id: after\n      action: debug:log\n      input: {message: after}";
    let fixture = self::fixture().await;
    let template = register_template(&fixture, waiting).await;
    let task = fixture
        .engine
        .create_task(new_task(
            template,
            json!({"name": "orders", "owner": "team-a"}),
        ))
        .await
        .expect("created");
    // Wait for the step to start, then cancel.
    let mut after = None;
    loop {
        let (events, _) = fixture
            .engine
            .next_events(&task.id, after, Duration::from_secs(5))
            .await
            .expect("events");
        if events
            .iter()
            .any(|event| event.body["stepId"] == json!("wait"))
        {
            break;
        }
        after = events.last().map(|event| event.id).or(after);
    }
    let started = std::time::Instant::now();
    fixture
        .engine
        .cancel(&task.id, "user:default/alice")
        .await
        .expect("cancel");
    let finished = fixture
        .engine
        .wait(&task.id, Duration::from_secs(30))
        .await
        .expect("wait");
    assert_eq!(finished.status, TaskStatus::Cancelled);
    assert!(started.elapsed() < Duration::from_secs(10));
    let again = fixture
        .engine
        .cancel(&task.id, "user:default/alice")
        .await
        .expect_err("finished");
    assert!(matches!(again, ScaffolderError::Conflict(_)));
    let (events, _) = fixture
        .engine
        .next_events(&task.id, None, Duration::ZERO)
        .await
        .expect("events");
    assert!(
        events
            .iter()
            .any(|event| event.event_type == EventType::Cancelled)
    );
    assert!(
        !events
            .iter()
            .any(|event| event.body["message"] == json!("after"))
    );
}

#[tokio::test]
async fn secrets_are_never_stored() {
    let fixture = fixture().await;
    let steps = "    - id: log\n      action: debug:log\n      input: {message: 'using ${{ secrets.token }}'}";
    let template = register_template(&fixture, steps).await;
    let mut request = new_task(template, json!({"name": "orders", "owner": "team-a"}));
    request
        .secrets
        .insert("token".into(), "hunter2-secret".into());
    let task = fixture.engine.create_task(request).await.expect("created");
    fixture
        .engine
        .wait(&task.id, Duration::from_secs(30))
        .await
        .expect("wait");
    for table in ["scaffolder_tasks", "scaffolder_task_events"] {
        let rows: Vec<String> = pave_store::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT {} FROM {table}",
            if table == "scaffolder_tasks" {
                "spec"
            } else {
                "body"
            }
        )))
        .fetch_all(fixture.store.pool())
        .await
        .expect("rows");
        assert!(
            rows.iter().all(|row| !row.contains("hunter2-secret")),
            "{table}: {rows:?}"
        );
    }
    let (events, _) = fixture
        .engine
        .next_events(&task.id, None, Duration::ZERO)
        .await
        .expect("events");
    assert!(
        events
            .iter()
            .any(|event| event.body["message"] == json!("using ***"))
    );
}

#[tokio::test]
async fn a_restart_fails_interrupted_tasks_and_cleans_up() {
    let fixture = fixture().await;
    let template = register_template(&fixture, GOLDEN_STEPS).await;
    // A task as a killed server leaves it: processing, a workspace, and a
    // half-built hosted repository.
    let id = "0190-interrupted";
    store::insert_task(
        &fixture.store,
        id,
        "template:default/service",
        &json!({}),
        "user:default/alice",
    )
    .await
    .expect("insert");
    store::transition(
        &fixture.store,
        id,
        &[TaskStatus::Open],
        TaskStatus::Processing,
        None,
    )
    .await
    .expect("processing");
    let leftovers = fixture
        .root
        .path()
        .join("data/scaffolder/tasks")
        .join(id)
        .join("workspace");
    std::fs::create_dir_all(&leftovers).expect("leftover workspace");
    let incoming = fixture.root.path().join("data/repositories/.incoming/half");
    std::fs::create_dir_all(&incoming).expect("incoming");

    // A new engine over the same data, as after a restart.
    let restarted = Scaffolder::new(
        fixture.store.clone(),
        Arc::clone(&fixture.catalog),
        ScaffolderConfig::under(&fixture.root.path().join("data")),
    );
    if restarted.inner.store.backend() == Backend::Sqlite {
        assert_eq!(restarted.recover().await.expect("recover"), 1);
        let task = restarted.task(id).await.expect("task");
        assert_eq!(task.status, TaskStatus::Failed);
        let (events, finished) = restarted
            .next_events(id, None, Duration::ZERO)
            .await
            .expect("events");
        assert!(finished);
        assert_eq!(events[0].event_type, EventType::Recovered);
        assert_eq!(events[1].body["status"], json!("failed"));
    } else {
        // Replicas share PostgreSQL: a fresh heartbeat protects the task.
        assert_eq!(restarted.recover().await.expect("recover"), 0);
    }
    assert!(!leftovers.exists(), "the interrupted workspace is left");
    assert!(!incoming.exists(), "the half-built repository is left");
    // The template still runs afterwards.
    let task = restarted
        .create_task(new_task(
            template,
            json!({"name": "orders", "owner": "team-a"}),
        ))
        .await
        .expect("created");
    let finished = restarted
        .wait(&task.id, Duration::from_secs(60))
        .await
        .expect("wait");
    assert_eq!(finished.status, TaskStatus::Completed);
}

#[tokio::test]
async fn a_dry_run_returns_files_and_log_and_changes_nothing() {
    let fixture = fixture().await;
    let template = register_template(&fixture, GOLDEN_STEPS).await;
    let result = fixture
        .engine
        .dry_run(DryRunRequest {
            template,
            values: json!({"name": "orders", "owner": "team-a"}),
            secrets: Default::default(),
            files: vec![
                DryRunFile {
                    path: "skeleton/catalog-info.yaml".into(),
                    executable: false,
                    content: b"apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: ${{ values.name }}\nspec: {type: service, lifecycle: experimental, owner: team-a}\n".to_vec(),
                },
                DryRunFile {
                    path: "skeleton/run.sh".into(),
                    executable: false,
                    content: b"echo ${{ values.name }}\n".to_vec(),
                },
            ],
            created_by: "user:default/alice".into(),
            use_catalog_location: false,
        })
        .await
        .expect("dry run");
    assert_eq!(result.error, None, "log: {:#?}", result.log);
    let paths: Vec<&str> = result.files.iter().map(|file| file.path.as_str()).collect();
    assert_eq!(paths, ["catalog-info.yaml", "run.sh"]);
    assert_eq!(result.files[1].content, b"echo orders\n");
    assert_eq!(
        result.output["links"][1]["entityRef"],
        json!("component:default/orders")
    );
    assert!(
        !fixture
            .engine
            .hosting()
            .exists("team-a", "orders")
            .expect("exists")
    );
    assert!(
        fixture
            .catalog
            .entity_by_ref(&EntityRef::new("component", "default", "orders"))
            .await
            .is_err()
    );
    let (tasks, _) = fixture.engine.tasks(None, 10, 0).await.expect("list");
    assert!(tasks.is_empty());

    // Files given inline cannot escape the template directory.
    let template = fixture
        .catalog
        .entity_by_ref(&EntityRef::new("template", "default", "service"))
        .await
        .expect("template");
    let error = fixture
        .engine
        .dry_run(DryRunRequest {
            template,
            values: json!({"name": "orders", "owner": "team-a"}),
            secrets: Default::default(),
            files: vec![DryRunFile {
                path: "../escape.txt".into(),
                executable: false,
                content: b"x".to_vec(),
            }],
            created_by: "user:default/alice".into(),
            use_catalog_location: false,
        })
        .await
        .expect_err("refused");
    assert!(error.to_string().contains("../escape.txt"), "{error}");

    // A registered template dry-runs with the files of its own location.
    let template = fixture
        .catalog
        .entity_by_ref(&EntityRef::new("template", "default", "service"))
        .await
        .expect("template");
    let result = fixture
        .engine
        .dry_run(DryRunRequest {
            template,
            values: json!({"name": "billing", "owner": "team-a"}),
            secrets: Default::default(),
            files: Vec::new(),
            created_by: "user:default/alice".into(),
            use_catalog_location: true,
        })
        .await
        .expect("dry run");
    assert_eq!(result.error, None, "log: {:#?}", result.log);
    let readme = result
        .files
        .iter()
        .find(|file| file.path == "README.md")
        .expect("README");
    assert_eq!(readme.content, b"# billing\n");
    assert!(
        !fixture
            .engine
            .hosting()
            .exists("team-a", "billing")
            .expect("exists")
    );
}

#[tokio::test]
async fn a_secret_parameter_is_validated_with_its_secret_and_never_quoted() {
    let fixture = fixture().await;
    let steps = "    - id: log\n      action: debug:log\n      input: {message: 'ok'}";
    let mut template = register_template(&fixture, steps).await;
    // A required secret parameter with a pattern, given in `secrets` only.
    template["spec"]["parameters"][0]["properties"]["token"] =
        json!({"type": "string", "pattern": "^tok-[a-z]+$", "ui:field": "Secret"});
    template["spec"]["parameters"][0]["required"] = json!(["name", "owner", "token"]);
    let mut request = new_task(
        template.clone(),
        json!({"name": "orders", "owner": "team-a"}),
    );
    request.secrets.insert("token".into(), "tok-abc".into());
    let task = fixture
        .engine
        .create_task(request)
        .await
        .expect("valid with its secret");
    assert!(!task.spec.to_string().contains("tok-abc"));
    fixture
        .engine
        .wait(&task.id, Duration::from_secs(30))
        .await
        .expect("wait");

    let mut request = new_task(template, json!({"name": "orders", "owner": "team-a"}));
    request
        .secrets
        .insert("token".into(), "Not-A-Token-9".into());
    let error = fixture
        .engine
        .create_task(request)
        .await
        .expect_err("pattern");
    assert!(error.to_string().contains("/token"), "{error}");
    assert!(!error.to_string().contains("Not-A-Token-9"), "{error}");
}
