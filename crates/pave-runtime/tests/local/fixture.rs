//! Shared helpers: a runtime over a temporary root that cleans up after
//! itself, plan builders, a tiny HTTP server in Python, and `/proc` checks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use pave_runtime::{
    EnvironmentPlan, InstanceSpec, InstanceStatus, LocalOptions, LocalRuntime, ProcessSpec,
    Runtime, free_ports,
};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Options that make restarts, probes and stops quick.
pub fn fast_options() -> LocalOptions {
    LocalOptions {
        stop_grace: Duration::from_secs(1),
        backoff_initial: Duration::from_millis(50),
        backoff_max: Duration::from_millis(800),
        crash_loop_restarts: 3,
        crash_loop_window: Duration::from_secs(60),
        probe_interval: Duration::from_millis(100),
        probe_timeout: Duration::from_millis(500),
        liveness_failures: 2,
        ready_after: Duration::from_millis(200),
        log_max_bytes: 1024 * 1024,
        follow_poll: Duration::from_millis(50),
    }
}

/// A runtime over a temporary root, plus a working directory. Dropping it
/// kills every process recorded under the root.
pub struct Fixture {
    pub runtime: LocalRuntime,
    pub work: TempDir,
    root: TempDir,
}

impl Fixture {
    pub fn new() -> Fixture {
        Fixture::with_options(fast_options())
    }

    pub fn with_options(options: LocalOptions) -> Fixture {
        let root = tempfile::tempdir().expect("temporary root");
        let work = tempfile::tempdir().expect("temporary working directory");
        let runtime = LocalRuntime::new(root.path().join("runtime"), options).expect("runtime");
        Fixture {
            runtime,
            work,
            root,
        }
    }

    /// A second runtime over the same root (as after a restart of Pave).
    pub fn another_runtime(&self) -> Guard {
        Guard(LocalRuntime::new(self.root.path().join("runtime"), fast_options()).expect("runtime"))
    }

    pub fn runtime_root(&self) -> PathBuf {
        self.runtime.root().to_owned()
    }

    pub fn instance_dir(&self, environment: &str, id: &str) -> PathBuf {
        self.runtime_root().join(environment).join(id)
    }

    /// A process running `sh -c script` in the working directory.
    pub fn shell(&self, name: &str, script: &str) -> ProcessSpec {
        ProcessSpec {
            name: name.to_owned(),
            program: "sh".to_owned(),
            args: vec!["-c".to_owned(), script.to_owned()],
            env: BTreeMap::new(),
            working_dir: self.work.path().to_owned(),
            files: Vec::new(),
            readiness: None,
            liveness: None,
        }
    }

    /// A process running the Python HTTP server (see [`SERVER`]).
    pub fn server(&self, name: &str, env: &[(&str, &str)]) -> ProcessSpec {
        ProcessSpec {
            name: name.to_owned(),
            program: "python3".to_owned(),
            args: vec!["-c".to_owned(), SERVER.to_owned()],
            env: env
                .iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
                .collect(),
            working_dir: self.work.path().to_owned(),
            files: Vec::new(),
            readiness: None,
            liveness: None,
        }
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.runtime.kill_all();
    }
}

/// Another runtime that is killed when dropped.
pub struct Guard(pub LocalRuntime);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.kill_all();
    }
}

/// A tiny HTTP server on `$PORT`. `GET /healthz` answers `$HEALTH_STATUS`
/// (200 by default), or 200 for the first `$HEALTHY_FOR` requests and 500
/// after; every other path answers 200 with the port variables and `HOME`
/// as JSON.
pub const SERVER: &str = r#"
import http.server, json, os
healthz = {"count": 0}
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        status = 200
        if self.path == "/healthz":
            healthz["count"] += 1
            status = int(os.environ.get("HEALTH_STATUS", "200"))
            limit = os.environ.get("HEALTHY_FOR")
            if limit is not None and healthz["count"] > int(limit):
                status = 500
        names = ("PORT", "PAVE_PORT_WEB", "PAVE_PORT_ADMIN", "HOME")
        body = json.dumps({k: os.environ.get(k) for k in names}).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
print("listening on", os.environ["PORT"], flush=True)
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"#;

pub fn instance(id: &str, processes: Vec<ProcessSpec>, ports: &[(&str, u16)]) -> InstanceSpec {
    InstanceSpec {
        id: id.to_owned(),
        workload: "web".to_owned(),
        processes,
        ports: ports
            .iter()
            .map(|(name, port)| ((*name).to_owned(), *port))
            .collect(),
        primary_port: None,
    }
}

pub fn plan(environment: &str, instances: Vec<InstanceSpec>) -> EnvironmentPlan {
    EnvironmentPlan {
        environment: environment.to_owned(),
        instances,
    }
}

pub fn port() -> u16 {
    free_ports(1)
        .expect("free port")
        .first()
        .copied()
        .expect("one port")
}

/// `GET path` on 127.0.0.1:port: (status, body).
pub async fn get(port: u16, path: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("status line");
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

pub async fn status(runtime: &dyn Runtime, id: &str) -> InstanceStatus {
    runtime
        .instance(id)
        .await
        .expect("status")
        .expect("instance is known")
}

/// The pid of the first process of an instance.
pub async fn pid(runtime: &dyn Runtime, id: &str) -> u32 {
    status(runtime, id)
        .await
        .processes
        .first()
        .and_then(|process| process.pid)
        .expect("a running process")
}

/// Polls `check` every 20 ms until it holds, failing after `limit`.
pub async fn eventually<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Whether a process runs (exists and is not a zombie).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X")
    })
}

/// Processes whose command line contains `marker` and are not zombies.
pub fn processes_with(marker: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse().ok())
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        if String::from_utf8_lossy(&cmdline).contains(marker) && alive(pid) {
            found.push(pid);
        }
    }
    found
}

pub fn read_pid_file(path: &Path) -> u32 {
    std::fs::read_to_string(path)
        .expect("pid file")
        .trim()
        .parse()
        .expect("a pid")
}
