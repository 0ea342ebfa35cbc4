//! Headless Chromium through chromedriver (Debian's `chromium` and
//! `chromium-driver`, which `.ci/run` installs), for the portal tests.
//! Screenshots go to `target/tmp/portal-screenshots/` for a person to look at.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use super::Server;

/// The window's size, and the size it goes back to after a screenshot at
/// another size.
const WIDTH: u32 = 1366;
const HEIGHT: u32 = 900;

pub fn screenshots() -> PathBuf {
    let directory = Path::new(env!("CARGO_TARGET_TMPDIR")).join("portal-screenshots");
    std::fs::create_dir_all(&directory).unwrap();
    directory
}

/// chromedriver on a free port, stopped when dropped.
pub struct Driver {
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

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn start_driver() -> Driver {
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
        profile: tempfile::tempdir().unwrap(),
    }
}

/// A headless Chromium session with a profile of its own.
pub async fn browser(driver: &Driver) -> Client {
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
                format!("--window-size={WIDTH},{HEIGHT}"),
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

/// A screenshot of the window, as `name.png`.
pub async fn shoot(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    std::fs::write(screenshots().join(format!("{name}.png")), png).unwrap();
}

/// A screenshot of a window `height` pixels tall, so the whole page is in
/// the picture; the window is its usual size again after.
pub async fn shoot_tall(client: &Client, name: &str, height: u32) {
    shoot_sized(client, name, WIDTH, height).await;
}

/// A screenshot at a phone's size.
pub async fn shoot_phone(client: &Client, name: &str) {
    shoot_sized(client, name, 390, 844).await;
}

async fn shoot_sized(client: &Client, name: &str, width: u32, height: u32) {
    client.set_window_size(width, height).await.unwrap();
    shoot(client, name).await;
    client.set_window_size(WIDTH, HEIGHT).await.unwrap();
}

/// Waits until the browser is at a path starting with `prefix` (a click
/// returns before the navigation it starts has finished); returns the path.
pub async fn wait_for_path(client: &Client, prefix: &str, limit: Duration) -> String {
    let deadline = Instant::now() + limit;
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

pub async fn source(client: &Client) -> String {
    client.source().await.unwrap()
}

/// The first element `css` selects, waiting up to `limit` for it.
pub async fn element(client: &Client, css: &str, limit: Duration) -> Element {
    client
        .wait()
        .at_most(limit)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|error| panic!("no {css}: {error}"))
}

/// Clicks the first element `css` selects, once it is there.
pub async fn click(client: &Client, css: &str) {
    element(client, css, Duration::from_secs(20))
        .await
        .click()
        .await
        .unwrap();
}

/// Replaces the text of the field `css` selects with `text`, once it is there.
pub async fn type_into(client: &Client, css: &str, text: &str) {
    let field = element(client, css, Duration::from_secs(20)).await;
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

/// Chooses `value` in the select `css` selects.
pub async fn select(client: &Client, css: &str, value: &str) {
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
pub async fn sign_in_browser(client: &Client, server: &Server, token: &str) {
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
