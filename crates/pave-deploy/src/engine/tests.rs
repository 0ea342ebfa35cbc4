//! The engine with real parts: a git repository made with the git CLI, the
//! catalog on a real database, the local runtime running Python processes,
//! and HTTP to them on 127.0.0.1. The router is stood in for by a recorder.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pave_catalog::{Catalog, CatalogConfig, LocationSpec};
use pave_runtime::{LocalOptions, LocalRuntime};
use pave_store::testing::TestDatabase;
use serde_json::{Map, json};

use super::*;
use crate::environment::NewEnvironment;

/// Records the routes the engine asks for.
#[derive(Default)]
struct Recorder {
    routes: Mutex<BTreeMap<String, Vec<IngressRoute>>>,
}

impl Ingress for Recorder {
    fn set_environment(&self, environment: &str, routes: Vec<IngressRoute>) {
        if let Ok(mut all) = self.routes.lock() {
            all.insert(environment.to_string(), routes);
        }
    }

    fn remove_environment(&self, environment: &str) {
        if let Ok(mut all) = self.routes.lock() {
            all.remove(environment);
        }
    }
}

impl Recorder {
    fn port(&self, environment: &str) -> Option<u16> {
        self.routes
            .lock()
            .ok()?
            .get(environment)?
            .first()
            .map(|route| route.port)
    }
}

const SERVICE: &str = r#"import os, http.server
VERSION = os.environ.get("VERSION", "?")
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        healthy = not os.path.exists("broken")
        status = 200 if (self.path != "/healthz" or healthy) else 500
        body = f"{VERSION} {os.environ.get('GREETING', '')} {os.environ.get('PEER', '')}".encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"#;

const SCORE: &str = "apiVersion: score.dev/v1b1\nmetadata:\n  name: orders\nservice:\n  ports:\n    web: {port: 8080}\ncontainers:\n  main:\n    image: .\n    command: [python3, server.py]\n    variables:\n      VERSION: VERSION_VALUE\n      GREETING: ${resources.env.GREETING}\n      API_TOKEN: not-for-eyes\n    readinessProbe:\n      httpGet: {path: /healthz, port: 8080}\nresources:\n  env: {type: environment}\n  dns: {type: dns}\n";

struct Fixture {
    _database: TestDatabase,
    root: tempfile::TempDir,
    store: Store,
    catalog: Arc<Catalog>,
    work: PathBuf,
    remote: String,
    runtime: Arc<LocalRuntime>,
    ingress: Arc<Recorder>,
    deployer: Deployer,
}

fn git(directory: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
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

fn options() -> LocalOptions {
    LocalOptions {
        stop_grace: Duration::from_secs(2),
        backoff_initial: Duration::from_millis(100),
        probe_interval: Duration::from_millis(100),
        ..LocalOptions::default()
    }
}

impl Fixture {
    async fn new() -> Fixture {
        let database = TestDatabase::create().await.expect("database");
        let store = database.open().await.expect("store");
        let root = tempfile::tempdir().expect("tempdir");
        let work = root.path().join("work");
        std::fs::create_dir_all(&work).expect("work");
        git(&work, &["init", "--quiet", "--initial-branch=main"]);
        std::fs::write(work.join("server.py"), SERVICE).expect("server");
        std::fs::write(
            work.join("score.yaml"),
            SCORE.replace("VERSION_VALUE", "v1"),
        )
        .expect("score");
        std::fs::write(
            work.join("catalog-info.yaml"),
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: orders\nspec:\n  type: service\n  lifecycle: experimental\n  owner: team-a\n",
        )
        .expect("catalog-info");
        git(&work, &["add", "--all"]);
        git(&work, &["commit", "--quiet", "--message", "v1"]);
        let bare = root.path().join("orders.git");
        git(
            root.path(),
            &["clone", "--quiet", "--bare", "work", "orders.git"],
        );
        let remote = format!("file://{}", bare.display());
        let catalog = Arc::new(Catalog::new(
            store.clone(),
            CatalogConfig::quiet(root.path().join("catalog-cache")),
        ));
        catalog
            .register(
                LocationSpec {
                    r#type: "url".into(),
                    target: format!("{remote}/blob/main/catalog-info.yaml"),
                },
                false,
            )
            .await
            .expect("register");
        let runtime =
            Arc::new(LocalRuntime::new(root.path().join("runtime"), options()).expect("runtime"));
        let ingress = Arc::new(Recorder::default());
        let deployer = Self::deployer(&store, &catalog, &runtime, &ingress, root.path());
        Fixture {
            _database: database,
            root,
            store,
            catalog,
            work,
            remote,
            runtime,
            ingress,
            deployer,
        }
    }

    fn deployer(
        store: &Store,
        catalog: &Arc<Catalog>,
        runtime: &Arc<LocalRuntime>,
        ingress: &Arc<Recorder>,
        root: &Path,
    ) -> Deployer {
        let mut config = DeployConfig::under(&root.join("data"), 7080);
        config.ready_timeout = Duration::from_secs(8);
        config.drain = Duration::from_millis(100);
        Deployer::new(
            store.clone(),
            Arc::clone(catalog),
            Arc::clone(runtime) as Arc<dyn Runtime>,
            Arc::clone(ingress) as Arc<dyn Ingress>,
            config,
        )
    }

    /// Commits a change and pushes it; returns the commit.
    fn push(&self, change: impl Fn(&Path)) -> String {
        change(&self.work);
        git(&self.work, &["add", "--all"]);
        git(&self.work, &["commit", "--quiet", "--message", "change"]);
        let bare = self.remote.trim_start_matches("file://");
        git(&self.work, &["push", "--quiet", bare, "main"]);
        git(&self.work, &["rev-parse", "HEAD"])
    }

    async fn environment(&self, name: &str, greeting: &str) {
        let mut config = Map::new();
        config.insert("GREETING".into(), json!(greeting));
        self.deployer
            .environments()
            .create(
                NewEnvironment {
                    name: name.into(),
                    config,
                    ..NewEnvironment::default()
                },
                "user:default/alice",
            )
            .await
            .expect("environment");
    }

    async fn deploy(
        &self,
        environment: &str,
        revision: Option<&str>,
    ) -> Result<Deployment, DeployError> {
        self.deployer
            .deploy(DeployRequest {
                component: "orders".into(),
                environment: environment.into(),
                revision: revision.map(str::to_string),
                created_by: "user:default/alice".into(),
            })
            .await
    }
}

fn get(port: u16) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream
        .write_all(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
        .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer.split("\r\n\r\n").nth(1).map(str::to_string)
}

fn process_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

#[tokio::test]
async fn deploy_fail_rollback_and_promote_keep_a_version_serving() {
    let fixture = Fixture::new().await;
    fixture.environment("dev", "hello-dev").await;
    fixture.environment("staging", "hello-staging").await;

    let plan = fixture
        .deployer
        .plan(&DeployRequest {
            component: "orders".into(),
            environment: "dev".into(),
            revision: None,
            created_by: "x".into(),
        })
        .await
        .expect("plan");
    assert!(plan.changes[0].starts_with("new:"), "{:?}", plan.changes);
    assert_eq!(plan.variables["main"]["API_TOKEN"], "********");
    assert_eq!(plan.variables["main"]["GREETING"], "hello-dev");
    assert_eq!(plan.urls[0], "http://orders--dev.localhost:7080");

    let first = fixture.deploy("dev", None).await.expect("deploy");
    assert_eq!(first.status, DeploymentStatus::Healthy, "{}", first.message);
    assert!(first.active);
    assert_eq!(first.component, "component:default/orders");
    assert_eq!(first.resolved["variables"]["main"]["API_TOKEN"], "********");
    let port = fixture.ingress.port("dev").expect("routed");
    assert_eq!(get(port).as_deref(), Some("v1 hello-dev "));

    // A commit that never becomes ready fails; v1 keeps serving.
    let broken = fixture.push(|work| {
        std::fs::write(work.join("broken"), "").expect("broken");
        std::fs::write(
            work.join("score.yaml"),
            SCORE.replace("VERSION_VALUE", "v2"),
        )
        .expect("score");
    });
    let failed = fixture
        .deploy("dev", Some(&broken))
        .await
        .expect("recorded");
    assert_eq!(failed.status, DeploymentStatus::Failed);
    assert!(
        failed.message.contains("did not become ready"),
        "{}",
        failed.message
    );
    assert!(!failed.active);
    assert_eq!(fixture.ingress.port("dev"), Some(port));
    assert_eq!(get(port).as_deref(), Some("v1 hello-dev "));

    // A good v3, then a rollback to the last healthy one before it (v1).
    let fixed = fixture.push(|work| {
        std::fs::remove_file(work.join("broken")).expect("fixed");
        std::fs::write(
            work.join("score.yaml"),
            SCORE.replace("VERSION_VALUE", "v3"),
        )
        .expect("score");
    });
    let third = fixture.deploy("dev", None).await.expect("deploy");
    assert_eq!(third.status, DeploymentStatus::Healthy, "{}", third.message);
    assert_eq!(third.commit, fixed);
    let new_port = fixture.ingress.port("dev").expect("routed");
    assert_eq!(get(new_port).as_deref(), Some("v3 hello-dev "));
    assert_eq!(get(port), None, "the old version still answers");
    let rolled = fixture
        .deployer
        .rollback("orders", "dev", None, "user:default/alice")
        .await
        .expect("rollback");
    assert_eq!(
        rolled.status,
        DeploymentStatus::Healthy,
        "{}",
        rolled.message
    );
    assert_eq!(
        (rolled.kind.as_str(), rolled.commit.as_str()),
        ("rollback", first.commit.as_str())
    );
    assert_eq!(rolled.based_on.as_deref(), Some(first.id.as_str()));
    let port = fixture.ingress.port("dev").expect("routed");
    assert_eq!(get(port).as_deref(), Some("v1 hello-dev "));

    // Promote: the commit that runs in dev, with staging's config; the two
    // environments run the same workload side by side.
    let promoted = fixture
        .deployer
        .promote("orders", "dev", "staging", "user:default/alice")
        .await
        .expect("promote");
    assert_eq!(
        promoted.status,
        DeploymentStatus::Healthy,
        "{}",
        promoted.message
    );
    assert_eq!(promoted.commit, first.commit);
    let staging = fixture.ingress.port("staging").expect("routed");
    assert_ne!(staging, port);
    assert_eq!(get(staging).as_deref(), Some("v1 hello-staging "));
    assert_eq!(get(port).as_deref(), Some("v1 hello-dev "));

    let history = fixture
        .deployer
        .deployments(&DeploymentFilter {
            component: Some("orders".into()),
            environment: Some("dev".into()),
            limit: None,
        })
        .await
        .expect("history");
    let statuses: Vec<(&str, bool)> = history
        .iter()
        .map(|deployment| (deployment.status.as_str(), deployment.active))
        .collect();
    assert_eq!(
        statuses,
        [
            ("Healthy", true),
            ("Healthy", false),
            ("Failed", false),
            ("Healthy", false)
        ]
    );

    // Deleting an environment stops its processes; the other runs on.
    let pids: Vec<u32> = fixture
        .runtime
        .status("staging")
        .await
        .expect("status")
        .iter()
        .flat_map(|instance| instance.processes.iter().filter_map(|process| process.pid))
        .collect();
    assert!(!pids.is_empty());
    fixture
        .deployer
        .delete_environment("staging")
        .await
        .expect("delete");
    assert!(
        pids.iter().all(|pid| !process_alive(*pid)),
        "a staging process outlived it"
    );
    assert_eq!(fixture.ingress.port("staging"), None);
    assert_eq!(get(port).as_deref(), Some("v1 hello-dev "));
    fixture.runtime.kill_all();
}

#[tokio::test]
async fn bad_input_is_refused_and_records_nothing() {
    let fixture = Fixture::new().await;
    fixture.environment("dev", "x").await;
    type Change = Box<dyn Fn(&Path)>;
    let cases: Vec<(Change, &str)> = vec![
        (
            Box::new(|work: &Path| {
                std::fs::write(
                    work.join("score.yaml"),
                    "apiVersion: score.dev/v1b1\nmetadata: {name: orders}\ncontainers: {}\n",
                )
                .expect("score")
            }),
            "score.yaml",
        ),
        (
            Box::new(|work: &Path| {
                std::fs::write(
                    work.join("score.yaml"),
                    SCORE.replace("${resources.env.GREETING}", "${resources.nope.value}"),
                )
                .expect("score")
            }),
            "nope",
        ),
        (
            Box::new(|work: &Path| {
                std::fs::write(
                    work.join("score.yaml"),
                    SCORE.replace("type: dns", "type: postgres"),
                )
                .expect("score")
            }),
            "type `postgres`",
        ),
        (
            Box::new(|work: &Path| {
                std::fs::write(
                    work.join("score.yaml"),
                    SCORE.replace("image: .", "image: nginx"),
                )
                .expect("score")
            }),
            "image",
        ),
    ];
    for (change, expected) in cases {
        let commit = fixture.push(change);
        let error = fixture
            .deploy("dev", Some(&commit))
            .await
            .expect_err("refused");
        assert!(error.to_string().contains(expected), "{expected}: {error}");
    }
    let missing = fixture
        .deploy("dev", Some("0123456789abcdef0123456789abcdef01234567"))
        .await
        .expect_err("refused");
    assert!(missing.to_string().contains("cannot be found"), "{missing}");
    let nowhere = fixture.deploy("nowhere", None).await.expect_err("refused");
    assert!(matches!(nowhere, DeployError::NotFound(_)), "{nowhere}");
    let records = fixture
        .deployer
        .deployments(&DeploymentFilter::default())
        .await
        .expect("list");
    assert!(records.is_empty(), "{records:?}");
    assert!(
        fixture
            .runtime
            .status("dev")
            .await
            .expect("status")
            .is_empty()
    );
}

#[tokio::test]
async fn a_restart_adopts_what_runs_and_removes_what_the_database_forgot() {
    let fixture = Fixture::new().await;
    fixture.environment("dev", "hi").await;
    let deployment = fixture.deploy("dev", None).await.expect("deploy");
    assert_eq!(
        deployment.status,
        DeploymentStatus::Healthy,
        "{}",
        deployment.message
    );
    let before = fixture
        .runtime
        .instance(&deployment.id)
        .await
        .expect("status")
        .expect("runs");
    let pid = before.processes[0].pid.expect("pid");
    // Pave is killed: supervisors vanish, processes keep running.
    fixture.runtime.abandon();
    assert!(process_alive(pid));

    let runtime = Arc::new(
        LocalRuntime::new(fixture.root.path().join("runtime"), options()).expect("runtime"),
    );
    let ingress = Arc::new(Recorder::default());
    let restarted = Fixture::deployer(
        &fixture.store,
        &fixture.catalog,
        &runtime,
        &ingress,
        fixture.root.path(),
    );
    restarted.recover().await.expect("recover");
    let after = runtime
        .instance(&deployment.id)
        .await
        .expect("status")
        .expect("runs");
    assert_eq!(
        after.processes[0].pid,
        Some(pid),
        "not adopted: a second process started"
    );
    let port = ingress.port("dev").expect("routed again");
    assert_eq!(get(port).as_deref(), Some("v1 hi "));
    assert_eq!(runtime.status("dev").await.expect("status").len(), 1);

    // An environment the database no longer has is removed at the next pass.
    fixture
        .deployer
        .environments()
        .remove("dev")
        .await
        .expect("forget");
    restarted.reconcile().await.expect("reconcile");
    assert!(
        !process_alive(pid),
        "a forgotten environment's process survived"
    );
    runtime.kill_all();
}

#[tokio::test]
async fn a_pull_request_gets_a_preview_that_expires_and_closes() {
    let fixture = Fixture::new().await;
    fixture.environment("dev", "from-dev").await;
    let head = fixture.push(|work| {
        std::fs::write(
            work.join("score.yaml"),
            SCORE.replace("VERSION_VALUE", "pr"),
        )
        .expect("score");
    });
    let settings = PreviewSettings {
        base_environment: "dev".into(),
        ttl_seconds: 3600,
        actor: "service:github".into(),
    };
    let pull = crate::webhook::PullRequestEvent {
        repository: vec![format!(
            "{}/",
            fixture.remote.replace("orders.git", "orders")
        )],
        number: 7,
        branch: "feature".into(),
        head_commit: head.clone(),
        base_branch: "main".into(),
    };
    let outcome = fixture
        .deployer
        .open_preview(&pull, &settings)
        .await
        .expect("preview");
    assert!(outcome.created);
    assert_eq!(outcome.environment, "pr-7");
    assert_eq!(outcome.urls[0], "http://orders--pr-7.localhost:7080");
    assert_eq!(
        outcome.deployments[0].status,
        DeploymentStatus::Healthy,
        "{}",
        outcome.deployments[0].message
    );
    let environment = fixture
        .deployer
        .environments()
        .get("pr-7")
        .await
        .expect("environment");
    assert_eq!(environment.parent.as_deref(), Some("dev"));
    assert_eq!(
        environment
            .source
            .as_ref()
            .map(|source| source.head_commit.as_str()),
        Some(head.as_str())
    );
    let port = fixture.ingress.port("pr-7").expect("routed");
    assert_eq!(get(port).as_deref(), Some("pr from-dev "));

    // A repository no component comes from makes nothing.
    let mut stranger = pull.clone();
    stranger.repository = vec!["https://example.com/other/repo.git".into()];
    stranger.number = 8;
    assert!(
        fixture
            .deployer
            .open_preview(&stranger, &settings)
            .await
            .is_err()
    );
    assert!(fixture.deployer.environments().get("pr-8").await.is_err());

    // A head commit that never gets ready fails the preview and leaves no
    // environment behind.
    let broken = fixture.push(|work| std::fs::write(work.join("broken"), "").expect("broken"));
    let mut failing = pull.clone();
    failing.number = 11;
    failing.head_commit = broken;
    let error = fixture
        .deployer
        .open_preview(&failing, &settings)
        .await
        .expect_err("never ready");
    assert!(
        error.to_string().contains("did not become ready"),
        "{error}"
    );
    assert!(fixture.deployer.environments().get("pr-11").await.is_err());
    assert!(
        fixture
            .runtime
            .status("pr-11")
            .await
            .expect("status")
            .is_empty()
    );

    // Expired previews are reaped; closing twice is fine.
    let mut short = pull.clone();
    short.number = 9;
    let short_settings = PreviewSettings {
        ttl_seconds: 0,
        ..settings.clone()
    };
    fixture
        .deployer
        .open_preview(&short, &short_settings)
        .await
        .expect("preview");
    let pids: Vec<u32> = fixture
        .runtime
        .status("pr-9")
        .await
        .expect("status")
        .iter()
        .flat_map(|instance| instance.processes.iter().filter_map(|process| process.pid))
        .collect();
    assert_eq!(
        fixture.deployer.reap_expired().await.expect("reap"),
        ["pr-9"]
    );
    assert!(pids.iter().all(|pid| !process_alive(*pid)));
    assert!(fixture.deployer.close_preview(7).await.expect("close"));
    assert!(
        !fixture
            .deployer
            .close_preview(7)
            .await
            .expect("close again")
    );
    assert!(
        fixture
            .runtime
            .status("pr-7")
            .await
            .expect("status")
            .is_empty()
    );
    assert_eq!(fixture.ingress.port("pr-7"), None);
    fixture.runtime.kill_all();
}

#[tokio::test]
async fn the_template_step_deploys_to_development_only() {
    use pave_scaffold::Workspace;
    use pave_scaffold::actions::{ActionContext, ActionRegistry};

    let fixture = Fixture::new().await;
    // An environment made by the step has no config: read none.
    fixture.push(|work| {
        std::fs::write(
            work.join("score.yaml"),
            SCORE
                .replace("VERSION_VALUE", "v1")
                .replace("${resources.env.GREETING}", "made-by-template"),
        )
        .expect("score")
    });
    let mut registry = ActionRegistry::new();
    registry
        .register(crate::DeployAction::new(fixture.deployer.clone()))
        .expect("register");
    let directory = tempfile::tempdir().expect("tempdir");
    let workspace = Workspace::new(directory.path()).expect("workspace");
    let mut log = Vec::new();

    // `dev` does not exist: refused without createEnvironment, made with it.
    let error = {
        let mut context = ActionContext::new(&workspace, &mut log);
        registry
            .run(
                "pave:deploy",
                &mut context,
                &json!({"component": "component:default/orders"}),
            )
            .await
            .expect_err("no dev")
    };
    assert!(error.to_string().contains("createEnvironment"), "{error}");
    let output = {
        let mut context = ActionContext::new(&workspace, &mut log);
        registry
            .run(
                "pave:deploy",
                &mut context,
                &json!({"component": "component:default/orders", "createEnvironment": true}),
            )
            .await
            .expect("deployed")
    };
    assert_eq!(output["url"], "http://orders--dev.localhost:7080");
    let port = fixture.ingress.port("dev").expect("routed");
    assert_eq!(get(port).as_deref(), Some("v1 made-by-template "));

    // Production is never a template's to deploy to.
    fixture
        .deployer
        .environments()
        .create(
            NewEnvironment {
                name: "prod".into(),
                environment_type: Some(crate::EnvironmentType::Production),
                ..NewEnvironment::default()
            },
            "user:default/admin",
        )
        .await
        .expect("prod");
    let error = {
        let mut context = ActionContext::new(&workspace, &mut log);
        registry
            .run(
                "pave:deploy",
                &mut context,
                &json!({"component": "component:default/orders", "environment": "prod"}),
            )
            .await
            .expect_err("refused")
    };
    assert!(
        error
            .to_string()
            .contains("only to development and preview"),
        "{error}"
    );
    assert!(
        fixture
            .runtime
            .status("prod")
            .await
            .expect("status")
            .is_empty()
    );
    fixture.runtime.kill_all();
}
