//! The portal's environments and deployments end to end: a real `pave`
//! server, a real git repository with a small Python HTTP service registered
//! from a `url` location, real processes on the local runtime and real HTTP
//! through Pave's router, driven by headless Chromium through chromedriver
//! like `portal_create.rs`, and over plain HTTP for what a browser would not
//! show (forged forms). Screenshots go to
//! `target/tmp/portal-screenshots/env-*.png`.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use pave_store::testing::TestDatabase;
use serde_json::{Value, json};

mod common;
use common::Server;

/// A secret the service gets as a variable: it must never reach a page.
const SECRET_VALUE: &str = "s3cret-value-4711";

const SERVICE: &str = r#"import os, http.server
print("starting on", os.environ["PORT"], flush=True)
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"{os.environ.get('VERSION', '?')} {os.environ.get('GREETING', '')}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"#;

fn score(version: &str) -> String {
    format!(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: orders\nservice:\n  ports:\n    web: {{port: 8080}}\ncontainers:\n  main:\n    image: .\n    command: [python3, server.py]\n    variables:\n      VERSION: {version}\n      GREETING: ${{resources.env.GREETING}}\n      API_TOKEN: {SECRET_VALUE}\n    readinessProbe:\n      httpGet: {{path: /, port: 8080}}\nresources:\n  env: {{type: environment}}\n"
    )
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

/// A repository with the service, its score.yaml and catalog-info.yaml
/// (owned by team-a, so neither the admin nor `someone` owns it).
struct Repository {
    work: PathBuf,
    remote: String,
}

impl Repository {
    fn new(root: &Path) -> Repository {
        let work = root.join("work");
        std::fs::create_dir_all(&work).expect("work");
        git(&work, &["init", "--quiet", "--initial-branch=main"]);
        std::fs::write(work.join("server.py"), SERVICE).expect("server");
        std::fs::write(work.join("score.yaml"), score("v1")).expect("score");
        std::fs::write(
            work.join("catalog-info.yaml"),
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: orders\nspec:\n  type: service\n  lifecycle: experimental\n  owner: team-a\n",
        )
        .expect("catalog-info");
        git(&work, &["add", "--all"]);
        git(&work, &["commit", "--quiet", "--message", "v1"]);
        git(root, &["clone", "--quiet", "--bare", "work", "orders.git"]);
        Repository {
            remote: format!("file://{}", root.join("orders.git").display()),
            work,
        }
    }

    fn push(&self, version: &str) -> String {
        std::fs::write(self.work.join("score.yaml"), score(version)).expect("score");
        git(
            &self.work,
            &["commit", "--quiet", "--all", "--message", version],
        );
        let bare = self.remote.trim_start_matches("file://");
        git(&self.work, &["push", "--quiet", bare, "main"]);
        git(&self.work, &["rev-parse", "HEAD"])
    }
}

/// GET through Pave's router with a Host header.
fn through_router(port: u16, host: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())?;
    Some((status, body))
}

fn screenshots() -> PathBuf {
    let directory = Path::new(env!("CARGO_TARGET_TMPDIR")).join("portal-screenshots");
    std::fs::create_dir_all(&directory).unwrap();
    directory
}

/// reqwest and the WebDriver client share rustls; the binary installs ring.
fn crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// chromedriver on a free port, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
    profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_driver() -> Driver {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect(
            "chromedriver is needed for the portal tests: apt-get install -y chromium chromium-driver",
        );
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
        profile: tempfile::tempdir().unwrap(),
    }
}

async fn browser(driver: &Driver) -> Client {
    let binary = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|path| Path::new(path).exists())
        .unwrap_or("/usr/bin/chromium");
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": binary,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-extensions", "--no-first-run",
                "--window-size=1366,900",
                format!("--user-data-dir={}", driver.profile.path().display()),
            ],
        }),
    );
    ClientBuilder::rustls()
        .expect("a TLS configuration for the WebDriver client")
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("chromedriver answers")
}

async fn shoot(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    std::fs::write(screenshots().join(format!("{name}.png")), png).unwrap();
}

/// A screenshot of the whole page, however long.
async fn shoot_tall(client: &Client, name: &str) {
    client.set_window_size(1366, 2000).await.unwrap();
    shoot(client, name).await;
    client.set_window_size(1366, 900).await.unwrap();
}

/// Waits until the browser is at a path starting with `prefix`.
async fn wait_for_path(client: &Client, prefix: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let url = client.current_url().await.unwrap();
        if url.path().starts_with(prefix) {
            return url.path().to_string();
        }
        assert!(
            Instant::now() < deadline,
            "never reached {prefix}; at {url}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn source(client: &Client) -> String {
    client.source().await.unwrap()
}

async fn click(client: &Client, css: &str) {
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|error| panic!("no {css}: {error}"))
        .click()
        .await
        .unwrap();
}

/// The text of the first element `css` selects, waiting for it (deploys
/// wait for the service to be ready, so allow for that).
async fn text_of(client: &Client, css: &str) -> String {
    client
        .wait()
        .at_most(Duration::from_secs(90))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|error| panic!("no {css}: {error}"))
        .text()
        .await
        .unwrap()
}

async fn type_into(client: &Client, css: &str, text: &str) {
    let field = client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|error| panic!("no {css}: {error}"));
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

async fn select(client: &Client, css: &str, value: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|error| panic!("no {css}: {error}"))
        .select_by_value(value)
        .await
        .unwrap();
}

/// Signs the browser in with `token` and waits until it has left the
/// sign-in page.
async fn sign_in_browser(client: &Client, server: &Server, token: &str) {
    client.goto(&format!("{}/login", server.url)).await.unwrap();
    type_into(client, "#token", token).await;
    click(client, "form[action='/login'] button").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while client
        .current_url()
        .await
        .unwrap()
        .path()
        .starts_with("/login")
    {
        assert!(Instant::now() < deadline, "signing in did not finish");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn sign_out_browser(client: &Client) {
    click(client, "form.signout button").await;
    wait_for_path(client, "/login").await;
}

/// The API as `token`: JSON in, JSON out, and the status.
async fn call(
    server: &Server,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let client = reqwest::Client::new();
    let url = format!("{}{path}", server.url);
    let request = match method {
        "POST" => client.post(&url),
        _ => client.get(&url),
    }
    .bearer_auth(token);
    let request = match body {
        Some(body) => request.json(&body),
        None => request,
    };
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn api(server: &Server, token: &str, method: &str, path: &str, body: Option<Value>) -> Value {
    let (status, answer) = call(server, token, method, path, body).await;
    assert!(
        (200..300).contains(&status),
        "{method} {path}: {status} {answer}"
    );
    answer
}

fn set_cookie(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|value| value.split(';').next())
        .find(|pair| pair.split_once('=').is_some_and(|(key, _)| key == name))
        .map(str::to_string)
}

fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn encode(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// The value of the hidden input `name` on a page.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    html.split(&marker)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no hidden {name} in {html}"))
        .to_string()
}

/// A signed-in HTTP session without a browser: the cookie to send.
async fn sign_in(server: &Server, token: &str) -> String {
    let client = plain_client();
    let form = client
        .get(format!("{}/login", server.url))
        .send()
        .await
        .unwrap();
    let login_cookie = set_cookie(form.headers(), "pave_login_csrf").unwrap();
    let html = form.text().await.unwrap();
    let csrf = hidden(&html, "csrf");
    let response = client
        .post(format!("{}/login", server.url))
        .header("cookie", login_cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(&[("csrf", &csrf), ("token", token), ("next", "/")]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    set_cookie(response.headers(), "pave_session").expect("a session cookie")
}

/// A GET with the session cookie: status and body.
async fn page(server: &Server, cookie: &str, path: &str) -> (u16, String) {
    let response = plain_client()
        .get(format!("{}{path}", server.url))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// A form POST with the session cookie: status and body.
async fn post(server: &Server, cookie: &str, path: &str, pairs: &[(&str, &str)]) -> (u16, String) {
    let response = plain_client()
        .post(format!("{}{path}", server.url))
        .header("cookie", cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(pairs))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// Waits until the catalog has read `path`'s entity.
async fn wait_for_entity(server: &Server, token: &str, path: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, _) = call(server, token, "GET", path, None).await;
        if status == 200 {
            return;
        }
        assert!(Instant::now() < deadline, "{path} never appeared");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Fills in and sends the "New environment" form on the environments page.
async fn create_environment(
    client: &Client,
    server: &Server,
    name: &str,
    kind: &str,
    config: &str,
) {
    client
        .goto(&format!("{}/environments", server.url))
        .await
        .unwrap();
    type_into(client, "#env-name", name).await;
    select(client, "select#env-type", kind).await;
    type_into(client, "#env-config", config).await;
    click(client, "#env-new-form button[type=submit]").await;
}

/// Presses the button `css` of a form that runs the engine and returns what
/// the page answered with: the outcome notice, or the engine's refusal.
async fn press_and_read_outcome(client: &Client, css: &str) -> String {
    let before = client.current_url().await.unwrap();
    click(client, css).await;
    // The form waits for the engine; the answer is a new address.
    let deadline = Instant::now() + Duration::from_secs(90);
    while client.current_url().await.unwrap() == before {
        assert!(Instant::now() < deadline, "{css} never answered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    text_of(client, "#deploy-outcome, #deploy-error").await
}

/// Sends the component page's Deploy form and returns the outcome notice.
async fn deploy_from_page(client: &Client, environment: &str, revision: &str) -> String {
    select(client, "select#deploy-environment", environment).await;
    type_into(client, "#deploy-revision", revision).await;
    press_and_read_outcome(client, "#deploy-form button[type=submit]").await
}

#[tokio::test(flavor = "multi_thread")]
async fn environments_and_deployments_from_the_portal_in_a_real_browser() {
    crypto();
    let directory = tempfile::tempdir().unwrap();
    let data = directory.path().join("data");
    let database = TestDatabase::create().await.unwrap();
    let server = Server::start(&data, &database);
    let router = server.router_port();
    let admin = server
        .admin_token()
        .expect("the first start prints the admin token");
    let repository = Repository::new(directory.path());
    api(
        &server,
        &admin,
        "POST",
        "/api/catalog/locations",
        Some(json!({"type": "url", "target": format!("{}/blob/main/catalog-info.yaml", repository.remote)})),
    )
    .await;
    wait_for_entity(
        &server,
        &admin,
        "/api/catalog/entities/by-name/component/default/orders",
    )
    .await;

    let driver = start_driver();
    let client = browser(&driver).await;
    sign_in_browser(&client, &server, &admin).await;

    // The header's Environments link; nothing there yet.
    click(&client, "header.top nav a[href='/environments']").await;
    wait_for_path(&client, "/environments").await;
    let empty = source(&client).await;
    assert!(empty.contains("No environments yet"), "{empty}");
    assert!(empty.contains("aria-current=\"page\">Environments</a>"));
    for kind in ["development", "staging", "production"] {
        assert!(
            empty.contains(&format!("<option value=\"{kind}\"")),
            "admins may create {kind}: {empty}"
        );
    }

    // A bad name comes back next to its field, with what was typed.
    create_environment(
        &client,
        &server,
        "Bad Name",
        "development",
        "GREETING=hello",
    )
    .await;
    let message = text_of(&client, "#env-name-error").await;
    assert!(message.contains("Bad Name"), "{message}");
    let refused = source(&client).await;
    assert!(refused.contains("aria-invalid=\"true\""), "{refused}");
    assert!(refused.contains("GREETING=hello</textarea>"), "{refused}");
    shoot_tall(&client, "env-create-error").await;

    // dev, then staging.
    create_environment(&client, &server, "dev", "development", "GREETING=hello").await;
    wait_for_path(&client, "/environments/dev").await;
    let created = source(&client).await;
    assert!(created.contains("Environment dev is ready."), "{created}");
    assert!(created.contains("<dt>GREETING</dt><dd class=\"wrap\">hello</dd>"));
    create_environment(&client, &server, "staging", "staging", "GREETING=hi").await;
    wait_for_path(&client, "/environments/staging").await;
    // The same name again: it exists.
    create_environment(&client, &server, "dev", "development", "").await;
    let message = text_of(&client, "#env-name-error").await;
    assert!(message.contains("already exists"), "{message}");

    // The component page: not deployed yet; Deploy to dev.
    let component_path = "/catalog/component/default/orders";
    client
        .goto(&format!("{}{component_path}", server.url))
        .await
        .unwrap();
    let before = source(&client).await;
    assert!(before.contains("Not deployed anywhere yet"), "{before}");
    assert!(before.contains("<option value=\"dev\">dev (development)</option>"));
    let started = Instant::now();
    let outcome = deploy_from_page(&client, "dev", "").await;
    eprintln!("deploy from the portal: {:?}", started.elapsed());
    let dev_url = format!("http://orders--dev.localhost:{router}");
    assert!(outcome.contains("Deployed to dev: Healthy"), "{outcome}");
    assert!(outcome.contains(&dev_url), "{outcome}");
    let url = client.current_url().await.unwrap();
    assert_eq!(url.path(), component_path);
    assert!(
        url.query().unwrap_or("").starts_with("deployment="),
        "{url}"
    );
    let link = client
        .find(Locator::Css("#deploy-outcome a.deploy-url"))
        .await
        .unwrap();
    assert_eq!(
        link.attr("href").await.unwrap().as_deref(),
        Some(dev_url.as_str())
    );

    // The URL answers through the router.
    assert_eq!(
        through_router(router, "orders--dev.localhost"),
        Some((200, "v1 hello".to_string()))
    );

    // The log tail shows the service's start-up line, escaped in a <pre>.
    click(
        &client,
        "article[data-environment='dev'] details.deploy-logs summary",
    )
    .await;
    let tail = text_of(&client, "article[data-environment='dev'] pre.log-tail").await;
    assert!(tail.contains("starting on"), "{tail}");
    // Variables are the masked ones; the runtime instance never shows.
    let deployed = source(&client).await;
    assert!(
        deployed.contains("<dt>API_TOKEN</dt><dd class=\"wrap\">********</dd>"),
        "{deployed}"
    );
    assert!(!deployed.contains(SECRET_VALUE), "a secret in the page");
    assert!(
        !deployed.contains(&data.display().to_string()),
        "the runtime instance (its checkout path) is in the page"
    );
    shoot_tall(&client, "env-component-deployed").await;

    // A revision that does not exist: the engine's refusal on the page.
    let outcome = deploy_from_page(&client, "dev", "no-such-branch").await;
    assert!(outcome.contains("no-such-branch"), "{outcome}");
    shoot(&client, "env-deploy-refused").await;

    // v2, then Roll back to v1.
    repository.push("v2");
    client
        .goto(&format!("{}{component_path}", server.url))
        .await
        .unwrap();
    let outcome = deploy_from_page(&client, "dev", "").await;
    assert!(outcome.contains("Deployed to dev: Healthy"), "{outcome}");
    assert_eq!(
        through_router(router, "orders--dev.localhost"),
        Some((200, "v2 hello".to_string()))
    );
    let outcome = press_and_read_outcome(
        &client,
        "article[data-environment='dev'] form.rollback-form button",
    )
    .await;
    assert!(outcome.contains("Rolled back to dev: Healthy"), "{outcome}");
    assert_eq!(
        through_router(router, "orders--dev.localhost"),
        Some((200, "v1 hello".to_string()))
    );

    // Promote what runs in dev to staging, with staging's config.
    select(
        &client,
        "article[data-environment='dev'] form.promote-form select",
        "staging",
    )
    .await;
    let outcome = press_and_read_outcome(
        &client,
        "article[data-environment='dev'] form.promote-form button",
    )
    .await;
    assert!(
        outcome.contains("Promoted to staging: Healthy"),
        "{outcome}"
    );
    assert_eq!(
        through_router(router, "orders--staging.localhost"),
        Some((200, "v1 hi".to_string()))
    );
    let promoted = source(&client).await;
    assert!(promoted.contains("<td>rollback</td>") && promoted.contains("<td>promote</td>"));
    shoot_tall(&client, "env-component-promoted").await;

    // The environments page: dev runs orders, Healthy.
    click(&client, "header.top nav a[href='/environments']").await;
    wait_for_path(&client, "/environments").await;
    // (Badges are upper-cased by the stylesheet, so compare in lower case.)
    let row = text_of(&client, "tr[data-environment='dev']")
        .await
        .to_lowercase();
    assert!(row.contains("orders") && row.contains("healthy"), "{row}");
    assert!(row.contains(&dev_url), "{row}");
    let staging = text_of(&client, "tr[data-environment='staging']")
        .await
        .to_lowercase();
    assert!(
        staging.contains("staging") && staging.contains("healthy"),
        "{staging}"
    );
    shoot_tall(&client, "env-list").await;

    // Someone who is neither an admin nor an owner sees the pages but none
    // of the buttons the policies would refuse them.
    let someone = api(
        &server,
        &admin,
        "POST",
        "/api/v1/tokens",
        Some(json!({"name": "someone", "principal": "user:default/someone"})),
    )
    .await["token"]
        .as_str()
        .unwrap()
        .to_string();
    let cookie = sign_in(&server, &someone).await;
    let (status, listed) = page(&server, &cookie, "/environments").await;
    assert_eq!(status, 200, "{listed}");
    assert!(listed.contains("data-environment=\"dev\"") && listed.contains("Healthy"));
    // The default policies let anyone signed in make development environments.
    assert!(listed.contains("<option value=\"development\""), "{listed}");
    assert!(!listed.contains("<option value=\"staging\""), "{listed}");
    assert!(!listed.contains("<option value=\"production\""), "{listed}");
    let csrf = hidden(&listed, "csrf");
    let (status, shown) = page(&server, &cookie, "/environments/staging").await;
    assert_eq!(status, 200);
    assert!(!shown.contains("/environments/staging/delete"), "{shown}");
    assert!(!shown.contains("Delete staging"), "{shown}");
    let (status, shown) = page(&server, &cookie, component_path).await;
    assert_eq!(status, 200);
    assert!(shown.contains("id=\"deployments\"") && shown.contains("Healthy"));
    for form in ["id=\"deploy-form\"", "rollback-form", "promote-form"] {
        assert!(!shown.contains(form), "{form} shown to someone: {shown}");
    }
    assert!(!shown.contains(SECRET_VALUE));
    // Forged forms, with their own session's CSRF token, are refused.
    for (path, pairs) in [
        (
            format!("{component_path}/deploy"),
            vec![("csrf", csrf.as_str()), ("environment", "dev")],
        ),
        (
            format!("{component_path}/rollback"),
            vec![("csrf", csrf.as_str()), ("environment", "dev")],
        ),
        (
            format!("{component_path}/promote"),
            vec![("csrf", csrf.as_str()), ("from", "dev"), ("to", "staging")],
        ),
        (
            "/environments/staging/delete".to_string(),
            vec![("csrf", csrf.as_str())],
        ),
        (
            "/environments".to_string(),
            vec![
                ("csrf", csrf.as_str()),
                ("name", "mine"),
                ("type", "production"),
            ],
        ),
    ] {
        let (status, body) = post(&server, &cookie, &path, &pairs).await;
        assert_eq!(status, 403, "{path}: {body}");
        assert!(body.contains("Not allowed"), "{path}: {body}");
    }
    // Without the session's CSRF token nothing is even decided.
    let (status, _) = post(
        &server,
        &cookie,
        &format!("{component_path}/deploy"),
        &[("csrf", "forged"), ("environment", "dev")],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        through_router(router, "orders--dev.localhost"),
        Some((200, "v1 hello".to_string())),
        "a refused form changed what runs"
    );
    let denied = api(
        &server,
        &admin,
        "GET",
        "/api/v1/audit?principal=user:default/someone&outcome=denied",
        None,
    )
    .await;
    let actions: Vec<&str> = denied["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|event| event["action"].as_str())
        .collect();
    assert!(
        actions.contains(&"deployment.create")
            && actions.contains(&"environment.delete")
            && actions.contains(&"environment.create"),
        "{actions:?}"
    );
    sign_out_browser(&client).await;
    sign_in_browser(&client, &server, &someone).await;
    client
        .goto(&format!("{}{component_path}", server.url))
        .await
        .unwrap();
    text_of(&client, "#deployments").await;
    shoot_tall(&client, "env-someone-component").await;
    sign_out_browser(&client).await;

    // The admin deletes dev from its page, after confirming.
    sign_in_browser(&client, &server, &admin).await;
    client
        .goto(&format!("{}/environments/dev", server.url))
        .await
        .unwrap();
    click(&client, "details.confirm summary").await;
    shoot_tall(&client, "env-delete-confirm").await;
    click(&client, "form.delete-form button").await;
    let notice = text_of(&client, "p.notice").await;
    assert!(notice.contains("Environment dev was deleted."), "{notice}");
    assert_eq!(client.current_url().await.unwrap().path(), "/environments");
    let after = source(&client).await;
    assert!(!after.contains("data-environment=\"dev\""), "{after}");
    assert!(after.contains("data-environment=\"staging\""));
    shoot(&client, "env-deleted").await;
    assert_eq!(
        through_router(router, "orders--dev.localhost").map(|(status, _)| status),
        Some(404)
    );
    let (status, _) = call(&server, &admin, "GET", "/api/v1/environments/dev", None).await;
    assert_eq!(status, 404);
    client.close().await.unwrap();
}
