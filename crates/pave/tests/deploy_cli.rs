//! `pave env`, `pave deploy`, `pave rollback`, `pave promote`, `pave
//! deployments`, `pave logs` and `pave preview` as people use them: a real
//! server (`pave up`, or `pave serve` on PostgreSQL when
//! `PAVE_TEST_DATABASE_URL` is set), the CLI as a process with no terminal,
//! a real git repository with a Python service made here, real processes,
//! and real HTTP through Pave's router with `Host: <workload>--<env>.localhost`.

use std::path::PathBuf;
use std::process::{Command, Output};

use pave_store::testing::TestDatabase;
use serde_json::Value;

mod common;
use common::service::{Repository, git, through_router};
use common::{BINARY, Server, succeeded, text};

/// A service that says its version and greeting, prints a line on each
/// stream at start-up, and fails its health check while `broken` exists.
const SERVICE: &str = r#"import os, sys, http.server
VERSION = os.environ.get("VERSION", "?")
print(f"orders {VERSION} starting on port {os.environ['PORT']}", flush=True)
print("warming up", file=sys.stderr, flush=True)
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        healthy = not os.path.exists("broken")
        status = 200 if (self.path != "/healthz" or healthy) else 500
        body = f"{VERSION} {os.environ.get('GREETING', '')}".encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"#;

fn score(version: &str) -> String {
    common::service::score(version, "/healthz", &[("API_TOKEN", "not-for-eyes")])
}

/// How long a new version may take to become ready: the Python service is
/// ready in about a second; a broken one fails after this.
const READY_TIMEOUT_SECONDS: &str = "5";

/// A server, its admin token, the router's port and the registered service.
struct Setup {
    server: Server,
    token: String,
    router: u16,
    config_dir: PathBuf,
    repository: Repository,
    _database: TestDatabase,
    _directory: tempfile::TempDir,
}

impl Setup {
    async fn start() -> Setup {
        let directory = tempfile::tempdir().unwrap();
        let database = TestDatabase::create().await.unwrap();
        let server = Server::start_with_env(
            &directory.path().join("data"),
            &database,
            &[],
            &[("PAVE_DEPLOY_READY_TIMEOUT_SECONDS", READY_TIMEOUT_SECONDS)],
        );
        let token = server
            .admin_token()
            .expect("the first start prints a token");
        let router = server.router_port();
        let repository = Repository::new(directory.path(), SERVICE, &score("v1"));
        let setup = Setup {
            server,
            token,
            router,
            config_dir: directory.path().join("config"),
            repository,
            _database: database,
            _directory: directory,
        };
        succeeded(&setup.pave(&[
            "catalog",
            "register",
            &setup.repository.location(),
            "--type",
            "url",
        ]));
        setup
    }

    /// Runs the CLI with no terminal: standard input is empty.
    fn pave(&self, args: &[&str]) -> Output {
        Command::new(BINARY)
            .args(args)
            .env("PAVE_CONFIG_DIR", &self.config_dir)
            .env("PAVE_SERVER", &self.server.url)
            .env("PAVE_TOKEN", &self.token)
            .output()
            .expect("run pave")
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut args = args.to_vec();
        args.extend(["--output", "json"]);
        serde_json::from_str(&succeeded(&self.pave(&args))).expect("JSON")
    }

    /// What the router answers for `host`: (status, body).
    fn get(&self, host: &str) -> (u16, String) {
        through_router(self.router, host)
            .unwrap_or_else(|| panic!("the router on port {} did not answer", self.router))
    }
}

/// The error of a failed command: exit 1 and one `error: ` line (after any
/// progress line) that says `expected`.
fn failed(output: &Output, expected: &str) -> String {
    let stderr = text(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(1),
        "expected exit 1\nstdout: {}\nstderr: {stderr}",
        text(&output.stdout)
    );
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), 1, "one error line in: {stderr}");
    assert!(
        stderr.trim_end().ends_with(errors[0]),
        "the error comes last: {stderr}"
    );
    assert!(
        errors[0].contains(expected),
        "expected `{expected}` in: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    errors[0].to_string()
}

/// The value of a `name  value` line of a `show` command.
fn field<'a>(shown: &'a str, name: &str) -> &'a str {
    shown
        .lines()
        .find_map(|line| {
            let rest = line.strip_prefix(name)?;
            rest.starts_with("  ").then(|| rest.trim())
        })
        .unwrap_or_else(|| panic!("no `{name}` in:\n{shown}"))
}

fn contains_all(haystack: &str, needles: &[&str]) {
    for needle in needles {
        assert!(
            haystack.contains(needle),
            "expected `{needle}` in:\n{haystack}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn deploy_fail_roll_back_and_promote_through_the_cli() {
    let setup = Setup::start().await;
    let created = succeeded(&setup.pave(&["env", "create", "dev", "--config", "GREETING=hi"]));
    contains_all(
        &created,
        &["Created environment dev (development)", "GREETING  hi"],
    );
    let listed = succeeded(&setup.pave(&["env", "list"]));
    contains_all(&listed, &["dev", "development", "active"]);

    // The first deploy: the plan, then the outcome with the URL.
    let url = format!("http://orders--dev.localhost:{}", setup.router);
    let deployed = setup.pave(&["deploy", "orders", "--env", "dev", "--yes"]);
    let stdout = succeeded(&deployed);
    contains_all(
        &stdout,
        &[
            "Plan: deploy component:default/orders to dev",
            "running   nothing yet",
            "new: component:default/orders is not running in dev",
            "API_TOKEN  ********",
            "GREETING   hi",
            "VERSION    v1",
            "✓ Healthy: deployment",
            &url,
        ],
    );
    assert!(!stdout.contains("not-for-eyes"), "{stdout}");
    assert!(
        stdout.find("Plan:") < stdout.find("✓ Healthy"),
        "the plan comes first:\n{stdout}"
    );
    contains_all(
        &text(&deployed.stderr),
        &["Deploying component:default/orders to dev at "],
    );
    assert_eq!(setup.get("orders--dev.localhost"), (200, "v1 hi".into()));

    // History and logs.
    let history = succeeded(&setup.pave(&["deployments"]));
    contains_all(
        &history,
        &[
            "orders",
            "dev",
            "deploy",
            "Healthy",
            "yes",
            "user:default/admin",
        ],
    );
    let first = setup.json(&["deployments"])["items"][0].clone();
    let first_id = first["id"].as_str().unwrap().to_string();
    assert_eq!(first["status"], "Healthy");
    assert!(
        history.contains(&first_id[first_id.len() - 8..]),
        "{history}"
    );
    let logs = succeeded(&setup.pave(&["logs", &first_id]));
    contains_all(&logs, &["orders v1 starting on port", "stderr| warming up"]);
    let short_logs =
        succeeded(&setup.pave(&["logs", &first_id[first_id.len() - 8..], "--tail", "1"]));
    assert!(short_logs.contains("orders v1 starting"), "{short_logs}");
    let listed = succeeded(&setup.pave(&["env", "list"]));
    contains_all(
        &listed,
        &[
            &format!("orders@{}", &first["commit"].as_str().unwrap()[..7]),
            &url,
        ],
    );

    // A commit whose health check fails: exit 1, and v1 keeps serving.
    setup.repository.push("main", |work| {
        std::fs::write(work.join("broken"), "").unwrap();
        std::fs::write(work.join("score.yaml"), score("v2")).unwrap();
    });
    let broken = setup.pave(&["deploy", "orders", "--env", "dev", "--yes"]);
    let error = failed(&broken, "did not become ready");
    assert!(error.contains("is Failed"), "{error}");
    contains_all(
        &text(&broken.stdout),
        &[
            "commit: ",
            "VERSION: v1 → v2",
            "✗ Failed: deployment",
            "The previous version keeps serving.",
        ],
    );
    assert_eq!(setup.get("orders--dev.localhost"), (200, "v1 hi".into()));

    // Fixed in v3; then roll back to the last healthy one before it (v1).
    setup.repository.push("main", |work| {
        std::fs::remove_file(work.join("broken")).unwrap();
        std::fs::write(work.join("score.yaml"), score("v3")).unwrap();
    });
    succeeded(&setup.pave(&["deploy", "orders", "--env", "dev", "--yes"]));
    assert_eq!(setup.get("orders--dev.localhost"), (200, "v3 hi".into()));
    let third = setup.json(&["deployments", "--env", "dev", "--limit", "1"])["items"][0].clone();
    let rolled = succeeded(&setup.pave(&["rollback", "orders", "--env", "dev"]));
    contains_all(&rolled, &["✓ Healthy", "(rollback, commit "]);
    assert_eq!(setup.get("orders--dev.localhost"), (200, "v1 hi".into()));
    // And forward again, to v3 by its short id.
    let third_id = third["id"].as_str().unwrap();
    let short = &third_id[third_id.len() - 8..];
    let again = setup.json(&["rollback", "orders", "--env", "dev", "--to", short]);
    assert_eq!(again["basedOn"], third_id);
    assert_eq!(again["status"], "Healthy");
    assert_eq!(setup.get("orders--dev.localhost"), (200, "v3 hi".into()));

    // Promote to staging (an admin's environment): staging's own config.
    succeeded(&setup.pave(&[
        "env",
        "create",
        "staging",
        "--type",
        "staging",
        "--config",
        "GREETING=hello-staging",
    ]));
    let promoted =
        succeeded(&setup.pave(&["promote", "orders", "--from", "dev", "--to", "staging"]));
    contains_all(
        &promoted,
        &[
            "✓ Healthy",
            "(promote, commit ",
            &format!("http://orders--staging.localhost:{}", setup.router),
        ],
    );
    assert_eq!(
        setup.get("orders--staging.localhost"),
        (200, "v3 hello-staging".into())
    );
    assert_eq!(setup.get("orders--dev.localhost"), (200, "v3 hi".into()));

    let history = setup.json(&["deployments", "--env", "dev", "--component", "orders"]);
    let rows: Vec<(&str, &str, bool)> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            (
                item["kind"].as_str().unwrap(),
                item["status"].as_str().unwrap(),
                item["active"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("rollback", "Healthy", true),
            ("rollback", "Healthy", false),
            ("deploy", "Healthy", false),
            ("deploy", "Failed", false),
            ("deploy", "Healthy", false),
        ]
    );
    let promoted = setup.json(&["deployments", "--env", "staging"])["items"][0].clone();
    let shown = succeeded(&setup.pave(&[
        "deployments",
        "show",
        &promoted["id"].as_str().unwrap()[..18],
    ]));
    assert_eq!(field(&shown, "kind"), "promote");
    assert_eq!(field(&shown, "status"), "Healthy");
    assert_eq!(field(&shown, "based on"), again["id"].as_str().unwrap());
    assert!(shown.contains("GREETING   hello-staging"), "{shown}");
    let staging = succeeded(&setup.pave(&["env", "show", "staging"]));
    assert_eq!(field(&staging, "type"), "staging");
    contains_all(&staging, &["GREETING  hello-staging", "orders"]);
    let yaml = succeeded(&setup.pave(&["env", "show", "dev", "-o", "yaml"]));
    assert!(yaml.contains("name: dev"), "{yaml}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_preview_comes_and_goes() {
    let setup = Setup::start().await;
    succeeded(&setup.pave(&["env", "create", "dev", "--config", "GREETING=from-dev"]));
    git(
        &setup.repository.work,
        &["checkout", "--quiet", "-b", "feature"],
    );
    let head = setup.repository.push_score("feature", &score("pr"));

    let created = succeeded(&setup.pave(&[
        "preview", "create", "orders", "--pr", "5", "--branch", "feature", "--ttl", "2h",
    ]));
    contains_all(
        &created,
        &[
            "Created preview pr-5",
            &format!("✓ orders@{}: Healthy", &head[..7]),
            &format!("http://orders--pr-5.localhost:{}", setup.router),
            "pave preview delete 5",
        ],
    );
    assert_eq!(
        setup.get("orders--pr-5.localhost"),
        (200, "pr from-dev".into())
    );
    let listed = succeeded(&setup.pave(&["env", "list"]));
    contains_all(&listed, &["pr-5", "preview", "in 1h 59m"]);
    let shown = succeeded(&setup.pave(&["env", "show", "pr-5"]));
    assert_eq!(field(&shown, "parent"), "dev");
    assert_eq!(field(&shown, "type"), "preview");
    assert!(
        field(&shown, "pull request").starts_with(&format!("#5 feature at {}", &head[..7])),
        "{shown}"
    );
    assert!(shown.contains("GREETING  from-dev"), "{shown}");

    let deleted = succeeded(&setup.pave(&["preview", "delete", "5"]));
    assert!(deleted.contains("Deleted environment pr-5"), "{deleted}");
    assert_eq!(setup.get("orders--pr-5.localhost").0, 404);
    failed(
        &setup.pave(&["preview", "delete", "5"]),
        "there is no environment `pr-5`",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_refused_in_one_line_and_nothing_deploys_unconfirmed() {
    let setup = Setup::start().await;
    // Refused before any request: the environment is not made.
    failed(
        &setup.pave(&["env", "create", "dev", "--config", "novalue"]),
        "--config `novalue`: expected KEY=VALUE",
    );
    failed(
        &setup.pave(&["env", "show", "dev"]),
        "there is no environment `dev`",
    );
    failed(
        &setup.pave(&["env", "create", "Dev_1"]),
        "environment name `Dev_1`",
    );
    succeeded(&setup.pave(&["env", "create", "dev", "--config", "GREETING=hi"]));
    failed(
        &setup.pave(&["env", "create", "dev"]),
        "environment `dev` already exists",
    );

    let error = failed(
        &setup.pave(&["deploy", "nope", "--env", "dev", "--yes"]),
        "component:default/nope",
    );
    contains_all(
        &error,
        &["HTTP 404", "pave catalog list --filter kind=component"],
    );
    let error = failed(
        &setup.pave(&["deploy", "orders", "--env", "nowhere", "--yes"]),
        "there is no environment `nowhere`",
    );
    assert!(error.contains("pave env list"), "{error}");
    failed(
        &setup.pave(&[
            "deploy",
            "orders",
            "--env",
            "dev",
            "--yes",
            "--revision",
            "nope",
        ]),
        "revision `nope`",
    );

    // No terminal and no --yes: the plan is shown, nothing is deployed.
    let unconfirmed = setup.pave(&["deploy", "orders", "--env", "dev"]);
    failed(
        &unconfirmed,
        "not deployed: standard input is not a terminal",
    );
    assert!(
        text(&unconfirmed.stdout).contains("Plan: deploy component:default/orders to dev"),
        "{}",
        text(&unconfirmed.stdout)
    );
    let unconfirmed = setup.pave(&["deploy", "orders", "--env", "dev", "-o", "json"]);
    failed(&unconfirmed, "run again with --yes");
    let plan: Value = serde_json::from_slice(&unconfirmed.stdout).expect("the plan as JSON");
    assert_eq!(plan["environment"], "dev");
    assert_eq!(plan["variables"]["main"]["GREETING"], "hi");
    let plan_only = succeeded(&setup.pave(&["deploy", "orders", "--env", "dev", "--plan-only"]));
    assert!(plan_only.contains("Changes\n  new: "), "{plan_only}");
    assert_eq!(setup.json(&["deployments"])["items"], Value::Array(vec![]));
    assert_eq!(succeeded(&setup.pave(&["deployments"])).trim(), "(none)");
    assert_eq!(setup.get("orders--dev.localhost").0, 404);

    failed(
        &setup.pave(&["rollback", "orders", "--env", "dev"]),
        "no earlier healthy deployment",
    );
    failed(
        &setup.pave(&["promote", "orders", "--from", "dev", "--to", "dev"]),
        "does not run in dev",
    );
    failed(
        &setup.pave(&["logs", "0190f3a2-7c4e-7a10-8b2c-3d4e5f6a7b8c"]),
        "there is no deployment",
    );
    failed(&setup.pave(&["logs", "abc"]), "is too short");
    failed(
        &setup.pave(&["deployments", "show", "5f6a7b8c"]),
        "there is no deployment `5f6a7b8c`",
    );
    failed(
        &setup.pave(&[
            "preview", "create", "orders", "--pr", "1", "--branch", "main", "--ttl", "3x",
        ]),
        "--ttl `3x`",
    );

    // Deleting needs --yes without a terminal.
    failed(
        &setup.pave(&["env", "delete", "dev"]),
        "not deleted: standard input is not a terminal",
    );
    succeeded(&setup.pave(&["env", "show", "dev"]));
    succeeded(&setup.pave(&["env", "delete", "dev", "--yes"]));
    assert_eq!(succeeded(&setup.pave(&["env", "list"])).trim(), "(none)");
}
