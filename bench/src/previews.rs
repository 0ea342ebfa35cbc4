//! The previews benchmark, on the demo service: the first `pave up` (demo on)
//! seeds `hello` (the Python golden path) deployed to `dev`; its repository
//! is Pave's own hosting, `<data>/repositories/demo/hello.git`. Then:
//!
//! 1. **Request to a healthy preview URL**, R times one after another, both
//!    through `POST /api/v1/previews` (answers 201 once Healthy) and through
//!    a signed GitHub `pull_request` webhook (answers 202 at once; the real
//!    flow): from sending the request to the first 200 from
//!    `http://hello--pr-N.localhost:<router>/` through Pave's router, polled
//!    every 10 ms.
//! 2. **Teardown** of each of those previews: `DELETE
//!    /api/v1/environments/pr-N` (API previews) or a `closed` webhook
//!    (webhook previews), until the call returns, until the router answers
//!    404 and until no process runs in the preview's checkout any more
//!    (`/proc/<pid>/cwd`), polled every 10 ms.
//! 3. **P previews up at once** (50), created C at a time (4): time until
//!    all answer 200, RSS of `pave` and the summed RSS of the P service
//!    processes (`VmRSS`), then all torn down (C at a time) with the time
//!    and whatever leaked: processes, directories under `<data>/runtime` and
//!    `<data>/deployments`, routes (hosts not answering 404), environments.
//!
//! Pave is stopped with SIGTERM at the end (or on any failure), which stops
//! every process it started; what still runs in `<data>/deployments`
//! afterwards is killed and reported as a leak.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::rss_kib;

/// The GitHub webhook secret the benchmark's Pave is started with.
const SECRET: &str = "pave-bench-webhook-secret";
/// How often the router, `/proc` and the API are polled.
const POLL: Duration = Duration::from_millis(10);
/// A step that takes longer than this has failed.
const LIMIT: Duration = Duration::from_secs(60);
/// The demo component, its environment and its repository under the data dir.
const DEMO: &str = "hello";
const DEMO_REPOSITORY: &str = "repositories/demo/hello.git";

/// First preview numbers of each part (pr-1…, pr-101…, pr-1001…).
const API_FIRST: u64 = 1;
const WEBHOOK_FIRST: u64 = 101;
const BULK_FIRST: u64 = 1001;

/// Median, p90 and max of one figure.
struct Spread {
    median: Duration,
    p90: Duration,
    max: Duration,
}

fn spread(samples: &[Duration]) -> Spread {
    let mut samples = samples.to_vec();
    samples.sort();
    let at = |fraction: f64| samples[((samples.len() as f64 - 1.0) * fraction).round() as usize];
    Spread {
        median: at(0.5),
        p90: at(0.9),
        max: at(1.0),
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// A `pave up` with the demo and GitHub webhooks on. Dropping it stops it
/// (SIGTERM) and kills whatever it left running.
struct Pave {
    child: Child,
    spawned: Instant,
    data: PathBuf,
    log: PathBuf,
    lines: Arc<Mutex<Vec<(Instant, String)>>>,
    url: String,
    router: u16,
    token: String,
    demo_host: String,
    stopped: bool,
    _directory: tempfile::TempDir,
}

/// How `pave` stopped.
struct Stopped {
    took: Duration,
    status: String,
    /// Deployment processes still running after pave exited (killed now).
    leftovers: Vec<u32>,
}

impl Pave {
    fn start(binary: &Path) -> anyhow::Result<Pave> {
        let directory = tempfile::tempdir()?;
        let data = directory.path().join("pave");
        let log = directory.path().join("pave.log");
        let spawned = Instant::now();
        let mut child = Command::new(binary)
            .args([
                "up",
                "--listen",
                "127.0.0.1:0",
                "--router-listen",
                "127.0.0.1:0",
                "--data-dir",
            ])
            .arg(&data)
            .env_remove("PAVE_LISTEN")
            .env_remove("PAVE_ROUTER_LISTEN")
            .env("PAVE_DEMO", "true")
            .env("PAVE_WEBHOOK_GITHUB_SECRET", SECRET)
            .env("PAVE_LOG_LEVEL", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(std::fs::File::create(&log)?))
            .spawn()
            .with_context(|| {
                format!(
                    "cannot start {} (build it with `cargo build --release`)",
                    binary.display()
                )
            })?;
        let stdout = child.stdout.take().context("no stdout")?;
        let lines = Arc::new(Mutex::new(Vec::new()));
        {
            let lines = Arc::clone(&lines);
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    lines
                        .lock()
                        .expect("stdout lines")
                        .push((Instant::now(), line));
                }
            });
        }
        Ok(Pave {
            child,
            spawned,
            data,
            log,
            lines,
            url: String::new(),
            router: 0,
            token: String::new(),
            demo_host: String::new(),
            stopped: false,
            _directory: directory,
        })
    }

    /// Waits for the start-up lines: the URL, router, admin token and demo.
    async fn banner(&mut self) -> anyhow::Result<()> {
        loop {
            for (_, line) in self.lines.lock().expect("stdout lines").iter() {
                let trimmed = line.trim();
                if let Some(url) = line.strip_prefix("Pave is up at ") {
                    self.url = url.trim().to_string();
                } else if let Some(rest) = trimmed.strip_prefix("router") {
                    self.router = rest
                        .trim()
                        .rsplit(':')
                        .next()
                        .and_then(|port| port.parse().ok())
                        .unwrap_or(0);
                } else if let Some(token) = trimmed.strip_prefix("admin token") {
                    self.token = token.trim().to_string();
                } else if trimmed.starts_with("demo ") && !trimmed.starts_with("demo ready") {
                    let url = trimmed.split_whitespace().nth(1).unwrap_or("");
                    self.demo_host = url
                        .trim_start_matches("http://")
                        .split(':')
                        .next()
                        .unwrap_or("")
                        .to_string();
                }
            }
            if !self.url.is_empty()
                && self.router != 0
                && !self.token.is_empty()
                && !self.demo_host.is_empty()
            {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait()? {
                bail!("pave exited ({status}) while starting: {}", self.log_tail());
            }
            if self.spawned.elapsed() > Duration::from_secs(30) {
                bail!(
                    "pave printed no URL, router, admin token and demo line within 30 s (is this a fresh data dir with the demo on?): {:?}",
                    self.lines
                        .lock()
                        .expect("stdout lines")
                        .iter()
                        .map(|(_, line)| line.clone())
                        .collect::<Vec<_>>()
                );
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// When pave printed a line starting (after spaces) with `prefix`.
    fn printed(&self, prefix: &str) -> Option<Instant> {
        self.lines
            .lock()
            .expect("stdout lines")
            .iter()
            .find(|(_, line)| line.trim().starts_with(prefix))
            .map(|(at, _)| *at)
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, up to 20 s to exit (then SIGKILL), then kills what is left
    /// running in its checkouts.
    fn stop(&mut self) -> Stopped {
        self.stopped = true;
        let began = Instant::now();
        let mut status = String::new();
        if let Ok(None) = self.child.try_wait() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(self.child.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        loop {
            match self.child.try_wait() {
                Ok(Some(exit)) => {
                    status = exit.to_string();
                    break;
                }
                Ok(None) if began.elapsed() < Duration::from_secs(20) => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    status.push_str("did not stop within 20 s of SIGTERM; killed");
                    break;
                }
            }
        }
        let took = began.elapsed();
        let leftovers: Vec<u32> = service_processes(&self.data)
            .into_iter()
            .map(|(pid, _)| pid)
            .collect();
        for pid in &leftovers {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(*pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        Stopped {
            took,
            status,
            leftovers,
        }
    }
}

impl Drop for Pave {
    fn drop(&mut self) {
        if self.stopped {
            return;
        }
        let stopped = self.stop();
        if !stopped.leftovers.is_empty() {
            eprintln!(
                "previews: LEAK: {} deployment processes outlived pave ({}); killed: {:?}",
                stopped.leftovers.len(),
                stopped.status,
                stopped.leftovers
            );
        }
    }
}

/// Live (not zombie) processes whose working directory is under
/// `<data>/deployments`, with the checkout (deployment id) each runs in.
fn service_processes(data: &Path) -> Vec<(u32, String)> {
    let checkouts = data.join("deployments");
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).ok()?;
            let deployment = cwd
                .strip_prefix(&checkouts)
                .ok()?
                .components()
                .next()?
                .as_os_str()
                .to_str()?
                .to_string();
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let state = stat.rsplit_once(") ")?.1.split(' ').next()?;
            (state != "Z").then_some((pid, deployment))
        })
        .collect()
}

/// Samples a process's RSS every 20 ms until finished; the largest sample.
/// (`VmHWM` is not used: the kernel updates it lazily, so it can read below
/// a current `VmRSS`.)
struct RssSampler {
    stop: Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<u64>,
}

impl RssSampler {
    fn start(pid: u32) -> RssSampler {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let task = {
            let stop = Arc::clone(&stop);
            tokio::spawn(async move {
                let mut most = 0;
                while !stop.load(Ordering::SeqCst) {
                    most = most.max(rss_kib(pid).unwrap_or(0));
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                most.max(rss_kib(pid).unwrap_or(0))
            })
        };
        RssSampler { stop, task }
    }

    async fn finish(self) -> u64 {
        self.stop.store(true, Ordering::SeqCst);
        self.task.await.unwrap_or(0)
    }
}

/// Names of the entries of a directory (none when it is missing).
fn entries(directory: &Path) -> BTreeSet<String> {
    std::fs::read_dir(directory)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|entry| entry.file_name().to_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// One GET of `/` through Pave's router with a Host header: the status.
async fn router_status(port: u16, host: &str) -> Option<u16> {
    let request = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .ok()?;
        stream
            .write_all(
                format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
            )
            .await
            .ok()?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.ok()?;
        String::from_utf8_lossy(&response)
            .split(' ')
            .nth(1)?
            .parse()
            .ok()
    };
    tokio::time::timeout(Duration::from_secs(5), request)
        .await
        .ok()?
}

/// Polls the router every 10 ms until `host` answers `want`; the time
/// since `began` when it did.
async fn until_router(
    port: u16,
    host: &str,
    want: u16,
    began: Instant,
) -> anyhow::Result<Duration> {
    loop {
        let status = router_status(port, host).await;
        if status == Some(want) {
            return Ok(began.elapsed());
        }
        if began.elapsed() > LIMIT {
            bail!(
                "{host} did not answer {want} through the router within {LIMIT:?} (last: {status:?})"
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Polls `/proc` every 10 ms until no process runs in the checkout of
/// `deployment`.
async fn until_no_process(
    data: &Path,
    deployment: &str,
    began: Instant,
) -> anyhow::Result<Duration> {
    loop {
        if !service_processes(data)
            .iter()
            .any(|(_, running)| running == deployment)
        {
            return Ok(began.elapsed());
        }
        if began.elapsed() > LIMIT {
            bail!("deployment {deployment} still has processes after {LIMIT:?}");
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Pave's API, as the admin.
#[derive(Clone)]
struct Api {
    client: reqwest::Client,
    url: String,
    token: String,
}

impl Api {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        Ok((
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        ))
    }

    /// Signs and sends a GitHub delivery.
    async fn github(
        &self,
        event: &str,
        delivery: &str,
        body: &Value,
    ) -> anyhow::Result<(u16, Value)> {
        let bytes = body.to_string();
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes())
            .map_err(|error| anyhow::anyhow!("HMAC key: {error}"))?;
        mac.update(bytes.as_bytes());
        let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        let response = self
            .client
            .post(format!("{}/api/v1/webhooks/github", self.url))
            .header("content-type", "application/json")
            .header("x-github-event", event)
            .header("x-github-delivery", delivery)
            .header("x-hub-signature-256", signature)
            .body(bytes)
            .send()
            .await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        Ok((
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        ))
    }

    /// Creates a preview of the demo through the API (201 once Healthy).
    async fn create_preview(&self, number: u64) -> anyhow::Result<()> {
        let (status, answer) = self
            .call(
                reqwest::Method::POST,
                "/api/v1/previews",
                Some(&json!({"component": DEMO, "pullRequest": number, "branch": "main"})),
            )
            .await?;
        if status != 201 || answer["deployments"][0]["status"] != "Healthy" {
            bail!("POST /api/v1/previews for pr-{number} answered {status}: {answer}");
        }
        Ok(())
    }

    /// The id of the deployment running in an environment.
    async fn deployment_of(&self, environment: &str) -> anyhow::Result<String> {
        let (status, answer) = self
            .call(
                reqwest::Method::GET,
                &format!("/api/v1/environments/{environment}"),
                None,
            )
            .await?;
        if status != 200 {
            bail!("GET /api/v1/environments/{environment} answered {status}: {answer}");
        }
        answer["deployments"][0]["id"]
            .as_str()
            .map(str::to_string)
            .with_context(|| format!("{environment} runs no deployment: {answer}"))
    }

    async fn delete_environment(&self, environment: &str) -> anyhow::Result<()> {
        let (status, answer) = self
            .call(
                reqwest::Method::DELETE,
                &format!("/api/v1/environments/{environment}"),
                None,
            )
            .await?;
        if status != 204 {
            bail!("DELETE /api/v1/environments/{environment} answered {status}: {answer}");
        }
        Ok(())
    }

    /// Polls until the environment is gone (404).
    async fn until_gone(&self, environment: &str, began: Instant) -> anyhow::Result<Duration> {
        loop {
            let (status, _) = self
                .call(
                    reqwest::Method::GET,
                    &format!("/api/v1/environments/{environment}"),
                    None,
                )
                .await?;
            if status == 404 {
                return Ok(began.elapsed());
            }
            if began.elapsed() > LIMIT {
                bail!("{environment} still exists after {LIMIT:?}");
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

/// A GitHub `pull_request` payload for the demo's repository.
fn pull_request(clone_url: &str, action: &str, number: u64, head: &str) -> Value {
    json!({
        "action": action,
        "number": number,
        "pull_request": {
            "number": number,
            "head": {"ref": "main", "sha": head},
            "base": {"ref": "main"}
        },
        "repository": {"clone_url": clone_url}
    })
}

fn host_of(number: u64) -> String {
    format!("{DEMO}--pr-{number}.localhost")
}

/// One preview's teardown.
struct Teardown {
    /// The DELETE (or the webhook) answered.
    returned: Duration,
    /// The router answers 404 for the preview's host.
    unrouted: Duration,
    /// No process runs in the preview's checkout.
    stopped: Duration,
    /// The environment is gone from the API (webhook teardowns).
    gone: Option<Duration>,
    /// `<data>/runtime/pr-N` or `<data>/deployments/<id>` still there.
    left: Vec<String>,
}

impl Teardown {
    fn done(&self) -> Duration {
        self.returned
            .max(self.unrouted)
            .max(self.stopped)
            .max(self.gone.unwrap_or_default())
    }
}

/// Tears preview `number` down through the API or a `closed` webhook and
/// measures when it is gone from each place.
async fn tear_down(
    api: &Api,
    pave: &Pave,
    number: u64,
    webhook: Option<(&str, &str)>,
) -> anyhow::Result<Teardown> {
    let environment = format!("pr-{number}");
    let deployment = api.deployment_of(&environment).await?;
    let host = host_of(number);
    let began = Instant::now();
    let (returned, unrouted, stopped, gone) = tokio::join!(
        async {
            match webhook {
                None => api
                    .delete_environment(&environment)
                    .await
                    .map(|()| began.elapsed()),
                Some((clone_url, head)) => {
                    let body = pull_request(clone_url, "closed", number, head);
                    let (status, answer) = api
                        .github("pull_request", &format!("close-{number}"), &body)
                        .await?;
                    if status != 202 {
                        bail!("the closed webhook for {environment} answered {status}: {answer}");
                    }
                    Ok(began.elapsed())
                }
            }
        },
        until_router(pave.router, &host, 404, began),
        until_no_process(&pave.data, &deployment, began),
        async {
            match webhook {
                Some(_) => api.until_gone(&environment, began).await.map(Some),
                None => Ok(None),
            }
        },
    );
    let teardown = Teardown {
        returned: returned?,
        unrouted: unrouted?,
        stopped: stopped?,
        gone: gone?,
        left: Vec::new(),
    };
    // The DELETE removes the checkout before it answers; a webhook's work
    // is done once the environment is gone.
    let mut left = Vec::new();
    for path in [
        pave.data.join("runtime").join(&environment),
        pave.data.join("deployments").join(&deployment),
    ] {
        if path.exists() {
            left.push(path.display().to_string());
        }
    }
    Ok(Teardown { left, ..teardown })
}

/// Prints one table row: median, p90 and max.
fn row(name: &str, samples: &[Duration]) {
    let spread = spread(samples);
    println!(
        "  {name:<58} {:>8.1} ms {:>8.1} ms {:>8.1} ms",
        ms(spread.median),
        ms(spread.p90),
        ms(spread.max)
    );
}

fn header(title: &str) {
    println!("  {title:<58} {:>11} {:>11} {:>11}", "median", "p90", "max");
}

pub async fn run(
    binary: &Path,
    runs: usize,
    previews: usize,
    concurrency: usize,
) -> anyhow::Result<()> {
    if runs == 0 || previews == 0 || concurrency == 0 {
        bail!("--runs, --previews and --concurrency must be at least 1");
    }
    let mut pave = Pave::start(binary)?;
    let result = measure(&mut pave, runs, previews, concurrency).await;
    if result.is_err() {
        eprintln!("previews: pave's log (last lines):\n{}", pave.log_tail());
    }
    let stopped = pave.stop();
    println!(
        "  SIGTERM to pave's exit: {:.0} ms ({}); deployment processes left after it: {}",
        ms(stopped.took),
        stopped.status,
        if stopped.leftovers.is_empty() {
            "none".to_string()
        } else {
            format!(
                "{} (LEAK, killed: {:?})",
                stopped.leftovers.len(),
                stopped.leftovers
            )
        }
    );
    result?;
    if !stopped.leftovers.is_empty() {
        bail!(
            "{} deployment processes outlived pave",
            stopped.leftovers.len()
        );
    }
    Ok(())
}

async fn measure(
    pave: &mut Pave,
    runs: usize,
    previews: usize,
    concurrency: usize,
) -> anyhow::Result<()> {
    pave.banner().await?;
    let api = Api {
        client: reqwest::Client::new(),
        url: pave.url.clone(),
        token: pave.token.clone(),
    };

    // `pave up` to the demo's URL answering through the router.
    let demo_answers = until_router(pave.router, &pave.demo_host, 200, pave.spawned).await?;
    let ready_deadline = Instant::now() + LIMIT;
    let demo_ready = loop {
        if let Some(at) = pave.printed("demo ready") {
            break at.duration_since(pave.spawned);
        }
        if Instant::now() > ready_deadline {
            bail!("pave never printed `demo ready`");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let printed_url = pave
        .printed("demo ")
        .map(|at| at.duration_since(pave.spawned))
        .unwrap_or_default();
    let (_, entity) = api
        .call(
            reqwest::Method::GET,
            &format!("/api/catalog/entities/by-name/component/default/{DEMO}"),
            None,
        )
        .await?;
    let source_location = entity["metadata"]["annotations"]["backstage.io/source-location"]
        .as_str()
        .unwrap_or("?")
        .to_string();
    let repository = pave.data.join(DEMO_REPOSITORY);
    if !repository.is_dir() {
        bail!("the demo's repository {} is missing", repository.display());
    }
    let clone_url = format!("file://{}", repository.display());
    let head = Command::new("git")
        .arg("--git-dir")
        .arg(&repository)
        .args(["rev-parse", "refs/heads/main"])
        .output()
        .context("git rev-parse")?;
    if !head.status.success() {
        bail!(
            "git rev-parse main in {}: {}",
            repository.display(),
            String::from_utf8_lossy(&head.stderr)
        );
    }
    let head = String::from_utf8_lossy(&head.stdout).trim().to_string();
    let dev_deployment = api.deployment_of("dev").await?;
    let idle_rss = rss_kib(pave.pid()).unwrap_or(0);

    println!(
        "previews: the demo (`{DEMO}`, the python-service golden path, deployed to dev) as the preview's component; source location {source_location}, main at {}",
        &head[..head.len().min(12)]
    );
    println!(
        "  pave up: demo line printed {:.0} ms after spawn, {} answers 200 through the router at {:.0} ms, `demo ready` printed at {:.0} ms",
        ms(printed_url),
        pave.demo_host,
        ms(demo_answers),
        ms(demo_ready)
    );

    // 1 and 2: one preview at a time.
    let mut api_created = Vec::with_capacity(runs);
    let mut api_healthy = Vec::with_capacity(runs);
    let mut api_teardowns = Vec::with_capacity(runs);
    for i in 0..runs as u64 {
        let number = API_FIRST + i;
        let host = host_of(number);
        let began = Instant::now();
        let (created, healthy) = tokio::join!(
            async {
                api.create_preview(number).await?;
                Ok::<_, anyhow::Error>(began.elapsed())
            },
            until_router(pave.router, &host, 200, began),
        );
        api_created.push(created.with_context(|| format!("preview pr-{number} by the API"))?);
        api_healthy.push(healthy.with_context(|| format!("preview pr-{number} by the API"))?);
        api_teardowns.push(
            tear_down(&api, pave, number, None)
                .await
                .with_context(|| format!("tearing pr-{number} down"))?,
        );
    }
    let mut hook_accepted = Vec::with_capacity(runs);
    let mut hook_healthy = Vec::with_capacity(runs);
    let mut hook_teardowns = Vec::with_capacity(runs);
    for i in 0..runs as u64 {
        let number = WEBHOOK_FIRST + i;
        let host = host_of(number);
        let body = pull_request(&clone_url, "opened", number, &head);
        let began = Instant::now();
        let (accepted, healthy) = tokio::join!(
            async {
                let (status, answer) = api
                    .github("pull_request", &format!("open-{number}"), &body)
                    .await?;
                if status != 202 {
                    bail!("the opened webhook for pr-{number} answered {status}: {answer}");
                }
                Ok(began.elapsed())
            },
            until_router(pave.router, &host, 200, began),
        );
        hook_accepted.push(accepted?);
        hook_healthy.push(healthy.with_context(|| format!("preview pr-{number} by webhook"))?);
        hook_teardowns.push(
            tear_down(&api, pave, number, Some((&clone_url, &head)))
                .await
                .with_context(|| format!("closing pr-{number}"))?,
        );
    }

    println!("  {runs} previews one at a time, each torn down before the next (10 ms polls):");
    header("request to a healthy preview URL");
    row(
        "API: POST /api/v1/previews answers 201 (Healthy)",
        &api_created,
    );
    row("API: first 200 through the router", &api_healthy);
    row("webhook: pull_request opened answers 202", &hook_accepted);
    row("webhook: first 200 through the router", &hook_healthy);
    header("teardown");
    let column = |teardowns: &[Teardown], pick: fn(&Teardown) -> Duration| -> Vec<Duration> {
        teardowns.iter().map(pick).collect()
    };
    row(
        "DELETE /api/v1/environments/pr-N returns (204)",
        &column(&api_teardowns, |t| t.returned),
    );
    row(
        "  router answers 404",
        &column(&api_teardowns, |t| t.unrouted),
    );
    row(
        "  no process left in the checkout",
        &column(&api_teardowns, |t| t.stopped),
    );
    row(
        "  all three (torn down)",
        &column(&api_teardowns, Teardown::done),
    );
    row(
        "webhook: pull_request closed answers 202",
        &column(&hook_teardowns, |t| t.returned),
    );
    row(
        "  router answers 404",
        &column(&hook_teardowns, |t| t.unrouted),
    );
    row(
        "  no process left in the checkout",
        &column(&hook_teardowns, |t| t.stopped),
    );
    row(
        "  environment gone (GET 404)",
        &column(&hook_teardowns, |t| t.gone.unwrap_or_default()),
    );
    row(
        "  all (torn down)",
        &column(&hook_teardowns, Teardown::done),
    );
    let healthy_within = api_healthy
        .iter()
        .chain(&hook_healthy)
        .filter(|took| **took < Duration::from_secs(2))
        .count();
    let torn_within = api_teardowns
        .iter()
        .chain(&hook_teardowns)
        .filter(|teardown| teardown.done() < Duration::from_secs(1))
        .count();
    let left: Vec<&String> = api_teardowns
        .iter()
        .chain(&hook_teardowns)
        .flat_map(|teardown| &teardown.left)
        .collect();
    println!(
        "  targets: healthy URL under 2 s: {healthy_within} of {}; torn down under 1 s: {torn_within} of {}; left behind: {}",
        2 * runs,
        2 * runs,
        if left.is_empty() {
            "nothing".to_string()
        } else {
            format!("{left:?} (LEAK)")
        }
    );

    // 3: many previews at once.
    let others = |data: &Path| -> Vec<(u32, String)> {
        service_processes(data)
            .into_iter()
            .filter(|(_, deployment)| *deployment != dev_deployment)
            .collect()
    };
    if !others(&pave.data).is_empty() {
        bail!(
            "preview processes are still running before the bulk part: {:?}",
            others(&pave.data)
        );
    }
    let rss_before = rss_kib(pave.pid()).unwrap_or(0);
    let sampler = RssSampler::start(pave.pid());
    let numbers: Arc<Vec<u64>> = Arc::new((0..previews as u64).map(|i| BULK_FIRST + i).collect());
    let next = Arc::new(AtomicUsize::new(0));
    let began = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (api, numbers, next) = (api.clone(), Arc::clone(&numbers), Arc::clone(&next));
        let router = pave.router;
        workers.push(tokio::spawn(async move {
            let mut done = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::SeqCst);
                let Some(&number) = numbers.get(index) else {
                    break;
                };
                let started = Instant::now();
                api.create_preview(number).await?;
                let created = started.elapsed();
                until_router(router, &host_of(number), 200, began).await?;
                done.push((created, began.elapsed()));
            }
            Ok::<_, anyhow::Error>(done)
        }));
    }
    let mut created = Vec::new();
    let mut answered = Vec::new();
    for worker in workers {
        for (took, at) in worker.await?? {
            created.push(took);
            answered.push(at);
        }
    }
    let all_up = began.elapsed();
    let mut answering = 0;
    for number in numbers.iter() {
        if router_status(pave.router, &host_of(*number)).await == Some(200) {
            answering += 1;
        }
    }
    let processes = others(&pave.data);
    let service_rss: u64 = processes.iter().filter_map(|(pid, _)| rss_kib(*pid)).sum();
    let rss_up = rss_kib(pave.pid()).unwrap_or(0);

    let began = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (api, numbers, next) = (api.clone(), Arc::clone(&numbers), Arc::clone(&next));
        workers.push(tokio::spawn(async move {
            let mut took = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::SeqCst);
                let Some(&number) = numbers.get(index) else {
                    break;
                };
                let started = Instant::now();
                api.delete_environment(&format!("pr-{number}")).await?;
                took.push(started.elapsed());
            }
            Ok::<_, anyhow::Error>(took)
        }));
    }
    let mut deletes = Vec::new();
    for worker in workers {
        deletes.extend(worker.await??);
    }
    let deleted = began.elapsed();
    // Until every host answers 404 and no preview process runs (at most
    // 10 s after the last DELETE returned).
    let settle = Instant::now();
    let mut routed: Vec<u64> = numbers.to_vec();
    let mut running = others(&pave.data);
    while (!routed.is_empty() || !running.is_empty()) && settle.elapsed() < Duration::from_secs(10)
    {
        let mut still = Vec::new();
        for number in routed {
            if router_status(pave.router, &host_of(number)).await != Some(404) {
                still.push(number);
            }
        }
        routed = still;
        running = others(&pave.data);
        if !routed.is_empty() || !running.is_empty() {
            tokio::time::sleep(POLL).await;
        }
    }
    let all_down = began.elapsed();
    let runtime_left: Vec<String> = entries(&pave.data.join("runtime"))
        .into_iter()
        .filter(|name| name.starts_with("pr-"))
        .collect();
    let checkouts_left: Vec<String> = entries(&pave.data.join("deployments"))
        .into_iter()
        .filter(|name| *name != dev_deployment)
        .collect();
    let (_, environments) = api
        .call(reqwest::Method::GET, "/api/v1/environments", None)
        .await?;
    let environments_left: Vec<String> = environments["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item["name"].as_str())
                .filter(|name| *name != "dev")
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let rss_after = rss_kib(pave.pid()).unwrap_or(0);
    let peak = sampler.finish().await;
    let dev_still = router_status(pave.router, &pave.demo_host).await;

    println!(
        "  {previews} previews at once, created {concurrency} at a time through POST /api/v1/previews:"
    );
    header("");
    row("POST /api/v1/previews answers 201 (each)", &created);
    row(
        "preview answers 200 through the router (from the start)",
        &answered,
    );
    println!(
        "  all {previews} answering: {:.2} s ({answering} of {previews} answer 200 in one pass afterwards; {} service processes)",
        all_up.as_secs_f64(),
        processes.len()
    );
    println!(
        "  RSS: pave {:.1} MiB idle with the demo, {:.1} MiB before, {:.1} MiB with {previews} previews up (at most {:.1} MiB, sampled every 20 ms through creation and teardown), {:.1} MiB after teardown; the {} service processes {:.1} MiB together ({:.1} MiB each)",
        mib(idle_rss),
        mib(rss_before),
        mib(rss_up),
        mib(peak),
        mib(rss_after),
        processes.len(),
        mib(service_rss),
        mib(service_rss) / processes.len().max(1) as f64
    );
    row("DELETE /api/v1/environments/pr-N returns (each)", &deletes);
    println!(
        "  teardown of all {previews}: DELETEs returned after {:.2} s, every host 404 and no process after {:.2} s",
        deleted.as_secs_f64(),
        all_down.as_secs_f64()
    );
    let leaks = routed.len()
        + running.len()
        + runtime_left.len()
        + checkouts_left.len()
        + environments_left.len();
    println!(
        "  left behind: processes {} {:?}, hosts still routed {} {:?}, <data>/runtime/pr-* {} {:?}, <data>/deployments (besides dev's) {} {:?}, environments (besides dev) {} {:?}; dev still answers: {}",
        running.len(),
        running,
        routed.len(),
        routed,
        runtime_left.len(),
        runtime_left,
        checkouts_left.len(),
        checkouts_left,
        environments_left.len(),
        environments_left,
        dev_still == Some(200)
    );
    if !left.is_empty() || leaks > 0 {
        bail!("previews left things behind (see above)");
    }
    if dev_still != Some(200) {
        bail!("the demo in dev stopped answering ({dev_still:?})");
    }
    Ok(())
}
