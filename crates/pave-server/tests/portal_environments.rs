//! The portal's environments pages and a component's Deployments section
//! over real HTTP, against SQLite or PostgreSQL (`PAVE_TEST_DATABASE_URL`):
//! the forms and every refusal the policies make (the browser-driven test
//! with Pave's router is `crates/pave/tests/portal_environments.rs`).

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use pave_access::{Access, Actor, GroupRef, NewToken, PrincipalRef};
use pave_catalog::{Catalog, CatalogConfig};
use pave_scaffold::tasks::{Scaffolder, ScaffolderConfig};
use pave_server::ServerOptions;
use pave_store::testing::TestDatabase;
use serde_json::{Value, json};

const SERVICE: &str = r#"import os, http.server
print("starting on", os.environ["PORT"], flush=True)
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = os.environ.get("GREETING", "").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"#;

const SCORE: &str = "apiVersion: score.dev/v1b1\nmetadata:\n  name: orders\nservice:\n  ports:\n    web: {port: 8080}\ncontainers:\n  main:\n    image: .\n    command: [python3, server.py]\n    variables:\n      GREETING: ${resources.env.GREETING}\n      DB_PASSWORD: hunter2-secret\n    readinessProbe:\n      httpGet: {path: /, port: 8080}\nresources:\n  env: {type: environment}\n";

struct TestServer {
    base: String,
    admin: String,
    access: Arc<Access>,
    deployer: pave_deploy::Deployer,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    _database: TestDatabase,
    _data: tempfile::TempDir,
}

impl TestServer {
    async fn start() -> TestServer {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let database = TestDatabase::create().await.unwrap();
        let store = database.open().await.unwrap();
        let access = Arc::new(Access::open(store.clone()).await.unwrap());
        let data = tempfile::tempdir().unwrap();
        let catalog = Arc::new(Catalog::new(
            store.clone(),
            CatalogConfig::quiet(data.path().join("catalog-git")),
        ));
        let routes = pave_server::router::RoutingTable::new();
        let runtime =
            pave_runtime::LocalRuntime::new(data.path().join("runtime"), Default::default())
                .unwrap();
        let deployer = pave_deploy::Deployer::new(
            store.clone(),
            Arc::clone(&catalog),
            Arc::new(runtime),
            Arc::new(routes.clone()),
            pave_deploy::DeployConfig {
                // A version that never becomes ready fails quickly.
                ready_timeout: std::time::Duration::from_secs(3),
                ..pave_deploy::DeployConfig::under(data.path(), 7080)
            },
        );
        let engines = pave_server::Engines {
            scaffolder: Scaffolder::new(
                store,
                Arc::clone(&catalog),
                ScaffolderConfig::under(data.path()),
            ),
            catalog,
            deployer: deployer.clone(),
            routes,
            webhooks: Arc::new(pave_server::WebhookSettings {
                preview_base: "dev".into(),
                preview_ttl_seconds: 3600,
                ..Default::default()
            }),
        };
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
            pave_server::serve(
                listeners,
                served,
                engines,
                ServerOptions::default(),
                async {
                    let _ = stopped.await;
                },
            )
            .await
            .unwrap();
        });
        TestServer {
            base,
            admin,
            access,
            deployer,
            stop: Some(stop),
            task: Some(task),
            _database: database,
            _data: data,
        }
    }

    async fn token_for(&self, principal: &str, groups: &[&str]) -> String {
        self.access
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
            .unwrap()
            .token
    }

    /// The JSON API as the admin.
    async fn api(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = reqwest::Client::new()
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.admin);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn stop(mut self) {
        // No process outlives the test.
        let _ = self.deployer.runtime().shutdown().await;
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The value of cookie `name` a response sets, as `name=value`.
fn set_cookie(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|value| value.split(';').next())
        .find(|pair| pair.split_once('=').is_some_and(|(key, _)| key == name))
        .map(str::to_string)
}

fn encode(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// The value of the first hidden input `name` on a page.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    html.split(&marker)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no hidden {name} in {html}"))
        .to_string()
}

/// A signed-in portal session: its cookie and its CSRF token.
struct Session {
    cookie: String,
    csrf: String,
}

impl Session {
    async fn start(server: &TestServer, token: &str) -> Session {
        let form = client()
            .get(format!("{}/login", server.base))
            .send()
            .await
            .unwrap();
        let login_cookie = set_cookie(form.headers(), "pave_login_csrf").unwrap();
        let csrf = hidden(&form.text().await.unwrap(), "csrf");
        let response = client()
            .post(format!("{}/login", server.base))
            .header("cookie", login_cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode(&[("csrf", &csrf), ("token", token), ("next", "/")]))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303);
        let cookie = set_cookie(response.headers(), "pave_session").unwrap();
        let mut session = Session {
            cookie,
            csrf: String::new(),
        };
        let (_, home) = session.get(server, "/").await;
        session.csrf = hidden(&home, "csrf");
        session
    }

    async fn get(&self, server: &TestServer, path: &str) -> (u16, String) {
        let response = client()
            .get(format!("{}{path}", server.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// A form POST with this session's CSRF token (unless `pairs` has one):
    /// status, `Location` and body.
    async fn post(
        &self,
        server: &TestServer,
        path: &str,
        pairs: &[(&str, &str)],
    ) -> (u16, String, String) {
        let mut all: Vec<(&str, &str)> = pairs.to_vec();
        if !pairs.iter().any(|(key, _)| *key == "csrf") {
            all.push(("csrf", &self.csrf));
        }
        let response = client()
            .post(format!("{}{path}", server.base))
            .header("cookie", &self.cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode(&all))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
            .to_string();
        (status, location, response.text().await.unwrap())
    }
}

fn git(directory: &Path, args: &[&str]) {
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
}

/// A bare repository with the service, owned by team-a; returns its URL.
fn repository(root: &Path) -> String {
    let work = root.join("work");
    std::fs::create_dir_all(&work).unwrap();
    git(&work, &["init", "--quiet", "--initial-branch=main"]);
    std::fs::write(work.join("server.py"), SERVICE).unwrap();
    std::fs::write(work.join("score.yaml"), SCORE).unwrap();
    std::fs::write(
        work.join("catalog-info.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: orders\nspec:\n  type: service\n  lifecycle: experimental\n  owner: group:default/team-a\n",
    )
    .unwrap();
    git(&work, &["add", "--all"]);
    git(&work, &["commit", "--quiet", "--message", "v1"]);
    // A branch whose service dies at once: it never becomes ready.
    git(&work, &["checkout", "--quiet", "-b", "broken"]);
    std::fs::write(
        work.join("server.py"),
        "print(\"crashing <b>now</b>\", flush=True)\nraise SystemExit(3)\n",
    )
    .unwrap();
    git(
        &work,
        &["commit", "--quiet", "--all", "--message", "broken"],
    );
    git(&work, &["checkout", "--quiet", "main"]);
    git(root, &["clone", "--quiet", "--bare", "work", "orders.git"]);
    format!("file://{}", root.join("orders.git").display())
}

async fn wait_for_entity(server: &TestServer, path: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while server.api(reqwest::Method::GET, path, None).await.0 != 200 {
        assert!(
            std::time::Instant::now() < deadline,
            "{path} never appeared"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn environment_and_deployment_forms_follow_the_policies() {
    let server = TestServer::start().await;
    let directory = tempfile::tempdir().unwrap();
    let remote = repository(directory.path());
    let (status, answer) = server
        .api(
            reqwest::Method::POST,
            "/api/catalog/locations",
            Some(json!({"type": "url", "target": format!("{remote}/blob/main/catalog-info.yaml")})),
        )
        .await;
    assert_eq!(status, 201, "{answer}");
    // A component from a file location has no source Pave can deploy from.
    let legacy = directory.path().join("legacy.yaml");
    std::fs::write(
        &legacy,
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: legacy\nspec:\n  type: service\n  lifecycle: production\n  owner: group:default/team-a\n",
    )
    .unwrap();
    let (status, answer) = server
        .api(
            reqwest::Method::POST,
            "/api/catalog/locations",
            Some(json!({"type": "file", "target": legacy.display().to_string()})),
        )
        .await;
    assert_eq!(status, 201, "{answer}");
    wait_for_entity(
        &server,
        "/api/catalog/entities/by-name/component/default/orders",
    )
    .await;
    wait_for_entity(
        &server,
        "/api/catalog/entities/by-name/component/default/legacy",
    )
    .await;

    // Signed out: the sign-in page, then back.
    let response = client()
        .get(format!("{}/environments", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()["location"],
        "/login?next=%2Fenvironments"
    );

    let admin = Session::start(&server, &server.admin.clone()).await;
    let alice = Session::start(
        &server,
        &server
            .token_for("user:default/alice", &["group:default/team-a"])
            .await,
    )
    .await;
    let bob = Session::start(&server, &server.token_for("user:default/bob", &[]).await).await;

    // The admin's page: every type but preview, and the portal's headers.
    let response = client()
        .get(format!("{}/environments", server.base))
        .header("cookie", &admin.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );
    let page = response.text().await.unwrap();
    assert!(page.contains("No environments yet"), "{page}");
    for kind in ["development", "staging", "production"] {
        assert!(
            page.contains(&format!("<option value=\"{kind}\"")),
            "{page}"
        );
    }
    assert!(!page.contains("<option value=\"preview\""));

    // Forms: a forged token, a bad config line, a type the form does not
    // make, then dev, dev again, and prod.
    let (status, _, _) = admin
        .post(
            &server,
            "/environments",
            &[("csrf", "forged"), ("name", "dev"), ("type", "development")],
        )
        .await;
    assert_eq!(status, 400);
    let (status, _, body) = admin
        .post(
            &server,
            "/environments",
            &[
                ("name", "dev"),
                ("type", "development"),
                ("config", "GREETING"),
            ],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("id=\"env-config-error\""), "{body}");
    assert!(body.contains("value=\"dev\""), "what was typed stays");
    let (status, _, body) = admin
        .post(
            &server,
            "/environments",
            &[("name", "pr-1"), ("type", "preview")],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, location, _) = admin
        .post(
            &server,
            "/environments",
            &[
                ("name", "dev"),
                ("type", "development"),
                ("description", "<b>the</b> dev"),
                ("config", "GREETING=hello\n# note\nLOG_LEVEL=debug"),
            ],
        )
        .await;
    assert_eq!(
        (status, location.as_str()),
        (303, "/environments/dev?created=1")
    );
    let (_, shown) = admin.get(&server, &location).await;
    assert!(shown.contains("Environment dev is ready."));
    assert!(shown.contains("&#60;b&#62;the&#60;/b&#62; dev"), "{shown}");
    assert!(shown.contains("<dt>LOG_LEVEL</dt><dd class=\"wrap\">debug</dd>"));
    let (status, _, body) = admin
        .post(
            &server,
            "/environments",
            &[("name", "dev"), ("type", "development")],
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("id=\"env-name-error\"") && body.contains("already exists"));
    let (status, _, _) = admin
        .post(
            &server,
            "/environments",
            &[("name", "prod"), ("type", "production")],
        )
        .await;
    assert_eq!(status, 303);
    let (_, environment) = server
        .api(reqwest::Method::GET, "/api/v1/environments/dev", None)
        .await;
    assert_eq!(environment["config"]["GREETING"], "hello");
    assert_eq!(environment["createdBy"], "user:default/admin");

    // Bob may make (and delete) development environments only.
    let (_, page) = bob.get(&server, "/environments").await;
    assert!(page.contains("<option value=\"development\""), "{page}");
    assert!(!page.contains("<option value=\"production\""), "{page}");
    let (status, _, body) = bob
        .post(
            &server,
            "/environments",
            &[("name", "bobs-prod"), ("type", "production")],
        )
        .await;
    assert_eq!(status, 403, "{body}");
    let (_, prod) = bob.get(&server, "/environments/prod").await;
    assert!(!prod.contains("/environments/prod/delete"), "{prod}");
    let (status, _, _) = bob.post(&server, "/environments/prod/delete", &[]).await;
    assert_eq!(status, 403);
    let (status, _, _) = bob
        .post(
            &server,
            "/environments",
            &[("name", "bobs"), ("type", "development")],
        )
        .await;
    assert_eq!(status, 303);
    let (_, mine) = bob.get(&server, "/environments/bobs").await;
    assert!(
        mine.contains("action=\"/environments/bobs/delete\""),
        "{mine}"
    );
    let (status, location, _) = bob.post(&server, "/environments/bobs/delete", &[]).await;
    assert_eq!(
        (status, location.as_str()),
        (303, "/environments?deleted=bobs")
    );
    let (_, listed) = bob.get(&server, &location).await;
    assert!(listed.contains("Environment bobs was deleted."), "{listed}");
    assert!(!listed.contains("data-environment=\"bobs\""));
    let (status, _) = bob.get(&server, "/environments/bobs").await;
    assert_eq!(status, 404);

    // A preview based on dev: its page, and dev cannot go first.
    let (status, answer) = server
        .api(
            reqwest::Method::POST,
            "/api/v1/environments",
            Some(json!({"name": "pr-1", "type": "preview", "parent": "dev", "source": {"repository": remote, "branch": "feature", "pullRequest": 1, "headCommit": "abcdef1234567"}})),
        )
        .await;
    assert_eq!(status, 201, "{answer}");
    let (_, preview) = admin.get(&server, "/environments/pr-1").await;
    assert!(preview.contains("#1") && preview.contains("<code>feature</code>"));
    assert!(preview.contains(">in 3 days</time>") || preview.contains(">in 2 days</time>"));
    assert!(preview.contains("href=\"/environments/dev\""), "{preview}");
    let (_, dev) = admin.get(&server, "/environments/dev").await;
    assert!(dev.contains("href=\"/environments/pr-1\""), "{dev}");
    assert!(
        !dev.contains("action=\"/environments/dev/delete\""),
        "{dev}"
    );
    let (status, _, body) = admin.post(&server, "/environments/dev/delete", &[]).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body.contains("id=\"env-error\"") && body.contains("pr-1"),
        "{body}"
    );
    let (status, _, _) = admin.post(&server, "/environments/pr-1/delete", &[]).await;
    assert_eq!(status, 303);

    // Alice owns orders: she may deploy it anywhere but production.
    let orders = "/catalog/component/default/orders";
    let (_, page) = alice.get(&server, orders).await;
    assert!(page.contains("Not deployed anywhere yet"), "{page}");
    assert!(page.contains("<option value=\"dev\">dev (development)</option>"));
    assert!(!page.contains("<option value=\"prod\""), "{page}");
    let (status, _, body) = alice
        .post(
            &server,
            &format!("{orders}/deploy"),
            &[("environment", "prod")],
        )
        .await;
    assert_eq!(status, 403, "{body}");
    let (status, location, body) = alice
        .post(
            &server,
            &format!("{orders}/deploy"),
            &[("environment", "dev")],
        )
        .await;
    assert_eq!(status, 303, "{body}");
    assert!(
        location.starts_with(&format!("{orders}?deployment="))
            && location.ends_with("#deployments"),
        "{location}"
    );
    let (_, page) = alice
        .get(&server, location.trim_end_matches("#deployments"))
        .await;
    assert!(page.contains("Deployed to dev: Healthy"), "{page}");
    assert!(page.contains("href=\"http://orders--dev.localhost:7080\""));
    assert!(page.contains("starting on"), "the log tail");
    assert!(page.contains("<dt>DB_PASSWORD</dt><dd class=\"wrap\">********</dd>"));
    assert!(!page.contains("hunter2"), "a secret in the page");
    assert!(
        !page.contains("rollback-form"),
        "nothing to roll back to yet"
    );
    // A version that never becomes ready: Failed, with the reason, and the
    // healthy one keeps running.
    let (status, failed, _) = alice
        .post(
            &server,
            &format!("{orders}/deploy"),
            &[("environment", "dev"), ("revision", "broken")],
        )
        .await;
    assert_eq!(status, 303);
    let (_, page) = alice
        .get(&server, failed.trim_end_matches("#deployments"))
        .await;
    assert!(page.contains("Deployed to dev: Failed"), "{page}");
    assert!(page.contains("did not become ready"), "{page}");
    assert!(
        !page.contains("<b>now</b>"),
        "log lines in messages are escaped"
    );
    assert!(
        !page.contains("class=\"deploy-url\""),
        "a failure offers no URL"
    );
    assert!(page.contains("<td>deploy</td>") && page.contains("status-failed"));
    let (_, environment) = server
        .api(reqwest::Method::GET, "/api/v1/environments/dev", None)
        .await;
    assert_eq!(
        environment["deployments"][0]["status"], "Healthy",
        "{environment}"
    );
    // What the engine refuses comes back on the page, with its status.
    let (status, _, body) = alice
        .post(
            &server,
            &format!("{orders}/rollback"),
            &[("environment", "dev")],
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("id=\"deploy-error\"") && body.contains("no earlier healthy deployment"));
    let (status, _, body) = alice
        .post(
            &server,
            &format!("{orders}/deploy"),
            &[("environment", "dev"), ("revision", "no-such-branch")],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("no-such-branch"), "{body}");
    let (status, _, _) = alice
        .post(
            &server,
            &format!("{orders}/promote"),
            &[("from", "dev"), ("to", "prod")],
        )
        .await;
    assert_eq!(status, 403);
    // The environments page shows what runs where.
    let (_, listed) = alice.get(&server, "/environments").await;
    assert!(listed.contains("href=\"/catalog/component/default/orders\">orders</a> <span class=\"status status-healthy\">Healthy</span>"), "{listed}");
    let (_, dev) = alice.get(&server, "/environments/dev").await;
    assert!(dev.contains("http://orders--dev.localhost:7080"), "{dev}");

    // Bob sees the deployment, no buttons, and his forged forms are refused.
    let (_, page) = bob.get(&server, orders).await;
    assert!(page.contains("id=\"deployments\"") && page.contains("Healthy"));
    assert!(!page.contains("id=\"deploy-form\"") && !page.contains("promote-form"));
    let (status, _, _) = bob
        .post(
            &server,
            &format!("{orders}/deploy"),
            &[("environment", "dev")],
        )
        .await;
    assert_eq!(status, 403);
    let (_, events) = server
        .api(
            reqwest::Method::GET,
            "/api/v1/audit?principal=user:default/bob&outcome=denied",
            None,
        )
        .await;
    let denied: Vec<(&str, &str)> = events["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|event| Some((event["action"].as_str()?, event["resource"].as_str()?)))
        .collect();
    for expected in [
        ("deployment.create", "entity:component:default/orders"),
        ("environment.create", "environment:bobs-prod"),
        ("environment.delete", "environment:prod"),
    ] {
        assert!(denied.contains(&expected), "{expected:?} in {denied:?}");
    }

    // A component without a source: no Deploy form, and a forged one says why.
    let (_, page) = admin
        .get(&server, "/catalog/component/default/legacy")
        .await;
    assert!(page.contains("Pave cannot deploy this component"), "{page}");
    assert!(!page.contains("id=\"deploy-form\""));
    let (status, _, body) = admin
        .post(
            &server,
            "/catalog/component/default/legacy/deploy",
            &[("environment", "dev")],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("backstage.io/source-location"), "{body}");
    // Another component's deployment id shows nothing on this page.
    let id = location
        .split("deployment=")
        .nth(1)
        .unwrap()
        .trim_end_matches("#deployments");
    let (_, page) = admin
        .get(
            &server,
            &format!("/catalog/component/default/legacy?deployment={id}"),
        )
        .await;
    assert!(!page.contains("id=\"deploy-outcome\""));
    // Only components deploy; unknown environments are 404 pages.
    let (status, _, _) = admin
        .post(
            &server,
            "/catalog/api/default/orders/deploy",
            &[("environment", "dev")],
        )
        .await;
    assert_eq!(status, 404);
    let (status, body) = admin.get(&server, "/environments/nope").await;
    assert_eq!(status, 404);
    assert!(body.contains("There is no environment"));

    server.stop().await;
}
