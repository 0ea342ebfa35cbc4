//! The portal and the API over plain HTTP, for what a browser would not
//! show: JSON calls as a token, signed-in sessions, pages and form posts.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::Server;

/// The Backstage example catalog.
pub fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus/backstage/catalog-model-examples")
        .canonicalize()
        .expect("the corpus is at ../shared/corpus")
}

/// The API as `token`: JSON in, JSON out, and the status.
pub async fn call(
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

/// Like `call`, for a call that must succeed: the answer.
pub async fn api(
    server: &Server,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Value {
    let (status, answer) = call(server, token, method, path, body).await;
    assert!(
        (200..300).contains(&status),
        "{method} {path}: {status} {answer}"
    );
    answer
}

/// A token for another principal, made by the admin.
pub async fn token_for(server: &Server, admin: &str, principal: &str) -> String {
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

/// Adds `policy` (Cedar, with its `@id`) to the policies, as the admin.
pub async fn add_policy(server: &Server, admin: &str, policy: &str) {
    let current = api(server, admin, "GET", "/api/v1/policies", None).await;
    let source = format!("{}\n{policy}", current["source"].as_str().unwrap());
    api(
        server,
        admin,
        "PUT",
        "/api/v1/policies",
        Some(json!({"source": source, "version": current["version"]})),
    )
    .await;
}

/// Waits until the catalog has read the entity at API `path` (locations
/// are read at start-up and when registered, in the background).
pub async fn wait_for_entity(server: &Server, token: &str, path: &str) {
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

/// The `name=value` pair of cookie `name` that a response sets.
pub fn set_cookie(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|value| value.split(';').next())
        .find(|pair| pair.split_once('=').is_some_and(|(key, _)| key == name))
        .map(str::to_string)
}

/// An HTTP client that does not follow redirects.
pub fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub fn encode(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// The value of the hidden input `name` on a page, unescaped.
pub fn hidden(html: &str, name: &str) -> String {
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

/// A signed-in HTTP session without a browser: the cookie to send.
pub async fn sign_in(server: &Server, token: &str) -> String {
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
pub async fn page(server: &Server, cookie: &str, path: &str) -> (u16, String) {
    let response = plain_client()
        .get(format!("{}{path}", server.url))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// A form POST with the session cookie: status, `Location` and body.
pub async fn post(
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
