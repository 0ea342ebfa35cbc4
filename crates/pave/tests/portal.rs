//! The portal end to end: a real `pave` server on 127.0.0.1 loaded with the
//! Backstage example catalog, driven by headless Chromium through
//! chromedriver (Debian's `chromium` and `chromium-driver`, which `.ci/run`
//! installs). Screenshots of every page go to
//! `target/tmp/portal-screenshots/` for a person to look at.

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
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_driver() -> Driver {
    let port = free_port();
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
        _profile: tempfile::tempdir().unwrap(),
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
                format!("--user-data-dir={}", driver._profile.path().display()),
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

/// Waits until the browser is at a path starting with `prefix` (a click
/// returns before the navigation it starts has finished).
async fn wait_for_path(client: &Client, prefix: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let url = client.current_url().await.unwrap();
        if url.path().starts_with(prefix) {
            return url.to_string();
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

/// The API as the admin: JSON in, JSON out.
async fn api(server: &Server, token: &str, method: &str, path: &str, body: Option<Value>) -> Value {
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
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{method} {path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

fn encode(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// Registers the Backstage example catalog through the API.
async fn load_examples(server: &Server, admin: &str) {
    for file in ["all.yaml", "acme-corp.yaml"] {
        api(
            server,
            admin,
            "POST",
            "/api/catalog/locations",
            Some(json!({"type": "file", "target": corpus().join(file).display().to_string()})),
        )
        .await;
    }
}

/// The `name=value` pair of cookie `name` that a response sets.
fn set_cookie(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|value| value.split(';').next())
        .find(|pair| pair.split_once('=').is_some_and(|(key, _)| key == name))
        .map(str::to_string)
}

/// A signed-in HTTP session without a browser: the cookie to send.
async fn sign_in(server: &Server, token: &str) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let form = client
        .get(format!("{}/login", server.url))
        .send()
        .await
        .unwrap();
    let login_cookie = set_cookie(form.headers(), "pave_login_csrf").unwrap();
    let html = form.text().await.unwrap();
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_string();
    let response = client
        .post(format!("{}/login", server.url))
        .header("cookie", login_cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(&[
            ("csrf", csrf.as_str()),
            ("token", token),
            ("next", "/"),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    set_cookie(response.headers(), "pave_session").expect("a session cookie")
}

async fn page(server: &Server, cookie: &str, path: &str) -> (u16, String) {
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}{path}", server.url))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// The count the explorer shows for `value` in a facet list.
fn facet_count(html: &str, value: &str) -> Option<u64> {
    let marker = format!("<span>{value}</span> <span class=\"count\">");
    let rest = html.split(&marker).nth(1)?;
    rest.split('<').next()?.parse().ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_portal_works_end_to_end_in_a_real_browser() {
    crypto();
    let data = tempfile::tempdir().unwrap();
    let database = TestDatabase::create().await.unwrap();
    let server = Server::start(data.path(), &database);
    let admin = server
        .admin_token()
        .expect("the first start prints the admin token");
    load_examples(&server, &admin).await;

    let driver = start_driver();
    let client = browser(&driver).await;

    // Signed out, every page leads to the sign-in page.
    client
        .goto(&format!("{}/catalog", server.url))
        .await
        .unwrap();
    assert!(
        client
            .current_url()
            .await
            .unwrap()
            .path()
            .starts_with("/login")
    );
    shoot(&client, "01-login").await;
    client
        .find(Locator::Css("#token"))
        .await
        .unwrap()
        .send_keys("pave_not_a_token")
        .await
        .unwrap();
    client
        .find(Locator::Css("form[action='/login'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    client
        .wait()
        .for_element(Locator::Css("p.alert"))
        .await
        .unwrap();
    assert!(source(&client).await.contains("Sign-in failed"));

    // Sign in; the page asked for before comes next.
    client
        .find(Locator::Css("#token"))
        .await
        .unwrap()
        .send_keys(&admin)
        .await
        .unwrap();
    client
        .find(Locator::Css("form[action='/login'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&client, "/catalog").await;
    client.goto(&format!("{}/", server.url)).await.unwrap();
    let home = source(&client).await;
    assert!(home.contains("Recently changed") && home.contains("Processing errors"));
    shoot(&client, "02-home").await;

    // Search from the header.
    let search = client.find(Locator::Css("#top-search")).await.unwrap();
    search.send_keys("petstore\n").await.unwrap();
    client
        .wait()
        .for_element(Locator::Css(
            "a[href='/catalog/component/default/petstore']",
        ))
        .await
        .unwrap();
    assert_eq!(
        client.current_url().await.unwrap().query(),
        Some("q=petstore")
    );
    shoot(&client, "03-search").await;

    // Open the component; the graph and the relations are there.
    client
        .find(Locator::Css(
            "a[href='/catalog/component/default/petstore']",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&client, "/catalog/component/default/petstore").await;
    let entity = source(&client).await;
    assert!(entity.contains("<h1>petstore</h1>"), "{entity}");
    assert!(entity.contains("class=\"pave-graph\"") || entity.contains("pave-graph"));
    assert!(entity.contains("Provides APIs"));
    client
        .find(Locator::Css(".graph-frame svg"))
        .await
        .expect("the dependency graph is drawn");
    // Tall windows, so the whole page is in the picture.
    client.set_window_size(1366, 2200).await.unwrap();
    shoot(&client, "04-entity").await;
    client.set_window_size(1366, 900).await.unwrap();

    // Follow a relation to the API: its OpenAPI definition reads as operations.
    client
        .find(Locator::Css(
            ".relations a[href='/catalog/api/default/petstore']",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&client, "/catalog/api/default/petstore").await;
    let api_page = source(&client).await;
    assert!(api_page.contains("method-get") && api_page.contains("/pets"));
    client.set_window_size(1366, 2200).await.unwrap();
    shoot(&client, "05-api").await;
    client.set_window_size(1366, 900).await.unwrap();

    // Filter the explorer by owner through its facet.
    client
        .goto(&format!("{}/catalog", server.url))
        .await
        .unwrap();
    client
        .find(Locator::XPath(
            "//section[@class='facet'][h2='Owner']//a[span[1]='team-c']",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while client.current_url().await.unwrap().query() != Some("owner=team-c") {
        assert!(Instant::now() < deadline, "the owner facet did not apply");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let owners: Vec<String> = {
        let mut owners = Vec::new();
        for cell in client
            .find_all(Locator::Css("tbody tr td:nth-child(4)"))
            .await
            .unwrap()
        {
            owners.push(cell.text().await.unwrap());
        }
        owners
    };
    assert!(!owners.is_empty());
    assert!(owners.iter().all(|owner| owner == "team-c"), "{owners:?}");
    shoot(&client, "06-explorer").await;
    client.set_window_size(390, 844).await.unwrap();
    shoot(&client, "07-explorer-phone").await;
    client.set_window_size(1366, 900).await.unwrap();

    // A bad parameter is a friendly page, not a stack trace.
    client
        .goto(&format!("{}/catalog?page=zero", server.url))
        .await
        .unwrap();
    let error = source(&client).await;
    assert!(error.contains("is not a page number"));
    shoot(&client, "08-error").await;

    // Sign out: the session is gone.
    client.goto(&format!("{}/", server.url)).await.unwrap();
    client
        .find(Locator::Css("form[action='/logout'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&client, "/login").await;
    client.goto(&format!("{}/", server.url)).await.unwrap();
    assert!(
        client
            .current_url()
            .await
            .unwrap()
            .path()
            .starts_with("/login")
    );
    client.close().await.unwrap();
}

#[tokio::test]
async fn an_entity_hidden_by_policy_appears_nowhere_in_the_portal() {
    crypto();
    let data = tempfile::tempdir().unwrap();
    let database = TestDatabase::create().await.unwrap();
    let server = Server::start(data.path(), &database);
    let admin = server.admin_token().unwrap();
    load_examples(&server, &admin).await;
    let guest = api(
        &server,
        &admin,
        "POST",
        "/api/v1/tokens",
        Some(json!({"name": "guest", "principal": "user:default/guest"})),
    )
    .await["token"]
        .as_str()
        .unwrap()
        .to_string();
    let current = api(&server, &admin, "GET", "/api/v1/policies", None).await;
    let source = format!(
        "{}\n@id(\"hide-petstore\")\nforbid (principal == Pave::User::\"default/guest\", action == Pave::Action::\"catalog.entity.read\", resource is Pave::Entity)\n  when {{ resource.kind == \"component\" && resource.name == \"petstore\" }};\n",
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

    let admin_cookie = sign_in(&server, &admin).await;
    let guest_cookie = sign_in(&server, &guest).await;
    let hidden = "/catalog/component/default/petstore";

    // The admin sees it: the test would prove nothing otherwise.
    let (_, list) = page(&server, &admin_cookie, "/catalog?q=petstore").await;
    assert!(list.contains(hidden));
    let (_, all) = page(&server, &admin_cookie, "/catalog").await;
    let components = facet_count(&all, "Component").unwrap();

    let (_, list) = page(&server, &guest_cookie, "/catalog?q=petstore").await;
    assert!(!list.contains(hidden), "search");
    let (_, all) = page(&server, &guest_cookie, "/catalog").await;
    assert_eq!(
        facet_count(&all, "Component"),
        Some(components - 1),
        "facet counts"
    );
    let (_, owned) = page(&server, &guest_cookie, "/catalog?owner=team-c").await;
    assert!(!owned.contains(hidden), "a filtered list");
    let (status, body) = page(&server, &guest_cookie, hidden).await;
    assert_eq!(status, 404, "its page");
    assert!(!body.contains("The Petstore is an example"));
    let (status, api_page) = page(&server, &guest_cookie, "/catalog/api/default/petstore").await;
    assert_eq!(status, 200);
    assert!(
        !api_page.contains(hidden),
        "relations and graph of a related entity"
    );
    assert!(!api_page.contains("component:default/petstore"));
    let (_, team) = page(&server, &guest_cookie, "/catalog/group/default/team-c").await;
    assert!(!team.contains(hidden), "the owner's page");
    let (_, home) = page(&server, &guest_cookie, "/").await;
    assert!(!home.contains(hidden), "the home page");
}

#[tokio::test]
async fn bad_input_gets_a_friendly_page_and_forms_need_their_csrf_token() {
    crypto();
    let data = tempfile::tempdir().unwrap();
    let database = TestDatabase::create().await.unwrap();
    let server = Server::start(data.path(), &database);
    let admin = server.admin_token().unwrap();
    let cookie = sign_in(&server, &admin).await;
    for (path, status, says) in [
        ("/catalog?page=-1", 400, "page number"),
        ("/catalog?sort=colour", 400, "not a column"),
        ("/catalog?colour=red", 400, "no `colour` parameter"),
        ("/catalog?kind=a,b", 400, "comma"),
        ("/catalog?q=%FF%FE", 200, "No entities match"),
        ("/catalog/component/default/nothing-here", 404, "no entity"),
        ("/no/such/page", 404, "no page at this address"),
        ("/static/nothing.css", 404, "no file"),
        ("/logout", 405, "not for opening"),
    ] {
        let (got, body) = page(&server, &cookie, path).await;
        assert_eq!(got, status, "{path}: {body}");
        assert!(body.contains(says), "{path}: {body}");
        assert!(body.contains("<!doctype html>"), "{path} is a page");
        assert!(
            !body.contains("panicked") && !body.contains("src/"),
            "{path}"
        );
    }
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // Signing out without the session's CSRF token does nothing.
    let response = client
        .post(format!("{}/logout", server.url))
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(&[("csrf", "forged")]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(page(&server, &cookie, "/").await.0, 200, "still signed in");
    // Signing in without the form's token is refused.
    let response = client
        .post(format!("{}/login", server.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(encode(&[("token", admin.as_str())]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    // The API is unchanged: JSON errors for machines.
    let response = client
        .get(format!("{}/api/no-such-route", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert!(response.text().await.unwrap().contains("\"error\""));
}
