//! The `pave` binary as people use it: real processes, real HTTP on
//! 127.0.0.1, SQLite or PostgreSQL (`PAVE_TEST_DATABASE_URL`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use pave_store::Backend;
use pave_store::testing::TestDatabase;
use serde_json::Value;

mod common;
use common::{BINARY, Server, http_get, text};

/// Runs a CLI command against `server` with its own config directory.
fn pave(config_dir: &Path, args: &[&str]) -> Output {
    Command::new(BINARY)
        .args(args)
        .env("PAVE_CONFIG_DIR", config_dir)
        .env_remove("PAVE_SERVER")
        .env_remove("PAVE_TOKEN")
        .output()
        .expect("run pave")
}

fn assert_one_line_error(output: &Output, expected: &str) {
    let stderr = text(&output.stderr);
    assert!(
        !output.status.success(),
        "expected failure, got: {}",
        text(&output.stdout)
    );
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(
        stderr.contains(expected),
        "expected `{expected}` in: {stderr}"
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{stderr}"
    );
}

fn temporary() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_token_is_printed_on_the_first_start_only() {
    let directory = temporary();
    let database = TestDatabase::create().await.unwrap();
    let data_dir = directory.path().join("data");
    let mut first = Server::start(&data_dir, &database);
    let token = first
        .admin_token()
        .expect("the first start prints the admin token");
    assert!(token.starts_with("pave_"));
    let (status, body) = http_get(&first.address(), "/healthz").unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("\"ok\""));
    assert!(first.terminate().success());

    let mut second = Server::start(&data_dir, &database);
    assert_eq!(
        second.admin_token(),
        None,
        "later starts never print it: {:?}",
        second.stdout
    );
    assert!(!second.stdout.join("\n").contains(&token));
    // The first token still works.
    let config = temporary();
    let output = pave(
        config.path(),
        &["--server", &second.url, "--token", &token, "whoami"],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("user:default/admin"));
    assert!(second.terminate().success());
    if TestDatabase::backend() == Backend::Sqlite {
        let mode = std::fs::metadata(&data_dir).unwrap();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
            0o700
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_lets_requests_in_flight_finish_and_closes_the_database() {
    let directory = temporary();
    let database = TestDatabase::create().await.unwrap();
    let data_dir = directory.path().join("data");
    let mut server = Server::start(&data_dir, &database);
    let token = server.admin_token().unwrap();

    // A request whose body is still arriving when the signal comes.
    let body = r#"{"source": "permit (principal, action, resource);"}"#;
    let mut stream = TcpStream::connect(server.address()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "POST /api/v1/policies/validate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        body.len(),
        &body[..10]
    )
    .unwrap();
    stream.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "pave waits for the request in flight"
    );
    stream.write_all(&body.as_bytes()[10..]).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"valid\":true"), "{response}");

    let status = server.wait();
    assert!(status.success(), "a clean stop exits 0: {status:?}");
    assert!(
        TcpStream::connect(server.address()).is_err(),
        "nothing listens after the stop"
    );
    if TestDatabase::backend() == Backend::Sqlite {
        // SQLite folds its write-ahead log back in when the last connection closes cleanly.
        let wal = data_dir.join("pave.db-wal");
        assert!(
            !wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0,
            "the database was closed cleanly"
        );
    }
}

#[test]
fn bad_configuration_stops_start_up_with_the_file_and_line() {
    let directory = temporary();
    let config = directory.path().join("pave.yaml");
    let cases = [
        (
            "listen: 127.0.0.1:0\ndatabase:\n  ulr: sqlite://x.db\n",
            "pave.yaml: line 3 column 3: unknown field `ulr`",
        ),
        (
            "listen: 127.0.0.1:0\ndatabase:\n  maxConnections: lots\n",
            "pave.yaml: line 3 column 19: invalid u32",
        ),
        (
            "listen: everywhere\n",
            "pave.yaml: line 1 column 9: invalid socket address",
        ),
        ("log:\n  format: xml\n", "pave.yaml: line 2 column 11"),
    ];
    for (contents, expected) in cases {
        std::fs::write(&config, contents).unwrap();
        let output = Command::new(BINARY)
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .env("PAVE_DATA_DIR", directory.path().join("data"))
            .env_remove("PAVE_DATABASE_URL")
            .output()
            .unwrap();
        assert_one_line_error(&output, expected);
        assert_eq!(
            text(&output.stderr).lines().count(),
            1,
            "{}",
            text(&output.stderr)
        );
        assert!(text(&output.stdout).is_empty(), "nothing starts");
    }
    let output = Command::new(BINARY)
        .args(["serve", "--config"])
        .arg(directory.path().join("missing.yaml"))
        .output()
        .unwrap();
    assert_one_line_error(&output, "missing.yaml");
    let output = Command::new(BINARY)
        .args(["serve"])
        .env("PAVE_DATA_DIR", directory.path().join("data"))
        .env("PAVE_DATABASE_MAX_CONNECTIONS", "several")
        .output()
        .unwrap();
    assert_one_line_error(&output, "PAVE_DATABASE_MAX_CONNECTIONS=`several`");
}

#[test]
fn an_unreachable_database_stops_start_up_and_names_it() {
    let directory = temporary();
    let started = Instant::now();
    let output = Command::new(BINARY)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("PAVE_ROUTER_LISTEN", "127.0.0.1:0")
        .env("PAVE_DATA_DIR", directory.path())
        .env(
            "PAVE_DATABASE_URL",
            "postgres://pave:hunter2@127.0.0.1:1/pave",
        )
        .output()
        .unwrap();
    assert_one_line_error(
        &output,
        "cannot connect to the database at `postgres://pave:***@127.0.0.1:1/pave`",
    );
    assert!(
        !text(&output.stderr).contains("hunter2"),
        "passwords never reach messages"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_taken_port_is_reported_before_anything_is_written() {
    let directory = temporary();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let output = Command::new(BINARY)
        .args(["up", "--listen", &address, "--data-dir"])
        .arg(directory.path().join("data"))
        .output()
        .unwrap();
    assert_one_line_error(&output, &format!("cannot listen on {address}"));
    assert!(
        !directory.path().join("data").exists(),
        "no data dir, so no bootstrap token was lost"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_manages_tokens_policies_and_the_audit_log() {
    let directory = temporary();
    let database = TestDatabase::create().await.unwrap();
    let server = Server::start(&directory.path().join("data"), &database);
    let admin = server.admin_token().unwrap();
    let config: PathBuf = directory.path().join("config");

    let output = pave(
        &config,
        &["login", "--server", &server.url, "--token", &admin],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("as user:default/admin"));
    let saved = config.join("credentials.json");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&saved).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "the saved token is private");

    let output = pave(&config, &["whoami", "--output", "yaml"]);
    assert!(
        text(&output.stdout).contains("principal: user:default/admin"),
        "{}",
        text(&output.stdout)
    );

    // Tokens.
    let output = pave(
        &config,
        &[
            "token",
            "create",
            "--name",
            "ci",
            "--principal",
            "service:ci",
            "--group",
            "group:default/deployers",
            "--expires-in",
            "7d",
            "-o",
            "json",
        ],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let issued: Value = serde_json::from_slice(&output.stdout).unwrap();
    let ci_token = issued["token"].as_str().unwrap().to_string();
    let ci_id = issued["id"].as_str().unwrap().to_string();
    let output = pave(&config, &["token", "list"]);
    let listed = text(&output.stdout);
    assert!(
        listed.contains(&ci_id) && listed.contains("service:ci"),
        "{listed}"
    );
    assert!(!listed.contains(&ci_token));
    let output = pave(&config, &["--token", &ci_token, "whoami"]);
    assert!(text(&output.stdout).contains("group:default/deployers"));
    let output = pave(&config, &["token", "revoke", &ci_id]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let output = pave(&config, &["--token", &ci_token, "whoami"]);
    assert_one_line_error(&output, "was revoked");
    let output = pave(
        &config,
        &["token", "create", "--name", "x", "--expires-in", "whenever"],
    );
    assert_one_line_error(&output, "expiresIn");

    // Policies: decisions name the policies that made them.
    let output = pave(
        &config,
        &[
            "policy",
            "check",
            "--principal",
            "user:alice",
            "--action",
            "token.create",
        ],
    );
    assert!(
        text(&output.stdout).starts_with("DENY"),
        "{}",
        text(&output.stdout)
    );
    let output = pave(
        &config,
        &[
            "policy",
            "check",
            "--principal",
            "user:alice",
            "--group",
            "admins",
            "--action",
            "token.create",
        ],
    );
    let stdout = text(&output.stdout);
    assert!(
        stdout.starts_with("ALLOW") && stdout.contains("admins-may-do-everything"),
        "{stdout}"
    );

    let policies = directory.path().join("team.cedar");
    std::fs::write(
        &policies,
        "@id(\"deployers-read\")\npermit (principal in Pave::Group::\"default/deployers\", action in Pave::Action::\"read\", resource);\n",
    )
    .unwrap();
    let output = pave(
        &config,
        &[
            "policy",
            "check",
            "--policies",
            policies.to_str().unwrap(),
            "--principal",
            "service:ci",
            "--group",
            "deployers",
            "--action",
            "audit.read",
        ],
    );
    assert!(
        text(&output.stdout).contains("deployers-read"),
        "offline check: {}",
        text(&output.stdout)
    );

    let broken = directory.path().join("broken.cedar");
    std::fs::write(&broken, "permit (principal, action, resource);\npermit (principal in Pave::Gruop::\"x\", action, resource);\n").unwrap();
    let output = pave(&config, &["policy", "validate", broken.to_str().unwrap()]);
    assert_one_line_error(&output, "broken.cedar:2:");
    let before: Value =
        serde_json::from_slice(&pave(&config, &["policy", "get", "-o", "json"]).stdout).unwrap();
    let output = pave(&config, &["policy", "set", broken.to_str().unwrap()]);
    assert_one_line_error(&output, "InvalidPolicyError");
    assert!(text(&output.stderr).contains("Gruop"));
    let after: Value =
        serde_json::from_slice(&pave(&config, &["policy", "get", "-o", "json"]).stdout).unwrap();
    assert_eq!(before["version"], after["version"], "the old policies stay");
    // A set that would stop the admin from changing policies is refused...
    let output = pave(
        &config,
        &[
            "policy",
            "set",
            policies.to_str().unwrap(),
            "--expected-version",
            "1",
        ],
    );
    assert_one_line_error(
        &output,
        "would stop user:default/admin from changing policies again",
    );
    // ...unless it keeps a way back in.
    let mut source = std::fs::read_to_string(&policies).unwrap();
    source.push_str("@id(\"admins\")\npermit (principal in Pave::Group::\"default/admins\", action, resource);\n");
    std::fs::write(&policies, source).unwrap();
    let output = pave(
        &config,
        &[
            "policy",
            "set",
            policies.to_str().unwrap(),
            "--expected-version",
            "1",
        ],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let output = pave(
        &config,
        &[
            "policy",
            "set",
            policies.to_str().unwrap(),
            "--expected-version",
            "1",
        ],
    );
    assert_one_line_error(&output, "ConflictError, HTTP 409");

    // The audit log: intact, then tampered with directly in the database.
    let output = pave(&config, &["audit", "list", "--action", "token.revoke"]);
    assert!(
        text(&output.stdout).contains(&format!("token:{ci_id}")),
        "{}",
        text(&output.stdout)
    );
    let output = pave(&config, &["audit", "verify"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("intact"));
    let store = pave_store::Store::connect(&server.database_url, &Default::default())
        .await
        .unwrap();
    pave_store::query(
        "UPDATE audit_events SET outcome = 'success', action = 'nothing.happened' WHERE seq = 3",
    )
    .execute(store.pool())
    .await
    .unwrap();
    let output = pave(&config, &["audit", "verify"]);
    assert_one_line_error(&output, "event 3");
    pave_store::query("DELETE FROM audit_events WHERE seq = 2")
        .execute(store.pool())
        .await
        .unwrap();
    let output = pave(&config, &["audit", "verify"]);
    assert_one_line_error(&output, "event 2 was removed");
    store.close().await;

    let output = pave(&config, &["logout"]);
    assert!(output.status.success());
    assert!(!saved.exists());
    let output = pave(&config, &["--server", &server.url, "whoami"]);
    assert_one_line_error(&output, "no token");
}

#[test]
fn client_errors_are_one_clear_line() {
    let config = temporary();
    let output = pave(
        config.path(),
        &[
            "--server",
            "http://127.0.0.1:1",
            "--token",
            "pave_x",
            "token",
            "list",
        ],
    );
    assert_one_line_error(&output, "cannot reach Pave at http://127.0.0.1:1");
    assert_eq!(text(&output.stderr).lines().count(), 1);
    let output = pave(
        config.path(),
        &["--server", "ftp://x", "--token", "t", "whoami"],
    );
    assert_one_line_error(&output, "must start with http://");
    let output = pave(
        config.path(),
        &[
            "policy",
            "check",
            "--policies",
            "/nonexistent.cedar",
            "--principal",
            "user:a",
            "--action",
            "x",
        ],
    );
    assert_one_line_error(&output, "/nonexistent.cedar");
}

#[test]
fn completions_are_printed_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let output = Command::new(BINARY)
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(output.status.success());
        let script = text(&output.stdout);
        assert!(
            script.contains("pave") && script.contains("token"),
            "{shell}"
        );
    }
}

#[test]
fn serve_logs_json_lines_that_carry_the_request_id() {
    let directory = temporary();
    let mut child = Command::new(BINARY)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("PAVE_ROUTER_LISTEN", "127.0.0.1:0")
        .env("PAVE_DATA_DIR", directory.path())
        .env_remove("PAVE_DATABASE_URL")
        .env_remove("PAVE_LOG_FORMAT")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let address = first
        .trim()
        .trim_start_matches("Pave is up at http://")
        .to_string();
    let mut stream = TcpStream::connect(&address).unwrap();
    write!(stream, "GET /api/v1/tokens HTTP/1.1\r\nHost: x\r\nx-request-id: find-me-42\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 401"), "{response}");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let lines: Vec<Value> = text(&output.stderr)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    let served = lines
        .iter()
        .find(|line| line["span"]["request_id"] == "find-me-42")
        .expect("the request's log line carries its id");
    assert_eq!(served["status"], 401);
    assert!(
        lines
            .iter()
            .any(|line| line["message"] == "stopped; the database is closed")
    );
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus/backstage")
        .canonicalize()
        .unwrap()
}

#[test]
fn catalog_validate_works_offline_and_points_at_file_line_and_column() {
    let config = temporary();
    let good = corpus().join("catalog-model-examples/acme-corp.yaml");
    let output = pave(
        config.path(),
        &["catalog", "validate", good.to_str().unwrap()],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("entities, all valid"));

    let bad = corpus().join("legacy/catalog-model-examples/components/invalid-component.yaml");
    let output = pave(
        config.path(),
        &[
            "catalog",
            "validate",
            good.to_str().unwrap(),
            bad.to_str().unwrap(),
        ],
    );
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    let path = bad.display().to_string();
    assert!(
        stderr
            .lines()
            .any(|line| line.starts_with(&format!("{path}:")) && line.contains("metadata.name")),
        "{stderr}"
    );
    assert!(
        stderr.lines().any(|line| line.contains("metadata.tags")),
        "{stderr}"
    );
    let located = stderr
        .lines()
        .find(|line| line.starts_with(&format!("{path}:")))
        .unwrap()
        .trim_start_matches(&format!("{path}:"))
        .split(':')
        .take(2)
        .map(|n| n.parse::<u32>().is_ok())
        .collect::<Vec<_>>();
    assert_eq!(located, vec![true, true], "line and column: {stderr}");

    let directory = temporary();
    let broken = directory.path().join("catalog-info.yaml");
    std::fs::write(
        &broken,
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: [unclosed\n",
    )
    .unwrap();
    let output = pave(
        config.path(),
        &["catalog", "validate", broken.to_str().unwrap()],
    );
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("catalog-info.yaml:4:"),
        "{}",
        text(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_registers_lists_and_reads_the_catalog() {
    let directory = temporary();
    let database = TestDatabase::create().await.unwrap();
    let server = Server::start(&directory.path().join("data"), &database);
    let admin = server.admin_token().unwrap();
    let config = directory.path().join("config");
    assert!(
        pave(
            &config,
            &["login", "--server", &server.url, "--token", &admin]
        )
        .status
        .success()
    );

    let examples = corpus().join("catalog-model-examples");
    let output = pave(
        &config,
        &[
            "catalog",
            "register",
            examples.join("acme-corp.yaml").to_str().unwrap(),
            "--dry-run",
        ],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).starts_with("Would register"));
    let output = pave(
        &config,
        &[
            "catalog",
            "register",
            examples.join("acme-corp.yaml").to_str().unwrap(),
        ],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));

    let output = pave(
        &config,
        &["catalog", "list", "--filter", "kind=group", "-o", "json"],
    );
    let page: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(page["totalItems"], 8);
    let output = pave(&config, &["catalog", "get", "group:team-a"]);
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("group:default/team-a") && stdout.contains("hasMember"),
        "{stdout}"
    );
    let output = pave(&config, &["catalog", "search", "breanna"]);
    assert!(
        text(&output.stdout).contains("user:default/breanna.davison"),
        "{}",
        text(&output.stdout)
    );
    let output = pave(&config, &["catalog", "refresh", "user:breanna.davison"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let output = pave(&config, &["catalog", "get", "component:nope"]);
    assert_one_line_error(&output, "NotFoundError, HTTP 404");

    let output = pave(&config, &["catalog", "locations", "-o", "json"]);
    let locations: Value = serde_json::from_slice(&output.stdout).unwrap();
    // The golden paths are registered too; unregister the one added here.
    let id = locations
        .as_array()
        .unwrap()
        .iter()
        .find(|location| {
            location["data"]["target"]
                .as_str()
                .is_some_and(|target| target.ends_with("acme-corp.yaml"))
        })
        .and_then(|location| location["data"]["id"].as_str())
        .unwrap()
        .to_string();
    let output = pave(&config, &["catalog", "unregister", &id]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let output = pave(
        &config,
        &["catalog", "list", "--filter", "kind=group", "-o", "json"],
    );
    let page: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(page["totalItems"], 0);
}
