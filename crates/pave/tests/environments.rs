//! Environments end to end: a real `pave` process, a real git repository
//! with a Python service, real processes on the local runtime, real HTTP
//! through Pave's router, and signed webhooks.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::service::{Repository, SERVICE, through_router};
use common::{Server, crypto};
use hmac::{Hmac, KeyInit, Mac};
use pave_store::testing::TestDatabase;
use serde_json::{Value, json};

const SECRET: &str = "webhook-test-secret";

fn score(version: &str) -> String {
    common::service::score(version, "/", &[])
}

struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    fn new(server: &Server) -> Api {
        crypto();
        Api {
            http: reqwest::Client::new(),
            base: server.url.clone(),
            token: server.admin_token().expect("admin token"),
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Signs and sends a GitHub delivery.
    async fn github(
        &self,
        event: &str,
        delivery: &str,
        body: &Value,
        secret: &str,
    ) -> (u16, Value) {
        let bytes = body.to_string();
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("key");
        mac.update(bytes.as_bytes());
        let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        let response = self
            .http
            .post(format!("{}/api/v1/webhooks/github", self.base))
            .header("content-type", "application/json")
            .header("x-github-event", event)
            .header("x-github-delivery", delivery)
            .header("x-hub-signature-256", signature)
            .body(bytes)
            .send()
            .await
            .expect("webhook");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn setup(&self, repository: &Repository) {
        let (status, answer) = self
            .call(
                reqwest::Method::POST,
                "/api/catalog/locations",
                Some(json!({"type": "url", "target": repository.location()})),
            )
            .await;
        assert_eq!(status, 201, "{answer}");
        let (status, answer) = self
            .call(
                reqwest::Method::POST,
                "/api/v1/environments",
                Some(json!({"name": "dev", "config": {"GREETING": "hello"}})),
            )
            .await;
        assert_eq!(status, 201, "{answer}");
    }
}

/// Waits until `check` holds, or fails with `what` after `limit`.
async fn eventually<F: AsyncFnMut() -> bool>(limit: Duration, what: &str, mut check: F) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Processes whose working directory is a deployment checkout under `data`.
fn deployment_processes(data: &Path) -> Vec<u32> {
    let checkouts = data.join("deployments");
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/cwd"))
                .is_ok_and(|cwd| cwd.starts_with(&checkouts))
                && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .unwrap_or_default()
                    .contains(") Z ")
        })
        .collect()
}

fn pull_request(remote: &str, action: &str, number: u64, head: &str) -> Value {
    json!({
        "action": action,
        "number": number,
        "pull_request": {"number": number, "head": {"ref": "feature", "sha": head}, "base": {"ref": "main"}},
        "repository": {"clone_url": remote}
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn signed_webhooks_open_and_close_previews_and_bad_ones_change_nothing() {
    let directory = tempfile::tempdir().expect("tempdir");
    let database = TestDatabase::create().await.expect("database");
    let data = directory.path().join("data");
    let server = Server::start_with_env(
        &data,
        &database,
        &[],
        &[("PAVE_WEBHOOK_GITHUB_SECRET", SECRET)],
    );
    let api = Api::new(&server);
    let repository = Repository::new(directory.path(), SERVICE, &score("v1"));
    api.setup(&repository).await;
    let router = server.router_port();
    let head = repository.push_score("main", &score("pr"));

    // A bad signature and a bad payload are refused and create nothing.
    let opened = pull_request(&repository.remote(), "opened", 3, &head);
    let (status, answer) = api
        .github("pull_request", "delivery-1", &opened, "wrong-secret")
        .await;
    assert_eq!(status, 401, "{answer}");
    let mut broken = opened.clone();
    broken["pull_request"]["head"] = json!({"ref": "feature"});
    let (status, answer) = api
        .github("pull_request", "delivery-2", &broken, SECRET)
        .await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("/pull_request/head/sha"),
        "{answer}"
    );
    let (status, _) = api
        .call(reqwest::Method::GET, "/api/v1/environments/pr-3", None)
        .await;
    assert_eq!(status, 404);

    // A signed delivery makes the preview; it answers through the router.
    let started = Instant::now();
    let (status, answer) = api
        .github("pull_request", "delivery-3", &opened, SECRET)
        .await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["environment"], "pr-3");
    eventually(
        Duration::from_secs(30),
        "the preview to answer",
        async || {
            through_router(router, "orders--pr-3.localhost")
                .is_some_and(|(status, body)| status == 200 && body == "pr hello")
        },
    )
    .await;
    eprintln!("webhook to a healthy preview URL: {:?}", started.elapsed());
    let (_, environment) = api
        .call(reqwest::Method::GET, "/api/v1/environments/pr-3", None)
        .await;
    assert_eq!(environment["type"], "preview");
    assert_eq!(environment["parent"], "dev");
    assert_eq!(environment["source"]["headCommit"], head.as_str());
    assert_eq!(environment["deployments"][0]["status"], "Healthy");
    assert!(
        environment["urls"][0]
            .as_str()
            .unwrap_or("")
            .starts_with("http://orders--pr-3.localhost:")
    );

    // A replayed delivery is ignored.
    let (status, answer) = api
        .github("pull_request", "delivery-3", &opened, SECRET)
        .await;
    assert_eq!(status, 200, "{answer}");
    assert!(
        answer["ignored"]
            .as_str()
            .unwrap_or("")
            .contains("handled before"),
        "{answer}"
    );

    // Closing tears it down: no route, no process.
    let closed = pull_request(&repository.remote(), "closed", 3, &head);
    let (status, _) = api
        .github("pull_request", "delivery-4", &closed, SECRET)
        .await;
    assert_eq!(status, 202);
    eventually(
        Duration::from_secs(10),
        "the preview to be torn down",
        async || {
            api.call(reqwest::Method::GET, "/api/v1/environments/pr-3", None)
                .await
                .0
                == 404
        },
    )
    .await;
    assert_eq!(
        through_router(router, "orders--pr-3.localhost").map(|(status, _)| status),
        Some(404)
    );
    assert!(
        deployment_processes(&data).is_empty(),
        "a preview process survived"
    );

    // The audit log names the webhook's work.
    let (_, events) = api
        .call(
            reqwest::Method::GET,
            "/api/v1/audit?principal=service:github-webhook",
            None,
        )
        .await;
    let actions: Vec<&str> = events["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|event| event["action"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        actions.contains(&"preview.create") && actions.contains(&"environment.delete"),
        "{actions:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_pave_comes_back_to_the_same_processes_and_reaps_expired_previews() {
    let directory = tempfile::tempdir().expect("tempdir");
    let database = TestDatabase::create().await.expect("database");
    let data = directory.path().join("data");
    let mut server = Server::start(&data, &database);
    let api = Api::new(&server);
    let repository = Repository::new(directory.path(), SERVICE, &score("v1"));
    api.setup(&repository).await;
    let (status, deployment) = api
        .call(
            reqwest::Method::POST,
            "/api/v1/deployments",
            Some(json!({"component": "orders", "environment": "dev"})),
        )
        .await;
    assert_eq!(status, 201, "{deployment}");
    assert_eq!(deployment["status"], "Healthy", "{deployment}");
    assert!(
        deployment["resolved"].get("instance").is_none(),
        "the API leaks the runtime instance"
    );
    // Its logs can be followed: the tail arrives as server-sent events.
    let mut stream = api
        .http
        .get(format!(
            "{}/api/v1/deployments/{}/logs?follow=true",
            api.base,
            deployment["id"].as_str().unwrap_or_default()
        ))
        .bearer_auth(&api.token)
        .send()
        .await
        .expect("follow");
    assert_eq!(
        stream.headers()["content-type"].to_str().unwrap_or(""),
        "text/event-stream"
    );
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !seen.contains("starting on") && Instant::now() < deadline {
        if let Ok(Ok(Some(chunk))) =
            tokio::time::timeout(Duration::from_secs(10), stream.chunk()).await
        {
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
    assert!(
        seen.contains("event: line") && seen.contains("starting on"),
        "{seen}"
    );
    drop(stream);
    // A preview that expires while Pave is down.
    let (status, preview) = api
        .call(
            reqwest::Method::POST,
            "/api/v1/previews",
            Some(
                json!({"component": "orders", "pullRequest": 9, "branch": "main", "ttlSeconds": 2}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{preview}");
    let before = deployment_processes(&data);
    assert_eq!(
        before.len(),
        2,
        "dev and pr-9 each run one process: {before:?}"
    );

    // kill -9: the processes keep running.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.child.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill");
    server.wait();
    assert_eq!(deployment_processes(&data).len(), 2);
    tokio::time::sleep(Duration::from_millis(2500)).await;

    // The restart adopts dev's process, reaps the expired preview, and
    // starts nothing twice.
    let token = api.token.clone();
    let mut restarted = Server::start(&data, &database);
    let api = Api {
        base: restarted.url.clone(),
        token,
        http: reqwest::Client::new(),
    };
    let router = restarted.router_port();
    assert_eq!(
        through_router(router, "orders--dev.localhost"),
        Some((200, "v1 hello".to_string()))
    );
    let after = deployment_processes(&data);
    assert_eq!(
        after,
        before
            .iter()
            .copied()
            .filter(|pid| after.contains(pid))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        after.len(),
        1,
        "expected only dev's adopted process: {after:?}"
    );
    assert!(
        before.contains(&after[0]),
        "dev's process was started again instead of adopted"
    );
    let (status, _) = api
        .call(reqwest::Method::GET, "/api/v1/environments/pr-9", None)
        .await;
    assert_eq!(status, 404, "the expired preview survived the restart");

    // A graceful stop leaves no process behind.
    assert!(restarted.terminate().success());
    assert!(
        deployment_processes(&data).is_empty(),
        "a process outlived pave"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_pave_up_serves_the_demo_within_seconds() {
    if TestDatabase::backend() != pave_store::Backend::Sqlite {
        // The demo is for `pave up`; the PostgreSQL run uses `pave serve`.
        return;
    }
    let directory = tempfile::tempdir().expect("tempdir");
    let data = directory.path().join("data");
    let database = TestDatabase::create().await.expect("database");
    let started = Instant::now();
    let mut server = Server::start_with_env(&data, &database, &[], &[("PAVE_DEMO", "true")]);
    assert!(
        server
            .stdout
            .iter()
            .any(|line| line.contains("demo") && line.contains("hello--dev.localhost")),
        "{:?}",
        server.stdout
    );
    let router = server.router_port();
    eventually(Duration::from_secs(30), "the demo to answer", async || {
        through_router(router, "hello--dev.localhost")
            .is_some_and(|(status, body)| status == 200 && body.contains("\"service\": \"hello\""))
    })
    .await;
    eprintln!("pave up to a live demo URL: {:?}", started.elapsed());
    assert!(data.join("repositories/demo/hello.git").is_dir());
    assert!(server.terminate().success());
    assert!(deployment_processes(&data).is_empty());
}
