//! The API client the CLI commands use, and the saved login.

use std::path::PathBuf;

use anyhow::{Context, anyhow, bail};
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::cli::Global;

pub const DEFAULT_SERVER: &str = "http://127.0.0.1:7007";

/// What `pave login` saves.
#[derive(Debug, Serialize, Deserialize)]
pub struct Credentials {
    pub server: String,
    pub token: String,
}

/// Where the login is saved: `$PAVE_CONFIG_DIR`, else the user's config dir.
pub fn credentials_path() -> anyhow::Result<PathBuf> {
    let directory = match std::env::var_os("PAVE_CONFIG_DIR") {
        Some(directory) => PathBuf::from(directory),
        None => dirs::config_dir()
            .ok_or_else(|| anyhow!("cannot find your config directory; set PAVE_CONFIG_DIR"))?
            .join("pave"),
    };
    Ok(directory.join("credentials.json"))
}

pub fn load_credentials() -> anyhow::Result<Option<Credentials>> {
    let path = credentials_path()?;
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .with_context(|| format!("{} is damaged; run `pave login` again", path.display())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error).with_context(|| format!("cannot read {}", path.display())),
    }
}

pub fn save_credentials(credentials: &Credentials) -> anyhow::Result<PathBuf> {
    let path = credentials_path()?;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let text = serde_json::to_string_pretty(credentials)?;
    // The token is a secret: only the user may read the file.
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    std::io::Write::write_all(&mut file, text.as_bytes())?;
    Ok(path)
}

/// A client for one server with one token.
pub struct Client {
    http: reqwest::Client,
    pub server: String,
    token: Option<String>,
}

impl Client {
    /// Picks server and token: flags and PAVE_* variables first, then the saved login.
    pub fn from_global(global: &Global) -> anyhow::Result<Client> {
        let saved = load_credentials()?;
        let server = global
            .server
            .clone()
            .or_else(|| saved.as_ref().map(|saved| saved.server.clone()))
            .unwrap_or_else(|| DEFAULT_SERVER.to_string());
        let token = global
            .token
            .clone()
            .or_else(|| saved.map(|saved| saved.token));
        Client::new(&server, token)
    }

    pub fn new(server: &str, token: Option<String>) -> anyhow::Result<Client> {
        let server = server.trim_end_matches('/').to_string();
        if !(server.starts_with("http://") || server.starts_with("https://")) {
            bail!("--server `{server}` must start with http:// or https://");
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("pave-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("cannot set up the HTTP client")?;
        Ok(Client {
            http,
            server,
            token,
        })
    }

    /// Sends a request and returns the JSON answer, or the server's error as
    /// one clear message.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        self.send_with(method, path, &[], body).await
    }

    pub async fn send_with(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        let Some(token) = &self.token else {
            bail!(
                "no token: run `pave login --server {} --token TOKEN`, or set PAVE_TOKEN",
                self.server
            );
        };
        let url = format!("{}{path}", self.server);
        let mut request = self
            .http
            .request(method, &url)
            .bearer_auth(token)
            .query(query);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|error| {
            anyhow!(
                "cannot reach Pave at {}: {}. Is it running? Start one with `pave up`",
                self.server,
                root_cause(&error)
            )
        })?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if status.is_success() {
            if text.trim().is_empty() {
                return Ok(Value::Null);
            }
            return serde_json::from_str(&text).with_context(|| {
                format!("{url} answered {status} with something that is not JSON")
            });
        }
        Err(server_error(status, &text))
    }

    /// Opens a streaming GET (server-sent events) and returns the response
    /// once its status is a success, for reading with `Response::chunk`.
    /// `last_event_id` resumes a stream after that event.
    pub async fn stream(
        &self,
        path: &str,
        query: &[(&str, String)],
        last_event_id: Option<&str>,
    ) -> anyhow::Result<reqwest::Response> {
        let Some(token) = &self.token else {
            bail!(
                "no token: run `pave login --server {} --token TOKEN`, or set PAVE_TOKEN",
                self.server
            );
        };
        let url = format!("{}{path}", self.server);
        let mut request = self
            .http
            .get(&url)
            .bearer_auth(token)
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .query(query);
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        let response = request.send().await.map_err(|error| {
            anyhow!(
                "cannot reach Pave at {}: {}",
                self.server,
                root_cause(&error)
            )
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let text = response.text().await.unwrap_or_default();
        Err(server_error(status, &text))
    }
}

/// An error answer of the API, with its HTTP status for callers that react
/// to some (`error.downcast_ref::<ServerError>()`). Displays as the one
/// clear message.
#[derive(Debug)]
pub struct ServerError {
    pub status: StatusCode,
    message: String,
}

impl std::fmt::Display for ServerError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.message)
    }
}

impl std::error::Error for ServerError {}

fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

fn server_error(status: StatusCode, text: &str) -> anyhow::Error {
    let parsed: Option<Value> = serde_json::from_str(text).ok();
    let error = parsed.as_ref().and_then(|value| value.get("error"));
    let message = error
        .and_then(|error| error.get("message"))
        .and_then(Value::as_str)
        .unwrap_or(text);
    let name = error
        .and_then(|error| error.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("Error");
    let mut message = format!("{message} ({name}, HTTP {})", status.as_u16());
    if let Some(diagnostics) = error
        .and_then(|error| error.get("diagnostics"))
        .and_then(Value::as_array)
    {
        for diagnostic in diagnostics {
            message.push_str("\n  ");
            message.push_str(&crate::output::diagnostic_line(diagnostic));
        }
    }
    anyhow::Error::new(ServerError { status, message })
}
