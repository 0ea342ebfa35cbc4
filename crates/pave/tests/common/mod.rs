//! What the `pave` binary's tests share: a real server process, and (in
//! the submodules) a browser, the portal over HTTP and a service to deploy.
// Each test binary uses a different part of this module (and of its
// submodules, which this covers too).
#![allow(dead_code)]

pub mod browser;
pub mod portal;
pub mod service;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use pave_store::Backend;
use pave_store::testing::TestDatabase;

pub const BINARY: &str = env!("CARGO_BIN_EXE_pave");

/// reqwest and the WebDriver client share rustls; the binary installs ring.
pub fn crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A running `pave` server process.
pub struct Server {
    pub child: Child,
    pub url: String,
    pub stdout: Vec<String>,
    pub lines: Receiver<String>,
    pub database_url: String,
}

impl Server {
    /// `pave up` on SQLite, or `pave serve` on the test run's PostgreSQL.
    pub fn start(data_dir: &Path, database: &TestDatabase) -> Server {
        Server::start_with(data_dir, database, &[])
    }

    /// Like `start`, with more arguments (such as `--location FILE`).
    pub fn start_with(data_dir: &Path, database: &TestDatabase, extra: &[&str]) -> Server {
        Server::start_with_env(data_dir, database, extra, &[])
    }

    /// Like `start_with`, with environment variables set last (so they win
    /// over the test defaults, such as `PAVE_DEMO=false`).
    pub fn start_with_env(
        data_dir: &Path,
        database: &TestDatabase,
        extra: &[&str],
        environment: &[(&str, &str)],
    ) -> Server {
        let mut command = Command::new(BINARY);
        let database_url = match TestDatabase::backend() {
            Backend::Sqlite => {
                command
                    .args(["up", "--listen", "127.0.0.1:0", "--data-dir"])
                    .arg(data_dir);
                format!("sqlite://{}/pave.db", data_dir.display())
            }
            Backend::Postgres => {
                command
                    .args(["serve", "--listen", "127.0.0.1:0"])
                    .env("PAVE_DATA_DIR", data_dir)
                    .env("PAVE_DATABASE_URL", &database.url);
                database.url.clone()
            }
        };
        command
            .args(extra)
            .env_remove("PAVE_LISTEN")
            // Tests run side by side: each router gets a port of its own.
            .env("PAVE_ROUTER_LISTEN", "127.0.0.1:0")
            // No demo service: tests set up what they need.
            .env("PAVE_DEMO", "false")
            .env("PAVE_LOG_LEVEL", "warn")
            .envs(environment.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = command.spawn().expect("start pave");
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut seen = Vec::new();
        let url = loop {
            let line = lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|_| panic!("pave did not start; stdout so far: {seen:?}"));
            seen.push(line.clone());
            if let Some(url) = line.strip_prefix("Pave is up at ") {
                break url.trim().to_string();
            }
        };
        let mut server = Server {
            child,
            url,
            stdout: seen,
            lines,
            database_url,
        };
        server.wait_healthy();
        // Everything printed at start-up is printed before serving begins.
        while let Ok(line) = server.lines.recv_timeout(Duration::from_millis(100)) {
            server.stdout.push(line);
        }
        server
    }

    pub fn address(&self) -> String {
        self.url.trim_start_matches("http://").to_string()
    }

    /// The port Pave's router listens on, from the start-up lines.
    pub fn router_port(&self) -> u16 {
        self.stdout
            .iter()
            .find_map(|line| {
                line.trim()
                    .strip_prefix("router")
                    .and_then(|rest| rest.trim().rsplit(':').next())
                    .and_then(|port| port.parse().ok())
            })
            .expect("pave printed its router address")
    }

    pub fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if http_get(&self.address(), "/healthz").is_some_and(|(status, _)| status == 200) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("{} never became healthy", self.url);
    }

    pub fn admin_token(&self) -> Option<String> {
        self.stdout.iter().find_map(|line| {
            line.trim()
                .strip_prefix("admin token")
                .map(|token| token.trim().to_string())
        })
    }

    pub fn terminate(&mut self) -> std::process::ExitStatus {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
        self.wait()
    }

    pub fn wait(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "pave did not stop within 15 s");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    /// SIGTERM first, so Pave stops the processes it runs (a failing test
    /// leaves none behind); SIGKILL if it has not stopped after 10 s.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(self.child.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.1 GET, so health checks need no client library.
pub fn http_get(address: &str, path: &str) -> Option<(u16, String)> {
    http_get_host(address, address, path)
}

/// A minimal HTTP/1.1 GET to `address` with `Host: host`: the status and
/// the whole response.
pub fn http_get_host(address: impl ToSocketAddrs, host: &str, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(address).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    Some((status, response))
}

/// An authenticated GET of a JSON API route: (status, body as JSON).
pub fn api_get(address: &str, path: &str, token: &str) -> (u16, serde_json::Value) {
    let mut stream = TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|status| status.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body)
        .unwrap_or("");
    (
        status,
        serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
    )
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The standard output of a command that must have succeeded.
pub fn succeeded(output: &Output) -> String {
    assert!(
        output.status.success(),
        "expected success\nstdout: {}\nstderr: {}",
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout)
}
