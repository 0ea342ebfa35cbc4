//! The HTTP API over real HTTP on 127.0.0.1, against SQLite or PostgreSQL
//! (`PAVE_TEST_DATABASE_URL`, see `scripts/test`).

use std::sync::Arc;

use pave_access::{Access, Actor, AuditFilter, GroupRef, NewToken, Outcome, PrincipalRef};
use pave_catalog::{Catalog, CatalogConfig};
use pave_scaffold::tasks::{Scaffolder, ScaffolderConfig};
use pave_server::ServerOptions;
use pave_server::routes::{DECLARED, PUBLIC};
use pave_store::testing::TestDatabase;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

struct TestServer {
    base: String,
    admin: String,
    access: Arc<Access>,
    http: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    _database: TestDatabase,
}

impl TestServer {
    async fn start() -> TestServer {
        TestServer::start_with(ServerOptions::default()).await
    }

    async fn start_with(options: ServerOptions) -> TestServer {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let database = TestDatabase::create().await.unwrap();
        let store = database.open().await.unwrap();
        let access = Arc::new(Access::open(store.clone()).await.unwrap());
        let catalog = test_catalog(store.clone());
        let engines = test_engines(store, &catalog);
        let admin = access.bootstrap().await.unwrap().unwrap().token;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = Arc::clone(&access);
        let task = tokio::spawn(async move {
            let listeners = pave_server::Listeners {
                api: listener,
                router: None,
            };
            pave_server::serve(listeners, served, engines, options, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        TestServer {
            base,
            admin,
            access,
            http: reqwest::Client::new(),
            stop: Some(stop),
            task: Some(task),
            _database: database,
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn token_for(&self, principal: &str, groups: &[&str]) -> (String, String) {
        let issued = self
            .access
            .create_token(
                NewToken {
                    name: format!("test {principal}"),
                    principal: PrincipalRef::parse(principal).unwrap(),
                    groups: groups.iter().map(|g| GroupRef::parse(g).unwrap()).collect(),
                    expires_at: None,
                },
                &Actor {
                    principal: "user:default/admin".into(),
                    request_id: None,
                },
            )
            .await
            .unwrap();
        (issued.token, issued.record.id)
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }
}

fn test_catalog(store: pave_store::Store) -> Arc<Catalog> {
    Arc::new(Catalog::new(
        store,
        CatalogConfig::quiet(std::env::temp_dir().join("pave-test-git")),
    ))
}

fn test_engines(store: pave_store::Store, catalog: &Arc<Catalog>) -> pave_server::Engines {
    let data = std::env::temp_dir().join(format!("pave-test-data-{}", uuid::Uuid::new_v4()));
    let routes = pave_server::router::RoutingTable::new();
    let runtime =
        pave_runtime::LocalRuntime::new(data.join("runtime"), Default::default()).unwrap();
    pave_server::Engines {
        catalog: Arc::clone(catalog),
        scaffolder: Scaffolder::new(
            store.clone(),
            Arc::clone(catalog),
            ScaffolderConfig::under(&data),
        ),
        deployer: pave_deploy::Deployer::new(
            store,
            Arc::clone(catalog),
            Arc::new(runtime),
            Arc::new(routes.clone()),
            pave_deploy::DeployConfig::under(&data, 7080),
        ),
        routes,
        webhooks: Arc::new(pave_server::WebhookSettings {
            github_secret: Some("test-github-secret".into()),
            gitlab_token: Some("test-gitlab-token".into()),
            preview_base: "dev".into(),
            preview_ttl_seconds: 3600,
        }),
    }
}

/// A real path for a route template.
fn concrete(path: &str, token_id: &str) -> String {
    path.replace("{id}", token_id)
        .replace("{uid}", "00000000-0000-0000-0000-000000000000")
        .replace("{kind}", "component")
        .replace("{namespace}", "default")
        .replace("{name}", "x")
        .replace("/entity-facets", "/entity-facets?facet=kind")
        .replace("/api/v1/search", "/api/v1/search?term=x")
}

fn method(name: &str) -> Method {
    Method::from_bytes(name.as_bytes()).unwrap()
}

/// A body that passes extraction, so the gate (not a 4xx from parsing) answers.
fn body_for(method: &Method, path: &str) -> Option<Value> {
    match (method.as_str(), path) {
        ("POST", "/api/v1/tokens") => Some(json!({"name": "x"})),
        ("PUT", "/api/v1/policies") | ("POST", "/api/v1/policies/validate") => {
            Some(json!({"source": "permit (principal, action, resource);"}))
        }
        ("POST", "/api/v1/policies/check") => {
            Some(json!({"principal": "user:a", "action": "token.list", "resource": "platform"}))
        }
        ("POST", "/api/catalog/entities/by-refs") => Some(json!({"entityRefs": []})),
        ("POST", "/api/catalog/locations") => {
            Some(json!({"type": "file", "target": "/nonexistent.yaml"}))
        }
        ("POST", "/api/catalog/refresh") => Some(json!({"entityRef": "component:default/x"})),
        ("POST", "/api/catalog/validate-entity") => Some(json!({"entity": {}})),
        ("POST", "/api/scaffolder/v2/tasks") => Some(json!({"templateRef": "template:default/x"})),
        ("POST", "/api/scaffolder/v2/dry-run") => Some(json!({"template": {}})),
        ("POST", "/api/v1/environments") => Some(json!({"name": "x"})),
        ("POST", "/api/v1/deployments") | ("POST", "/api/v1/deployments/plan") => {
            Some(json!({"component": "x", "environment": "dev"}))
        }
        ("POST", "/api/v1/deployments/rollback") => {
            Some(json!({"component": "x", "environment": "dev"}))
        }
        ("POST", "/api/v1/deployments/promote") => {
            Some(json!({"component": "x", "from": "dev", "to": "staging"}))
        }
        ("POST", "/api/v1/previews") => {
            Some(json!({"component": "x", "pullRequest": 1, "branch": "b"}))
        }
        _ => None,
    }
}

#[tokio::test]
async fn every_route_declares_an_action_or_is_public() {
    let database = TestDatabase::create().await.unwrap();
    let store = database.open().await.unwrap();
    let access = Arc::new(Access::open(store.clone()).await.unwrap());
    let catalog = test_catalog(store.clone());
    let engines = test_engines(store, &catalog);
    let (_, state) = pave_server::app(access, engines, &ServerOptions::default()).unwrap();
    let document: Value = serde_json::from_str(&state.openapi).unwrap();
    let mut described = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            described.push((method.to_uppercase(), path.clone()));
        }
    }
    assert!(described.len() >= DECLARED.len() + PUBLIC.len());
    for (method, path) in &described {
        let declared = DECLARED.iter().any(|(m, p, _)| m == method && p == path);
        let public = PUBLIC.iter().any(|(m, p)| m == method && p == path);
        assert!(
            declared ^ public,
            "{method} {path} must be in exactly one of routes::DECLARED (with its action) or routes::PUBLIC"
        );
    }
    for (method, path, _) in DECLARED {
        assert!(
            described.iter().any(|(m, p)| m == method && p == path),
            "{method} {path} is declared but not served"
        );
    }
    // Every declared route is described as needing a bearer token.
    for (method, path, _) in DECLARED {
        let operation = &document["paths"][path][method.to_lowercase()];
        assert_ne!(operation["security"], json!([]), "{method} {path}");
    }
}

#[tokio::test]
async fn without_a_token_every_api_route_is_401_and_audited() {
    let server = TestServer::start().await;
    let (_, token_id) = server.token_for("user:alice", &[]).await;
    for (name, path, action) in DECLARED {
        let method = method(name);
        let body = body_for(&method, path);
        let (status, answer) = server
            .call(method.clone(), &concrete(path, &token_id), None, body)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name} {path}: {answer}");
        assert_eq!(answer["error"]["name"], "AuthenticationError");
        let (status, _) = server
            .call(
                method,
                &concrete(path, &token_id),
                Some("pave_0000000000000000_nope"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let events = server
            .access
            .audit(&AuditFilter {
                action: Some(action.name().into()),
                outcome: Some("unauthenticated".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(
            events.items.len() >= 2,
            "{name} {path} refusals are audited"
        );
    }
    for (name, path) in PUBLIC {
        let (status, answer) = server.call(method(name), path, None, None).await;
        if path.contains("/webhooks/") {
            // No token, but no valid signature either.
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{name} {path}: {answer}");
        } else {
            assert_eq!(status, StatusCode::OK, "{name} {path} is public");
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn a_principal_no_policy_allows_gets_403_on_every_route_and_it_is_audited() {
    let server = TestServer::start().await;
    // Only admins may act: everyone else is denied everything.
    let (status, answer) = server
        .call(
            Method::PUT,
            "/api/v1/policies",
            Some(&server.admin),
            Some(json!({"source": pave_access::policy_store::EMERGENCY_POLICIES})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (nobody, token_id) = server.token_for("service:nobody", &[]).await;
    // Routes on one environment are decided on a real one (an unknown
    // environment is a 404 before any decision).
    let (status, answer) = server
        .call(
            Method::POST,
            "/api/v1/environments",
            Some(&server.admin),
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    for (name, path, action) in DECLARED {
        let method = method(name);
        let body = body_for(&method, path);
        let (status, answer) = server
            .call(method, &concrete(path, &token_id), Some(&nobody), body)
            .await;
        if action.applies_to_entities() {
            // Decided per entity: nothing readable is shown, nothing changes.
            let shows_nothing = answer == json!([])
                || answer["items"] == json!([])
                || answer["items"] == json!([null])
                || answer["facets"].is_object();
            assert!(
                status == StatusCode::NOT_FOUND || (status == StatusCode::OK && shows_nothing),
                "{name} {path}: {status} {answer}"
            );
            continue;
        }
        assert_eq!(status, StatusCode::FORBIDDEN, "{name} {path}: {answer}");
        assert_eq!(answer["error"]["name"], "NotAllowedError");
        let denied = server
            .access
            .audit(&AuditFilter {
                principal: Some("service:nobody".into()),
                action: Some(action.name().into()),
                outcome: Some("denied".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        let route = format!("{name} {path}");
        let for_route = denied
            .items
            .iter()
            .filter(|event| event.detail["route"] == route.as_str())
            .count();
        assert_eq!(for_route, 1, "{route} denial is audited");
    }
    server.stop().await;
}

#[tokio::test]
async fn default_policies_let_signed_in_users_read_but_not_write() {
    let server = TestServer::start().await;
    let (alice, _) = server.token_for("user:alice", &["team-a"]).await;
    let (status, me) = server
        .call(Method::GET, "/api/v1/whoami", Some(&alice), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["principal"], "user:default/alice");
    assert_eq!(me["groups"], json!(["group:default/team-a"]));
    let (status, _) = server
        .call(Method::GET, "/api/v1/tokens", Some(&alice), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, answer) = server
        .call(
            Method::POST,
            "/api/v1/tokens",
            Some(&alice),
            Some(json!({"name": "mine"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("token.create")
    );
    server.stop().await;
}

#[tokio::test]
async fn tokens_are_shown_once_and_revocation_is_immediate() {
    let server = TestServer::start().await;
    let (status, issued) = server
        .call(
            Method::POST,
            "/api/v1/tokens",
            Some(&server.admin),
            Some(json!({"name": "ci", "principal": "service:ci", "groups": ["group:default/admins"], "expiresIn": "30d"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let secret = issued["token"].as_str().unwrap().to_string();
    let id = issued["id"].as_str().unwrap().to_string();
    assert!(issued["expiresAt"].as_str().is_some());

    let (_, listed) = server
        .call(Method::GET, "/api/v1/tokens", Some(&server.admin), None)
        .await;
    assert!(
        !listed.to_string().contains(&secret),
        "lists never carry secrets"
    );
    assert!(
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == id.as_str())
    );

    let (status, _) = server
        .call(Method::GET, "/api/v1/whoami", Some(&secret), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, revoked) = server
        .call(
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            Some(&server.admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(revoked["status"], "revoked");
    let (status, answer) = server
        .call(Method::GET, "/api/v1/whoami", Some(&secret), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("revoked")
    );

    let (status, _) = server
        .call(
            Method::GET,
            "/api/v1/tokens/ffffffffffffffff",
            Some(&server.admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let created = server
        .access
        .audit(&AuditFilter {
            action: Some("token.create".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        created
            .items
            .iter()
            .any(|e| e.resource == format!("token:{id}") && e.outcome == Outcome::Success.as_str())
    );
    server.stop().await;
}

#[tokio::test]
async fn bad_token_requests_say_what_is_wrong_and_create_nothing() {
    let server = TestServer::start().await;
    let before = server.access.list_tokens(true).await.unwrap().len();
    for (body, expected) in [
        (json!({"name": "x", "principal": "robot:x"}), "principal"),
        (json!({"name": "x", "groups": ["g"]}), "groups"),
        (json!({"name": "x", "expiresIn": "soon"}), "expiresIn"),
        (
            json!({"name": "x", "expiresAt": "2001-01-01T00:00:00Z"}),
            "expiresAt",
        ),
        (
            json!({"name": "x", "expiresIn": "1d", "expiresAt": "2999-01-01T00:00:00Z"}),
            "either",
        ),
        (json!({"name": ""}), "name"),
        (json!({"nmae": "x"}), "unknown field"),
        (json!({"name": 5}), "invalid type"),
    ] {
        let (status, answer) = server
            .call(
                Method::POST,
                "/api/v1/tokens",
                Some(&server.admin),
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(expected), "{body}: {message}");
    }
    assert_eq!(server.access.list_tokens(true).await.unwrap().len(), before);
    // Failed changes are audited as failed.
    let failed = server
        .access
        .audit(&AuditFilter {
            outcome: Some("failed".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(failed.items.len(), 8);
    server.stop().await;
}

#[tokio::test]
async fn invalid_policies_are_refused_with_diagnostics_and_stale_writes_conflict() {
    let server = TestServer::start().await;
    let admin = Some(server.admin.as_str());
    let (_, current) = server
        .call(Method::GET, "/api/v1/policies", admin, None)
        .await;
    let version = current["version"].as_i64().unwrap();

    let (status, answer) = server
        .call(
            Method::PUT,
            "/api/v1/policies",
            admin,
            Some(json!({"source": "permit (principal, action, resource);\nforbid (principal in Pave::Gruop::\"x\", action, resource);"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["error"]["name"], "InvalidPolicyError");
    assert_eq!(answer["error"]["diagnostics"][0]["line"], 2);
    let (_, after) = server
        .call(Method::GET, "/api/v1/policies", admin, None)
        .await;
    assert_eq!(after["version"], version);
    assert_eq!(after["source"], current["source"]);

    let (status, answer) = server
        .call(
            Method::PUT,
            "/api/v1/policies",
            admin,
            Some(json!({"source": "permit (principal", "version": version})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(answer["error"]["diagnostics"][0]["column"].is_number());

    let source = current["source"].as_str().unwrap();
    let (status, saved) = server
        .call(
            Method::PUT,
            "/api/v1/policies",
            admin,
            Some(json!({"source": source, "version": version})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(saved["version"], version + 1);
    let (status, answer) = server
        .call(
            Method::PUT,
            "/api/v1/policies",
            admin,
            Some(json!({"source": source, "version": version})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert_eq!(answer["error"]["name"], "ConflictError");

    let response = server
        .http
        .put(format!("{}/api/v1/policies", server.base))
        .bearer_auth(&server.admin)
        .header("If-Match", format!("\"{version}\""))
        .json(&json!({"source": source}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);

    let (status, answer) = server
        .call(Method::PUT, "/api/v1/policies", admin, Some(json!({"source": "permit (principal, action in Pave::Action::\"read\", resource);"})))
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a set that locks the caller out needs force"
    );
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("force")
    );

    let (status, validated) = server
        .call(
            Method::POST,
            "/api/v1/policies/validate",
            admin,
            Some(json!({"source": "permit (principal, actio, resource);"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(validated["valid"], false);
    assert!(validated["diagnostics"][0]["message"].is_string());
    server.stop().await;
}

#[tokio::test]
async fn policy_check_names_the_deciding_policies() {
    let server = TestServer::start().await;
    let admin = Some(server.admin.as_str());
    let (status, decision) = server
        .call(
            Method::POST,
            "/api/v1/policies/check",
            admin,
            Some(json!({"principal": "user:bob", "groups": ["admins"], "action": "policy.write", "resource": "platform"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        decision,
        json!({"allowed": true, "policies": ["admins-may-do-everything"]})
    );
    let (_, decision) = server
        .call(
            Method::POST,
            "/api/v1/policies/check",
            admin,
            Some(
                json!({"principal": "user:bob", "action": "policy.write", "resource": "platform"}),
            ),
        )
        .await;
    assert_eq!(decision, json!({"allowed": false, "policies": []}));
    let (status, answer) = server
        .call(
            Method::POST,
            "/api/v1/policies/check",
            admin,
            Some(json!({"principal": "user:bob", "action": "policy.writ", "resource": "platform"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("policy.write")
    );
    server.stop().await;
}

#[tokio::test]
async fn errors_are_json_with_a_name_and_bodies_are_bounded() {
    let server = TestServer::start_with(ServerOptions {
        body_limit_bytes: 4096,
        ..ServerOptions::default()
    })
    .await;
    let admin = Some(server.admin.as_str());
    let (status, answer) = server
        .call(Method::GET, "/api/v1/nothing-here", admin, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(answer["error"]["name"], "NotFoundError");
    let (status, answer) = server
        .call(Method::PATCH, "/api/v1/tokens", admin, None)
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer["error"]["name"], "MethodNotAllowedError");

    let response = server
        .http
        .post(format!("{}/api/v1/tokens", server.base))
        .bearer_auth(&server.admin)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["error"]["name"], "InputError");

    let huge = "x".repeat(10_000);
    let (status, answer) = server
        .call(
            Method::PUT,
            "/api/v1/policies",
            admin,
            Some(json!({"source": huge})),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
    assert_eq!(answer["error"]["name"], "PayloadTooLargeError");

    let (status, answer) = server
        .call(Method::GET, "/api/v1/audit?limit=nope", admin, None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("limit"),
        "{answer}"
    );
    let (status, answer) = server
        .call(Method::GET, "/api/v1/audit?colour=red", admin, None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("colour"),
        "{answer}"
    );
    let (status, _) = server
        .call(Method::GET, "/api/v1/audit?since=yesterday", admin, None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    server.stop().await;
}

#[tokio::test]
async fn request_ids_follow_a_request_into_the_audit_log() {
    let server = TestServer::start().await;
    let response = server
        .http
        .get(format!("{}/api/v1/tokens", server.base))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["x-request-id"], "trace-me-123");
    let (_, page) = server
        .call(
            Method::GET,
            "/api/v1/audit?requestId=trace-me-123",
            Some(&server.admin),
            None,
        )
        .await;
    assert_eq!(page["items"][0]["outcome"], "unauthenticated");
    assert_eq!(page["items"][0]["principal"], "anonymous");

    let response = server
        .http
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    let generated = response.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(generated.len(), 36, "a UUID is made when none is sent");
    server.stop().await;
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let server = TestServer::start().await;
    for _ in 0..3 {
        server.call(Method::GET, "/readyz", None, None).await;
    }
    server.call(Method::GET, "/api/v1/tokens", None, None).await;
    let response = server
        .http
        .get(format!("{}/metrics", server.base))
        .bearer_auth(&server.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    let line = text
        .lines()
        .find(|line| {
            line.starts_with("pave_http_requests_total")
                && line.contains("route=\"/readyz\"")
                && line.contains("status=\"200\"")
        })
        .unwrap_or_else(|| panic!("no readyz counter in:\n{text}"));
    let count: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(count >= 3.0, "{line}");
    assert!(text.contains("route=\"/api/v1/tokens\"") && text.contains("status=\"401\""));
    assert!(text.contains("pave_http_request_duration_seconds_bucket"));
    server.stop().await;
}

#[tokio::test]
async fn audit_is_paged_and_verified_over_http() {
    let server = TestServer::start().await;
    let admin = Some(server.admin.as_str());
    for index in 0..5 {
        server
            .call(
                Method::POST,
                "/api/v1/tokens",
                admin,
                Some(json!({"name": format!("t{index}")})),
            )
            .await;
    }
    let (_, first) = server
        .call(
            Method::GET,
            "/api/v1/audit?action=token.create&limit=2",
            admin,
            None,
        )
        .await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["nextCursor"].as_str().unwrap();
    let (_, second) = server
        .call(
            Method::GET,
            &format!("/api/v1/audit?action=token.create&limit=2&cursor={cursor}"),
            admin,
            None,
        )
        .await;
    assert!(second["items"][0]["seq"].as_i64() < first["items"][1]["seq"].as_i64());
    let (status, report) = server
        .call(Method::GET, "/api/v1/audit/verify", admin, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(report["intact"], true);
    assert!(report["checked"].as_u64().unwrap() >= 6);
    server.stop().await;
}

/// A template with a skeleton on disk, registered through the API.
async fn register_template(server: &TestServer, directory: &std::path::Path, tags: &str) {
    std::fs::create_dir_all(directory.join("skeleton")).unwrap();
    std::fs::write(
        directory.join("skeleton/catalog-info.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: ${{ values.name }}\nspec:\n  type: service\n  lifecycle: experimental\n  owner: ${{ values.owner }}\n",
    )
    .unwrap();
    std::fs::write(
        directory.join("template.yaml"),
        format!(
            "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata:\n  name: service\n  tags: [{tags}]\nspec:\n  owner: team-a\n  type: service\n  parameters:\n    - title: About\n      required: [name, owner]\n      properties:\n        name: {{type: string, pattern: '^[a-z][a-z0-9-]+$'}}\n        owner: {{type: string}}\n  steps:\n    - id: fetch\n      action: fetch:template\n      input:\n        url: ./skeleton\n        values: {{name: '${{{{ parameters.name }}}}', owner: '${{{{ parameters.owner }}}}'}}\n    - id: publish\n      action: publish:git\n      input: {{repoUrl: 'pave?owner=team-a&repo=${{{{ parameters.name }}}}'}}\n    - id: register\n      action: catalog:register\n      input: {{repoContentsUrl: '${{{{ steps.publish.output.repoContentsUrl }}}}'}}\n  output:\n    links:\n      - title: Open in catalog\n        entityRef: ${{{{ steps.register.output.entityRef }}}}\n"
        ),
    )
    .unwrap();
    let (status, answer) = server
        .call(
            Method::POST,
            "/api/catalog/locations",
            Some(&server.admin),
            Some(json!({"type": "file", "target": directory.join("template.yaml").display().to_string()})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
}

/// The whole event stream of a task, as text (it ends with the completion).
async fn event_stream(server: &TestServer, id: &str, token: &str) -> String {
    let response = server
        .http
        .get(format!(
            "{}/api/scaffolder/v2/tasks/{id}/eventstream",
            server.base
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    tokio::time::timeout(std::time::Duration::from_secs(60), response.text())
        .await
        .expect("the stream ends after the completion event")
        .unwrap()
}

#[tokio::test]
async fn templates_run_as_tasks_that_only_their_creator_and_admins_see() {
    let server = TestServer::start().await;
    let directory = tempfile::tempdir().unwrap();
    register_template(&server, directory.path(), "python").await;
    let (alice, _) = server.token_for("user:default/alice", &[]).await;
    let (bob, _) = server.token_for("user:default/bob", &[]).await;

    let (status, schema) = server
        .call(
            Method::GET,
            "/api/scaffolder/v2/templates/default/template/service/parameter-schema",
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{schema}");
    assert_eq!(schema["steps"][0]["title"], "About");
    let (status, actions) = server
        .call(
            Method::GET,
            "/api/scaffolder/v2/actions",
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let publish = actions
        .as_array()
        .unwrap()
        .iter()
        .find(|action| action["id"] == "publish:git")
        .expect("publish:git is listed");
    assert!(publish["schema"]["input"]["properties"]["repoUrl"].is_object());

    // Bad values are refused with the parameter named, and nothing runs.
    let (status, answer) = server
        .call(
            Method::POST,
            "/api/scaffolder/v2/tasks",
            Some(&alice),
            Some(
                json!({"templateRef": "template:default/service", "values": {"name": "Bad Name"}}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("/name") && message.contains("/owner"),
        "{message}"
    );

    let (status, created) = server
        .call(
            Method::POST,
            "/api/scaffolder/v2/tasks",
            Some(&alice),
            Some(json!({"templateRef": "template:default/service", "values": {"name": "orders", "owner": "group:default/team-a"}, "secrets": {"token": "s3cret"}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    let stream = event_stream(&server, &id, &alice).await;
    assert!(stream.contains("event: completion"), "{stream}");
    assert!(stream.contains("\"status\":\"completed\""), "{stream}");
    assert!(!stream.contains("s3cret"));
    // Resuming after an event id gives only what came later.
    let response = server
        .http
        .get(format!(
            "{}/api/scaffolder/v2/tasks/{id}/eventstream?after=3",
            server.base
        ))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    let later = response.text().await.unwrap();
    assert!(
        !later.contains("id: 3\n") && later.contains("event: completion"),
        "{later}"
    );

    let (status, task) = server
        .call(
            Method::GET,
            &format!("/api/scaffolder/v2/tasks/{id}"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(task["status"], "completed");
    assert_eq!(task["createdBy"], "user:default/alice");
    assert_eq!(
        task["output"]["links"][0]["entityRef"],
        "component:default/orders"
    );
    let (status, component) = server
        .call(
            Method::GET,
            "/api/catalog/entities/by-name/component/default/orders",
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(component["spec"]["owner"], "group:default/team-a");

    // Bob sees neither the task nor its events, and cannot cancel it.
    for path in [
        format!("/api/scaffolder/v2/tasks/{id}"),
        format!("/api/scaffolder/v2/tasks/{id}/events"),
    ] {
        let (status, _) = server.call(Method::GET, &path, Some(&bob), None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
    let (status, _) = server
        .call(
            Method::POST,
            &format!("/api/scaffolder/v2/tasks/{id}/cancel"),
            Some(&bob),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, list) = server
        .call(Method::GET, "/api/scaffolder/v2/tasks", Some(&bob), None)
        .await;
    assert_eq!(list["tasks"], json!([]));
    let (_, list) = server
        .call(
            Method::GET,
            "/api/scaffolder/v2/tasks",
            Some(&server.admin),
            None,
        )
        .await;
    assert_eq!(list["totalTasks"], 1);
    // Alice may cancel her own task, but it has finished.
    let (status, answer) = server
        .call(
            Method::POST,
            &format!("/api/scaffolder/v2/tasks/{id}/cancel"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    let (status, _) = server
        .call(
            Method::GET,
            "/api/scaffolder/v2/tasks/no-such-task",
            Some(&server.admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The same repository again fails as a task, naming the repository.
    let (_, created) = server
        .call(
            Method::POST,
            "/api/scaffolder/v2/tasks",
            Some(&alice),
            Some(json!({"templateRef": "service", "values": {"name": "orders", "owner": "group:default/team-a"}})),
        )
        .await;
    let id = created["id"].as_str().unwrap().to_string();
    let stream = event_stream(&server, &id, &alice).await;
    assert!(stream.contains("already has team-a/orders"), "{stream}");
    assert!(stream.contains("\"status\":\"failed\""), "{stream}");

    // Policies decide by template tags.
    let (_, policies) = server
        .call(Method::GET, "/api/v1/policies", Some(&server.admin), None)
        .await;
    let source = format!(
        "{}\n@id(\"no-python\")\nforbid (principal, action == Pave::Action::\"scaffolder.template.run\", resource is Pave::Entity) when {{ resource.tags.contains(\"python\") }};\n",
        policies["source"].as_str().unwrap()
    );
    let (status, answer) = server
        .call(
            Method::PUT,
            "/api/v1/policies",
            Some(&server.admin),
            Some(json!({"source": source})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, answer) = server
        .call(
            Method::POST,
            "/api/scaffolder/v2/tasks",
            Some(&alice),
            Some(
                json!({"templateRef": "service", "values": {"name": "billing", "owner": "team-a"}}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    server.stop().await;
}

#[tokio::test]
async fn a_dry_run_returns_rendered_files_and_refuses_bad_input() {
    let server = TestServer::start().await;
    let (alice, _) = server.token_for("user:default/alice", &[]).await;
    let template = json!({
        "apiVersion": "scaffolder.backstage.io/v1beta3",
        "kind": "Template",
        "metadata": {"name": "inline"},
        "spec": {
            "type": "service",
            "parameters": [{"properties": {"name": {"type": "string"}}, "required": ["name"]}],
            "steps": [
                {"id": "fetch", "action": "fetch:template", "input": {"url": "./skeleton", "values": {"name": "${{ parameters.name }}"}}},
                {"id": "publish", "action": "publish:git", "input": {"repoUrl": "pave?owner=o&repo=${{ parameters.name }}"}}
            ],
            "output": {"links": [{"title": "Repo", "url": "${{ steps.publish.output.remoteUrl }}"}]}
        }
    });
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode("hello ${{ values.name }}\n");
    let (status, answer) = server
        .call(
            Method::POST,
            "/api/scaffolder/v2/dry-run",
            Some(&alice),
            Some(json!({"template": template, "values": {"name": "orders"}, "directoryContents": [{"path": "skeleton/hello.txt", "base64Content": encoded}]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["directoryContents"][0]["path"], "hello.txt");
    let content = base64::engine::general_purpose::STANDARD
        .decode(
            answer["directoryContents"][0]["base64Content"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(content, b"hello orders\n");
    assert!(answer["log"].as_array().unwrap().iter().any(|event| {
        event["body"]["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("Dry run: would publish")
    }));
    assert!(answer.get("error").is_none(), "{answer}");

    let (status, answer) = server
        .call(
            Method::POST,
            "/api/scaffolder/v2/dry-run",
            Some(&alice),
            Some(json!({"template": template, "values": {"name": "orders"}, "directoryContents": [{"path": "x", "base64Content": "***"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("directoryContents `x`")
    );
    let mut unknown = template.clone();
    unknown["spec"]["steps"][1]["action"] = json!("publish:github");
    let (status, answer) = server
        .call(
            Method::POST,
            "/api/scaffolder/v2/dry-run",
            Some(&alice),
            Some(json!({"template": unknown, "values": {"name": "orders"}})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("publish:github")
    );
    server.stop().await;
}

#[tokio::test]
async fn deleting_a_missing_environment_is_a_404_even_for_admins() {
    let server = TestServer::start().await;
    let (status, answer) = server
        .call(
            Method::DELETE,
            "/api/v1/environments/nowhere",
            Some(&server.admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`nowhere`")
    );
    server.stop().await;
}
