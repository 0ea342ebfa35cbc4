//! Pave's benchmarks, measured on the machine they run on (never in tests).
//!
//! ```text
//! bench/run                      # build release, run every benchmark
//! pave-bench authz   [--iterations N]
//! pave-bench startup [--runs N] [--binary PATH]
//! pave-bench api     [--requests N] [--concurrency C] [--binary PATH]
//! pave-bench catalog [--sizes 10000,100000] [--requests N] [--settle SECONDS] [--binary PATH]
//! pave-bench portal  [--entities N] [--requests N] [--settle SECONDS] [--binary PATH]
//! pave-bench scaffold [--runs N] [--binary PATH]
//! pave-bench previews [--runs N] [--previews P] [--concurrency C] [--binary PATH]
//! ```
//!
//! Each prints medians and tail latencies; `bench/README.md` records what
//! was measured and against which budget.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

mod catalog;
mod portal;
mod previews;
mod scaffold;
use pave_access::{Action, Authorizer, GroupRef, Principal, PrincipalRef, ResourceRef, policy};

fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let which = args.first().map(String::as_str).unwrap_or("all");
    let option = |name: &str, default: usize| -> anyhow::Result<usize> {
        match args.iter().position(|arg| arg == name) {
            Some(index) => args
                .get(index + 1)
                .with_context(|| format!("{name} needs a value"))?
                .parse()
                .with_context(|| format!("{name} must be a number")),
            None => Ok(default),
        }
    };
    let binary = match args.iter().position(|arg| arg == "--binary") {
        Some(index) => PathBuf::from(args.get(index + 1).context("--binary needs a path")?),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/pave"),
    };
    let runtime = tokio::runtime::Runtime::new()?;
    match which {
        "authz" => authz(option("--iterations", 200_000)?),
        "startup" => startup(&binary, option("--runs", 20)?),
        "api" => runtime.block_on(api(
            &binary,
            option("--requests", 20_000)?,
            option("--concurrency", 16)?,
        )),
        "generate" => {
            let directory = args.get(1).context("generate needs a directory")?;
            let total = option("--entities", 10_000)?;
            catalog::generate(total, std::path::Path::new(directory))?;
            println!("wrote {total} entities to {directory}/locations.yaml");
            Ok(())
        }
        "catalog" => {
            let sizes = match args.iter().position(|arg| arg == "--sizes") {
                Some(index) => args
                    .get(index + 1)
                    .context("--sizes needs a list such as 10000,100000")?
                    .split(',')
                    .map(|size| {
                        size.trim()
                            .parse::<usize>()
                            .context("--sizes takes whole numbers")
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                None => vec![10_000, 100_000],
            };
            runtime.block_on(catalog::run(
                &binary,
                &sizes,
                option("--requests", 1000)?,
                std::time::Duration::from_secs(option("--settle", 10)? as u64),
            ))
        }
        "portal" => runtime.block_on(portal::run(
            &binary,
            option("--entities", 10_000)?,
            option("--requests", 200)?,
            std::time::Duration::from_secs(option("--settle", 5)? as u64),
        )),
        "scaffold" => runtime.block_on(scaffold::run(&binary, option("--runs", 20)?)),
        "previews" => runtime.block_on(previews::run(
            &binary,
            option("--runs", 10)?,
            option("--previews", 50)?,
            option("--concurrency", 4)?,
        )),
        "all" => {
            authz(200_000)?;
            startup(&binary, 20)?;
            runtime.block_on(api(&binary, 20_000, 16))?;
            runtime.block_on(scaffold::run(&binary, 20))
        }
        other => {
            bail!(
                "unknown benchmark `{other}`: use authz, startup, api, catalog, portal, scaffold, previews or all"
            )
        }
    }
}

pub(crate) struct Summary {
    median: Duration,
    p99: Duration,
    max: Duration,
}

pub(crate) fn summarize(mut samples: Vec<Duration>) -> Summary {
    samples.sort();
    let at = |fraction: f64| samples[((samples.len() as f64 - 1.0) * fraction).round() as usize];
    Summary {
        median: at(0.5),
        p99: at(0.99),
        max: at(1.0),
    }
}

/// One Cedar decision, as the API gate makes it for every request.
fn authz(iterations: usize) -> anyhow::Result<()> {
    let authorizer = Authorizer::from_source(policy::DEFAULT_POLICIES)?;
    let admin = Principal {
        reference: PrincipalRef::parse("user:default/admin")?,
        groups: vec![GroupRef::parse("group:default/admins")?],
        token_id: None,
    };
    let alice = Principal {
        reference: PrincipalRef::parse("user:default/alice")?,
        groups: (0..8)
            .map(|i| GroupRef::parse(&format!("team-{i}")))
            .collect::<Result<_, _>>()?,
        token_id: None,
    };
    let token = ResourceRef::Token {
        id: "0123456789abcdef".into(),
        principal: "user:default/alice".into(),
    };
    let cases = [
        (&admin, Action::TokenRevoke, &token),
        (&alice, Action::TokenList, &ResourceRef::Platform),
        (&alice, Action::PolicyWrite, &ResourceRef::Platform),
    ];
    let mut samples = Vec::with_capacity(iterations);
    let started = Instant::now();
    for index in 0..iterations {
        let (principal, action, resource) = cases[index % cases.len()];
        let begin = Instant::now();
        let decision = authorizer.decide(principal, action, resource);
        samples.push(begin.elapsed());
        std::hint::black_box(decision);
    }
    let total = started.elapsed();
    let summary = summarize(samples);
    println!(
        "authz: {iterations} decisions (default policies, 3 request shapes): median {:.1} µs, p99 {:.1} µs, max {:.1} µs, {:.0} decisions/s on one core (budget: well under 100 µs)",
        summary.median.as_secs_f64() * 1e6,
        summary.p99.as_secs_f64() * 1e6,
        summary.max.as_secs_f64() * 1e6,
        iterations as f64 / total.as_secs_f64()
    );
    Ok(())
}

pub(crate) struct Running {
    pub(crate) child: Child,
    pub(crate) url: String,
    pub(crate) token: Option<String>,
    _data: tempfile::TempDir,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `pave up` on a fresh data dir; returns once /healthz answers.
fn start(binary: &std::path::Path) -> anyhow::Result<(Running, Duration)> {
    start_with(binary, &[])
}

/// Starts `pave up` with catalog locations.
pub(crate) fn start_with(
    binary: &std::path::Path,
    locations: &[PathBuf],
) -> anyhow::Result<(Running, Duration)> {
    let data = tempfile::tempdir()?;
    let began = Instant::now();
    let mut command = Command::new(binary);
    command
        .args([
            "up",
            "--listen",
            "127.0.0.1:0",
            "--router-listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(data.path().join("pave"));
    for location in locations {
        command.arg("--location").arg(location);
    }
    let mut child = command
        .env("PAVE_LOG_LEVEL", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| {
            format!(
                "cannot start {} (build it with `cargo build --release`)",
                binary.display()
            )
        })?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let mut url = None;
    let mut token = None;
    for line in lines.by_ref() {
        let line = line?;
        if let Some(found) = line.strip_prefix("Pave is up at ") {
            url = Some(found.trim().to_string());
        }
        if let Some(found) = line.trim().strip_prefix("admin token") {
            token = Some(found.trim().to_string());
        }
        if line.trim().starts_with("sign in with") {
            break;
        }
    }
    let url = url.context("pave did not print its URL")?;
    let address = url.trim_start_matches("http://").to_string();
    loop {
        if let Ok(mut stream) = std::net::TcpStream::connect(&address) {
            use std::io::{Read, Write};
            let _ = write!(
                stream,
                "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            );
            let mut response = String::new();
            let _ = stream.read_to_string(&mut response);
            if response.starts_with("HTTP/1.1 200") {
                break;
            }
        }
        if began.elapsed() > Duration::from_secs(30) {
            bail!("pave did not become healthy within 30 s");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let ready = began.elapsed();
    Ok((
        Running {
            child,
            url,
            token,
            _data: data,
        },
        ready,
    ))
}

pub(crate) fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// `pave up` from spawn to a healthy /healthz, idle memory, and stop time.
fn startup(binary: &std::path::Path, runs: usize) -> anyhow::Result<()> {
    let mut ready = Vec::new();
    let mut stops = Vec::new();
    let mut rss = Vec::new();
    for run in 0..runs {
        let (mut running, took) = start(binary)?;
        ready.push(took);
        if run == 0 {
            std::thread::sleep(Duration::from_secs(3));
            rss.extend(rss_kib(running.child.id()));
        }
        let stop = Instant::now();
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(running.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )?;
        let status = running.child.wait()?;
        if !status.success() {
            bail!("pave exited with {status} on SIGTERM");
        }
        stops.push(stop.elapsed());
    }
    let ready = summarize(ready);
    let stops = summarize(stops);
    println!(
        "startup: {runs} fresh `pave up` runs: ready (spawn to healthy /healthz, first start with migrations and bootstrap) median {:.0} ms, p99 {:.0} ms; SIGTERM to exit median {:.0} ms; idle RSS {} MiB (budget: ready under 1 s)",
        ready.median.as_secs_f64() * 1e3,
        ready.p99.as_secs_f64() * 1e3,
        stops.median.as_secs_f64() * 1e3,
        rss.first()
            .map(|kib| format!("{:.1}", *kib as f64 / 1024.0))
            .unwrap_or_else(|| "?".into())
    );
    Ok(())
}

/// Authenticated API calls: bearer lookup, Cedar decision, JSON answer.
async fn api(binary: &std::path::Path, requests: usize, concurrency: usize) -> anyhow::Result<()> {
    let (running, _) = start(binary)?;
    let token = running.token.clone().context("no admin token printed")?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    for (name, path) in [
        ("whoami", "/api/v1/whoami"),
        ("tokens", "/api/v1/tokens"),
        ("healthz", "/healthz"),
    ] {
        let url = Arc::new(format!("{}{path}", running.url));
        let per_worker = requests / concurrency;
        let began = Instant::now();
        let mut workers = Vec::new();
        for _ in 0..concurrency {
            let client = client.clone();
            let url = Arc::clone(&url);
            let token = token.clone();
            workers.push(tokio::spawn(async move {
                let mut samples = Vec::with_capacity(per_worker);
                for _ in 0..per_worker {
                    let start = Instant::now();
                    let response = client.get(url.as_str()).bearer_auth(&token).send().await?;
                    if !response.status().is_success() {
                        bail!("{} answered {}", url, response.status());
                    }
                    response.bytes().await?;
                    samples.push(start.elapsed());
                }
                Ok::<_, anyhow::Error>(samples)
            }));
        }
        let mut samples = Vec::new();
        for worker in workers {
            samples.extend(worker.await??);
        }
        let total = began.elapsed();
        let count = samples.len();
        let summary = summarize(samples);
        println!(
            "api {name}: {count} requests, {concurrency} connections: {:.0} req/s, median {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            count as f64 / total.as_secs_f64(),
            summary.median.as_secs_f64() * 1e3,
            summary.p99.as_secs_f64() * 1e3,
            summary.max.as_secs_f64() * 1e3
        );
    }
    Ok(())
}
