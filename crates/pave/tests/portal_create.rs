//! The portal's Create section end to end: a real `pave` server (which
//! registers the golden paths at start) with the Backstage example groups,
//! driven by headless Chromium through chromedriver like `portal.rs`, and
//! over plain HTTP for what a browser would not show. Screenshots go to
//! `target/tmp/portal-screenshots/create-*.png`.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use pave_store::testing::TestDatabase;
use serde_json::{Value, json};

mod common;
use common::Server;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus/backstage/catalog-model-examples")
        .canonicalize()
        .expect("the corpus is at ../shared/corpus")
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
    client.set_window_size(1366, 1800).await.unwrap();
    shoot(client, name).await;
    client.set_window_size(1366, 900).await.unwrap();
}

/// Waits until the browser is at a path starting with `prefix`.
async fn wait_for_path(client: &Client, prefix: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
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
        "PUT" => client.put(&url),
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

/// A token for another principal, made by the admin.
async fn token_for(server: &Server, admin: &str, principal: &str) -> String {
    api(
        server,
        admin,
        "POST",
        "/api/v1/tokens",
        Some(json!({"name": format!("test {principal}"), "principal": principal})),
    )
    .await["token"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Waits until the catalog has read `reference` (locations are read at
/// start-up and when registered, in the background).
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

fn encode(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// The value of the hidden input `name` on a page, unescaped.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let value = html
        .split(&marker)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no hidden {name} in {html}"));
    value
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&quot;", "\"")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
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

/// A form POST with the session cookie: status, `Location` and body.
async fn post(
    server: &Server,
    cookie: &str,
    path: &str,
    pairs: &[(&str, &str)],
) -> (u16, String, String) {
    let response = plain_client()
        .post(format!("{}{path}", server.url))
        .header("cookie", cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(pairs))
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

/// Waits for a task to finish, through the API; returns it.
async fn finished_task(server: &Server, token: &str, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let task = api(
            server,
            token,
            "GET",
            &format!("/api/scaffolder/v2/tasks/{id}"),
            None,
        )
        .await;
        if ["completed", "failed", "cancelled"].contains(&task["status"].as_str().unwrap_or("")) {
            return task;
        }
        assert!(
            Instant::now() < deadline,
            "task {id} never finished: {task}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_golden_path_runs_from_the_portal_in_a_real_browser() {
    crypto();
    let data = tempfile::tempdir().unwrap();
    let database = TestDatabase::create().await.unwrap();
    let server = Server::start(data.path(), &database);
    let admin = server
        .admin_token()
        .expect("the first start prints the admin token");
    api(
        &server,
        &admin,
        "POST",
        "/api/catalog/locations",
        Some(json!({"type": "file", "target": corpus().join("acme-corp.yaml").display().to_string()})),
    )
    .await;
    wait_for_entity(
        &server,
        &admin,
        "/api/catalog/entities/by-name/template/default/python-service",
    )
    .await;
    wait_for_entity(
        &server,
        &admin,
        "/api/catalog/entities/by-name/group/default/team-a",
    )
    .await;

    let driver = start_driver();
    let client = browser(&driver).await;
    client.goto(&format!("{}/login", server.url)).await.unwrap();
    client
        .find(Locator::Css("#token"))
        .await
        .unwrap()
        .send_keys(&admin)
        .await
        .unwrap();
    click(&client, "form[action='/login'] button").await;
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

    // The header's Create link leads to the gallery.
    click(&client, "header.top nav a[href='/create']").await;
    wait_for_path(&client, "/create").await;
    client
        .wait()
        .for_element(Locator::Css(".template-card"))
        .await
        .unwrap();
    let gallery = source(&client).await;
    assert!(gallery.contains("Python service"), "{gallery}");
    assert!(gallery.contains("Rust service"));
    assert!(gallery.contains("aria-current=\"page\">Create</a>"));
    shoot_tall(&client, "create-gallery").await;

    // Choose the Python service; page 1 with a bad name shows the server's
    // message next to the field (the browser's own check is turned off, or
    // the pattern would stop the form first).
    click(
        &client,
        "a.button[href='/create/templates/default/python-service']",
    )
    .await;
    wait_for_path(&client, "/create/templates/default/python-service").await;
    let name = client
        .wait()
        .for_element(Locator::Css("#f-name"))
        .await
        .unwrap();
    name.send_keys("Bad Name").await.unwrap();
    client
        .find(Locator::Css("select#f-owner"))
        .await
        .unwrap()
        .select_by_value("group:default/team-a")
        .await
        .unwrap();
    client
        .execute(
            "document.getElementById('wizard').noValidate = true; return null;",
            vec![],
        )
        .await
        .unwrap();
    click(&client, ".wizard-actions button[value='next']").await;
    let error = client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("#f-name-error"))
        .await
        .unwrap();
    let message = error.text().await.unwrap();
    assert!(message.contains("Bad Name"), "{message}");
    let wizard = source(&client).await;
    assert!(
        wizard.contains("aria-invalid=\"true\" aria-describedby=\"f-name-error"),
        "{wizard}"
    );
    assert!(wizard.contains("One thing needs fixing"));
    shoot_tall(&client, "create-wizard-error").await;
    client.set_window_size(390, 844).await.unwrap();
    shoot(&client, "create-wizard-phone").await;
    client.set_window_size(1366, 900).await.unwrap();

    // Fix it; the owner chosen before is still chosen.
    let name = client.find(Locator::Css("#f-name")).await.unwrap();
    name.clear().await.unwrap();
    name.send_keys("orders").await.unwrap();
    let owner = client
        .find(Locator::Css("select#f-owner option[selected]"))
        .await
        .unwrap();
    assert_eq!(
        owner.attr("value").await.unwrap().as_deref(),
        Some("group:default/team-a")
    );
    click(&client, ".wizard-actions button[value='next']").await;

    // Page 2: the repository, in Pave's own git hosting.
    let repo_owner = client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("#f-repoUrl-owner"))
        .await
        .unwrap();
    let host = client
        .find(Locator::Css("#f-repoUrl-host option[selected]"))
        .await
        .unwrap();
    assert_eq!(host.attr("value").await.unwrap().as_deref(), Some("pave"));
    repo_owner.send_keys("team-a").await.unwrap();
    client
        .find(Locator::Css("#f-repoUrl-repo"))
        .await
        .unwrap()
        .send_keys("orders")
        .await
        .unwrap();
    click(&client, ".wizard-actions button[value='next']").await;

    // The review shows every value.
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(".wizard-actions button[value='create']"))
        .await
        .unwrap();
    let review = source(&client).await;
    for value in [
        "<dd>orders</dd>",
        "<dd>group:default/team-a</dd>",
        "<dd>pave?owner=team-a&amp;repo=orders</dd>",
        "<dd>A Python HTTP service created from Pave",
    ] {
        assert!(review.contains(value), "{value} in {review}");
    }
    shoot_tall(&client, "create-review").await;

    // Create: the task page follows the task to its end.
    click(&client, ".wizard-actions button[value='create']").await;
    let task_path = wait_for_path(&client, "/create/tasks/").await;
    let task_id = task_path.trim_start_matches("/create/tasks/").to_string();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        // The page reloads itself when the task ends: look afresh each time.
        let status = match client.find(Locator::Css("#task-status")).await {
            Ok(element) => element
                .attr("data-status")
                .await
                .ok()
                .flatten()
                .unwrap_or_default(),
            Err(_) => String::new(),
        };
        if status == "completed" && client.find(Locator::Css(".task-output")).await.is_ok() {
            break;
        }
        assert!(
            status != "failed",
            "the task failed: {}",
            source(&client).await
        );
        assert!(
            Instant::now() < deadline,
            "the task page never said completed (it says {status:?})"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for step in ["fetch", "publish", "register", "deploy"] {
        let item = client
            .find(Locator::Css(&format!("li.task-step[data-step='{step}']")))
            .await
            .unwrap();
        assert_eq!(
            item.attr("data-status").await.unwrap().as_deref(),
            Some("completed"),
            "step {step}"
        );
    }
    let done = source(&client).await;
    assert!(done.contains("Next steps"), "{done}");
    assert!(done.contains("Beginning step Fetch the skeleton"));
    shoot_tall(&client, "create-task-completed").await;

    // The golden path ends with the service running in dev, through the router.
    let dev = client
        .find(Locator::LinkText("Open in dev"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap_or_default();
    let router = server.router_port();
    assert_eq!(dev, format!("http://orders--dev.localhost:{router}"));
    let answer = {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", router)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        write!(
            stream,
            "GET / HTTP/1.1\r\nHost: orders--dev.localhost\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    };
    assert!(
        answer.split(' ').nth(1) == Some("200") && answer.contains("\"service\": \"orders\""),
        "{answer}"
    );

    // The output leads to the new component, owned by the chosen group.
    client
        .find(Locator::LinkText("Open in catalog"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&client, "/catalog/component/default/orders").await;
    let component = source(&client).await;
    assert!(component.contains("<h1>orders</h1>"), "{component}");
    assert!(component.contains("group:default/team-a"), "{component}");
    client.close().await.unwrap();

    // The repository exists with exactly one commit.
    let git_dir = data.path().join("repositories/team-a/orders.git");
    let output = Command::new("git")
        .arg("--git-dir")
        .arg(&git_dir)
        .args(["rev-list", "--count", "main"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "1");

    // Someone else cannot see the admin's task.
    let someone = token_for(&server, &admin, "user:default/someone").await;
    let cookie = sign_in(&server, &someone).await;
    let task_page = format!("/create/tasks/{task_id}");
    let (status, body) = page(&server, &cookie, &task_page).await;
    assert_eq!(status, 404, "{body}");
    assert!(!body.contains("python-service"));
    let (status, _) = page(&server, &cookie, &format!("{task_page}/events")).await;
    assert_eq!(status, 404);
    let (status, list) = page(&server, &cookie, "/create/tasks").await;
    assert_eq!(status, 200);
    assert!(!list.contains(&task_id), "{list}");
    assert!(list.contains("No tasks yet"));
    let admin_cookie = sign_in(&server, &admin).await;
    let (_, list) = page(&server, &admin_cookie, "/create/tasks").await;
    assert!(list.contains(&task_id), "{list}");
}

/// A template with a secret, a greeting and an optional wait.
const SECRET_TEMPLATE: &str = r#"apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: secret-demo
  title: Secret demo
  description: Greets someone with a token it never shows.
  tags: [demo]
spec:
  owner: group:default/team-a
  type: demo
  parameters:
    - title: Who
      required: [name, token]
      properties:
        name:
          title: Name
          type: string
          pattern: '^[a-z]+$'
        token:
          title: Token
          type: string
          minLength: 8
          ui:field: Secret
    - title: How long
      properties:
        seconds:
          title: Seconds
          type: integer
          minimum: 0
          maximum: 60
          default: 0
  steps:
    - id: hello
      name: Say hello
      action: debug:log
      input:
        message: Hello ${{ parameters.name }}, your token is ${{ secrets.token }}
    - id: wait
      action: debug:wait
      input:
        seconds: ${{ parameters.seconds }}
  output:
    text:
      - title: Done
        content: "<b>${{ parameters.name }}</b> is greeted\nsecond line"
"#;

/// A template that asks for nothing and uses an action Pave does not offer.
const UNRUNNABLE_TEMPLATE: &str = r#"apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: to-github
  title: To GitHub
spec:
  owner: group:default/team-a
  type: demo
  steps:
    - id: publish
      action: publish:github
      input:
        repoUrl: github.com?owner=a&repo=b
"#;

/// Walks the secret template's wizard over HTTP up to its review; returns
/// the review page.
async fn fill_in(server: &Server, cookie: &str, seconds: &str) -> String {
    let path = "/create/templates/default/secret-demo";
    let (status, first) = page(server, cookie, path).await;
    assert_eq!(status, 200, "{first}");
    let (csrf, state) = (hidden(&first, "csrf"), hidden(&first, "state"));
    let (status, _, second) = post(
        server,
        cookie,
        path,
        &[
            ("csrf", &csrf),
            ("state", &state),
            ("draft", ""),
            ("page", "0"),
            ("go", "next"),
            ("p:name", "ada"),
            ("p:token", "s3cret-token-value"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{second}");
    assert!(!second.contains("s3cret"), "a secret in a page: {second}");
    let draft = hidden(&second, "draft");
    assert_eq!(draft.len(), 64);
    let state = hidden(&second, "state");
    assert!(!state.contains("token"), "{state}");
    let (status, _, review) = post(
        server,
        cookie,
        path,
        &[
            ("csrf", &csrf),
            ("state", &state),
            ("draft", &draft),
            ("page", "1"),
            ("go", "next"),
            ("p:seconds", seconds),
        ],
    )
    .await;
    assert_eq!(status, 200, "{review}");
    review
}

#[tokio::test(flavor = "multi_thread")]
async fn the_wizard_checks_every_page_keeps_secrets_out_of_pages_and_follows_policies() {
    crypto();
    let data = tempfile::tempdir().unwrap();
    let database = TestDatabase::create().await.unwrap();
    let server = Server::start(data.path(), &database);
    let admin = server.admin_token().unwrap();
    for (name, content) in [
        ("secret-demo", SECRET_TEMPLATE),
        ("to-github", UNRUNNABLE_TEMPLATE),
    ] {
        let file = data.path().join(format!("{name}.yaml"));
        std::fs::write(&file, content).unwrap();
        api(
            &server,
            &admin,
            "POST",
            "/api/catalog/locations",
            Some(json!({"type": "file", "target": file.display().to_string()})),
        )
        .await;
        wait_for_entity(
            &server,
            &admin,
            &format!("/api/catalog/entities/by-name/template/default/{name}"),
        )
        .await;
    }
    let cookie = sign_in(&server, &admin).await;

    // The gallery: search, tag filter with a chip, bad parameters.
    let (_, gallery) = page(&server, &cookie, "/create?q=greets").await;
    assert!(gallery.contains("Secret demo") && !gallery.contains("Python service"));
    let (_, tagged) = page(&server, &cookie, "/create?tag=demo").await;
    assert!(tagged.contains("Secret demo") && tagged.contains("class=\"chip\""));
    let (_, none) = page(&server, &cookie, "/create?q=nothing-like-this").await;
    assert!(none.contains("No template matches"), "{none}");
    let (status, bad) = page(&server, &cookie, "/create?colour=red").await;
    assert_eq!(status, 400, "{bad}");
    let (status, _) = page(&server, &cookie, "/create/templates/default/no-such").await;
    assert_eq!(status, 404);

    // A template without pages goes straight to the review; what the engine
    // refuses there is said on it.
    let (status, review) = page(&server, &cookie, "/create/templates/default/to-github").await;
    assert_eq!(status, 200);
    assert!(
        review.contains("This template asks for nothing."),
        "{review}"
    );
    let (status, _, refused) = post(
        &server,
        &cookie,
        "/create/templates/default/to-github",
        &[
            ("csrf", &hidden(&review, "csrf")),
            ("state", "{}"),
            ("draft", ""),
            ("page", "0"),
            ("go", "create"),
        ],
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused.contains("role=\"alert\""), "{refused}");
    assert!(refused.contains("publish:github"), "{refused}");

    // Page 1 is checked on the server, problem by field.
    let path = "/create/templates/default/secret-demo";
    let (_, first) = page(&server, &cookie, path).await;
    let (csrf, state) = (hidden(&first, "csrf"), hidden(&first, "state"));
    assert!(first.contains("pattern=\"[a-z]+\""), "HTML5 checks too");
    let (status, _, refused) = post(
        &server,
        &cookie,
        path,
        &[
            ("csrf", &csrf),
            ("state", &state),
            ("draft", ""),
            ("page", "0"),
            ("go", "next"),
            ("p:name", "Ada Lovelace"),
            ("p:token", "tiny7"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert!(refused.contains("id=\"f-name-error\""), "{refused}");
    assert!(refused.contains("id=\"f-token-error\""), "{refused}");
    assert!(
        refused.contains("value=\"Ada Lovelace\""),
        "what was typed stays"
    );
    assert!(!refused.contains("tiny7"), "a secret in a page: {refused}");
    // A form without the session's token changes nothing.
    let (status, _, _) = post(
        &server,
        &cookie,
        path,
        &[("csrf", "forged"), ("page", "0"), ("go", "next")],
    )
    .await;
    assert_eq!(status, 400);

    // The review masks the secret; Create starts the task.
    let review = fill_in(&server, &cookie, "0").await;
    assert!(review.contains("<dd>ada</dd>") && review.contains("<dd>••••</dd>"));
    assert!(!review.contains("s3cret"));
    let pairs = [
        ("csrf", hidden(&review, "csrf")),
        ("state", hidden(&review, "state")),
        ("draft", hidden(&review, "draft")),
        ("page", "2".to_string()),
        ("go", "create".to_string()),
    ];
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, location, _) = post(&server, &cookie, path, &pairs).await;
    assert_eq!(status, 303);
    let id = location
        .strip_prefix("/create/tasks/")
        .expect("the task's page")
        .to_string();
    let task = finished_task(&server, &admin, &id).await;
    assert_eq!(task["status"], "completed", "{task}");
    let stored = task.to_string();
    assert!(
        !stored.contains("s3cret"),
        "the secret was stored: {stored}"
    );
    assert_eq!(task["spec"]["parameters"]["token"], "*".repeat(18));
    assert_eq!(task["createdBy"], "user:default/admin");

    // Its page: steps, the masked log, the output escaped with its breaks.
    let (status, shown) = page(&server, &cookie, &location).await;
    assert_eq!(status, 200);
    assert!(shown.contains("data-step=\"hello\" data-status=\"completed\""));
    assert!(shown.contains("your token is ***"), "{shown}");
    assert!(!shown.contains("s3cret"));
    assert!(shown.contains("&#60;b&#62;ada&#60;/b&#62; is greeted\nsecond line"));
    assert!(!shown.contains("http-equiv=\"refresh\""), "finished");
    // The event stream replays the events and ends; nothing is left after.
    let events = plain_client()
        .get(format!("{}{location}/events", server.url))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), 200);
    assert!(
        events.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let stream = events.text().await.unwrap();
    assert!(stream.contains("event: log") && stream.contains("event: completion"));
    assert!(!stream.contains("s3cret"));
    let last: i64 = stream
        .lines()
        .filter_map(|line| line.strip_prefix("id: "))
        .filter_map(|id| id.trim().parse().ok())
        .max()
        .unwrap();
    let (status, _) = page(&server, &cookie, &format!("{location}/events?after={last}")).await;
    assert_eq!(status, 204);

    // A running task can be cancelled; meanwhile its page reloads itself
    // without JavaScript and offers the live view.
    let review = fill_in(&server, &cookie, "30").await;
    let pairs = [
        ("csrf", hidden(&review, "csrf")),
        ("state", hidden(&review, "state")),
        ("draft", hidden(&review, "draft")),
        ("page", "2".to_string()),
        ("go", "create".to_string()),
    ];
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (_, running, _) = post(&server, &cookie, path, &pairs).await;
    let (_, shown) = page(&server, &cookie, &running).await;
    assert!(shown.contains("<noscript><meta http-equiv=\"refresh\" content=\"2\"></noscript>"));
    assert!(shown.contains(&format!("data-task-events=\"{running}/events\"")));
    assert!(shown.contains("Cancel this task"));
    let (status, _, _) = post(
        &server,
        &cookie,
        &format!("{running}/cancel"),
        &[("csrf", "forged")],
    )
    .await;
    assert_eq!(status, 400);
    let (status, back, _) = post(
        &server,
        &cookie,
        &format!("{running}/cancel"),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!((status, back.as_str()), (303, running.as_str()));
    let running_id = running.trim_start_matches("/create/tasks/");
    let task = finished_task(&server, &admin, running_id).await;
    assert_eq!(task["status"], "cancelled", "{task}");

    // Another user: no task of the admin's, and a template a policy keeps
    // them from running has no Choose button and a 403 wizard.
    let guest = token_for(&server, &admin, "user:default/guest").await;
    let current = api(&server, &admin, "GET", "/api/v1/policies", None).await;
    let source = format!(
        "{}\n@id(\"no-demo-for-guest\")\nforbid (principal == Pave::User::\"default/guest\", action == Pave::Action::\"scaffolder.template.run\", resource is Pave::Entity)\n  when {{ resource.tags.contains(\"demo\") }};\n",
        current["source"].as_str().unwrap()
    );
    api(
        &server,
        &admin,
        "PUT",
        "/api/v1/policies",
        Some(json!({"source": source, "version": current["version"]})),
    )
    .await;
    let guest_cookie = sign_in(&server, &guest).await;
    let (status, _) = page(&server, &guest_cookie, &location).await;
    assert_eq!(status, 404);
    let (status, _, _) = post(
        &server,
        &guest_cookie,
        &format!("{running}/cancel"),
        &[("csrf", "whatever")],
    )
    .await;
    assert_eq!(status, 400, "no CSRF token of theirs");
    let (_, gallery) = page(&server, &guest_cookie, "/create").await;
    assert!(gallery.contains("Secret demo") && gallery.contains("Python service"));
    assert!(!gallery.contains("href=\"/create/templates/default/secret-demo\""));
    assert!(gallery.contains("href=\"/create/templates/default/python-service\""));
    assert!(gallery.contains("You may not run this template."));
    let (status, refused) = page(&server, &guest_cookie, path).await;
    assert_eq!(status, 403, "{refused}");
    let (status, _) = page(
        &server,
        &guest_cookie,
        "/create/templates/default/python-service",
    )
    .await;
    assert_eq!(status, 200);
}
