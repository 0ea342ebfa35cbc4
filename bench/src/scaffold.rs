//! The scaffolder benchmark: `pave up` on a fresh data dir (the golden paths
//! are registered by default), then N runs of the `python-service` template,
//! one after another, each creating `svc-<i>` in Pave's git hosting and
//! registering it in the catalog. For each run it measures, from sending
//! `POST /api/scaffolder/v2/tasks`:
//!
//! - until `GET /api/catalog/entities/by-name/component/default/svc-<i>`
//!   answers 200 (the "task creation to a registered component",
//!   budget under 1 s), polled every 5 ms;
//! - until the task's `completion` event arrives on its event stream
//!   (`/tasks/{id}/eventstream`, followed, not polled), after which the
//!   task must read `completed`.
//!
//! Then N dry runs of the same template by reference, the server's RSS, and
//! whether any task workspace was left under `<data>/scaffolder/tasks/`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::{Running, rss_kib, start_with};

const TEMPLATE: &str = "template:default/python-service";
/// How often the component is looked up while a task runs.
const POLL: Duration = Duration::from_millis(5);
/// A run that takes longer than this has failed.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// Median, p90 and max of one figure.
struct Spread {
    median: Duration,
    p90: Duration,
    max: Duration,
}

fn spread(mut samples: Vec<Duration>) -> Spread {
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

/// The values a user submits for run `i`.
fn values(i: usize) -> Value {
    json!({
        "name": format!("svc-{i}"),
        "owner": "group:default/platform",
        "repoUrl": format!("pave?owner=bench&repo=svc-{i}"),
    })
}

/// Where `pave up` keeps its data (see [`start_with`]).
fn data_dir(running: &Running) -> PathBuf {
    running._data.path().join("pave")
}

/// Polls a URL until it answers 200; returns when it did.
async fn until_ok(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    began: Instant,
) -> anyhow::Result<Duration> {
    loop {
        let response = client.get(url).bearer_auth(token).send().await?;
        let status = response.status();
        response.bytes().await?;
        if status.is_success() {
            return Ok(began.elapsed());
        }
        if status != reqwest::StatusCode::NOT_FOUND {
            bail!("{url} answered {status}");
        }
        if began.elapsed() > RUN_LIMIT {
            bail!("{url} did not answer 200 within {RUN_LIMIT:?}");
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Follows a task's event stream until its completion event; returns when
/// it arrived and the status it carries.
async fn until_completion(
    client: &reqwest::Client,
    url: &str,
    task: &str,
    token: &str,
    began: Instant,
) -> anyhow::Result<(Duration, String)> {
    let mut response = client
        .get(format!("{url}/api/scaffolder/v2/tasks/{task}/eventstream"))
        .bearer_auth(token)
        .send()
        .await?;
    if !response.status().is_success() {
        bail!("the event stream of {task} answered {}", response.status());
    }
    let mut buffer = String::new();
    loop {
        let chunk = tokio::time::timeout(RUN_LIMIT, response.chunk())
            .await
            .with_context(|| format!("task {task} sent no event for {RUN_LIMIT:?}"))??;
        let Some(chunk) = chunk else {
            bail!("the event stream of {task} ended before its completion: {buffer}");
        };
        let arrived = began.elapsed();
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        // Events are separated by a blank line; the completion is the last.
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            let kind = event
                .lines()
                .find_map(|line| line.strip_prefix("event:"))
                .map(str::trim);
            if kind == Some("completion") {
                let data = event
                    .lines()
                    .filter_map(|line| line.strip_prefix("data:"))
                    .collect::<Vec<_>>()
                    .join("\n");
                let body: Value = serde_json::from_str(data.trim())
                    .with_context(|| format!("completion event of {task}: {data}"))?;
                let status = body["body"]["status"]
                    .as_str()
                    .unwrap_or("unknown")
                    .to_string();
                if status != "completed" {
                    bail!("task {task} ended {status}: {}", body["body"]);
                }
                return Ok((arrived, status));
            }
        }
    }
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    body: &Value,
) -> anyhow::Result<Value> {
    let response = client
        .post(url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await?;
    let status = response.status();
    let answer: Value = response.json().await?;
    if !status.is_success() {
        bail!("{url} answered {status}: {answer}");
    }
    Ok(answer)
}

/// Seconds since midnight of an RFC 3339 UTC time such as
/// `2026-11-24T01:10:30.694126Z` (event times; runs never span midnight).
fn seconds_of_day(time: &str) -> Option<f64> {
    let clock = time.split_once('T')?.1.trim_end_matches('Z');
    let mut parts = clock.split(':');
    let hours: f64 = parts.next()?.parse().ok()?;
    let minutes: f64 = parts.next()?.parse().ok()?;
    let seconds: f64 = parts.next()?.parse().ok()?;
    Some(hours * 3600.0 + minutes * 60.0 + seconds)
}

/// How long each step of a finished task took, from its `processing` event
/// to its `completed` event, in step order.
async fn step_times(
    client: &reqwest::Client,
    url: &str,
    task: &str,
    token: &str,
) -> anyhow::Result<Vec<(String, Duration)>> {
    let events: Value = client
        .get(format!("{url}/api/scaffolder/v2/tasks/{task}/events"))
        .bearer_auth(token)
        .send()
        .await?
        .json()
        .await?;
    let mut started: Vec<(String, f64)> = Vec::new();
    let mut steps = Vec::new();
    for event in events.as_array().context("events are a list")? {
        let body = &event["body"];
        let (Some(step), Some(at)) = (
            body["stepId"].as_str(),
            event["createdAt"].as_str().and_then(seconds_of_day),
        ) else {
            continue;
        };
        match body["status"].as_str() {
            Some("processing") => started.push((step.to_string(), at)),
            Some("completed") => {
                if let Some((_, began)) = started.iter().find(|(id, _)| id == step) {
                    steps.push((
                        step.to_string(),
                        Duration::from_secs_f64((at - began).max(0.0)),
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(steps)
}

/// Files and directories left under `directory` (0 when it is missing).
fn entries(directory: &Path) -> usize {
    std::fs::read_dir(directory)
        .map(|entries| entries.count())
        .unwrap_or(0)
}

pub async fn run(binary: &Path, runs: usize) -> anyhow::Result<()> {
    if runs == 0 {
        bail!("--runs must be at least 1");
    }
    let (running, ready) = start_with(binary, &[])?;
    let token = running.token.clone().context("no admin token printed")?;
    let url = running.url.clone();
    let client = reqwest::Client::new();

    // The golden paths are a config location, read by the first refresh.
    let began = Instant::now();
    let template_url =
        format!("{url}/api/catalog/entities/by-name/template/default/python-service");
    let golden = until_ok(&client, &template_url, &token, began).await? + ready;

    let mut registered = Vec::with_capacity(runs);
    let mut completed = Vec::with_capacity(runs);
    let mut accepted = Vec::with_capacity(runs);
    let mut steps: Vec<(String, Vec<Duration>)> = Vec::new();
    for i in 0..runs {
        let began = Instant::now();
        let task = post(
            &client,
            &format!("{url}/api/scaffolder/v2/tasks"),
            &token,
            &json!({"templateRef": TEMPLATE, "values": values(i)}),
        )
        .await
        .with_context(|| format!("run {i}: creating the task"))?;
        accepted.push(began.elapsed());
        let id = task["id"]
            .as_str()
            .context("the task has no id")?
            .to_string();
        let component = format!("{url}/api/catalog/entities/by-name/component/default/svc-{i}");
        let (visible, finished) = tokio::join!(
            until_ok(&client, &component, &token, began),
            until_completion(&client, &url, &id, &token, began),
        );
        let visible = visible.with_context(|| format!("run {i}: svc-{i} in the catalog"))?;
        let (finished, _) = finished.with_context(|| format!("run {i}: task {id}"))?;
        let record = client
            .get(format!("{url}/api/scaffolder/v2/tasks/{id}"))
            .bearer_auth(&token)
            .send()
            .await?
            .json::<Value>()
            .await?;
        if record["status"] != "completed" {
            bail!(
                "run {i}: task {id} reads {} after its completion event",
                record["status"]
            );
        }
        registered.push(visible);
        completed.push(finished);
        for (step, took) in step_times(&client, &url, &id, &token).await? {
            match steps.iter_mut().find(|(id, _)| *id == step) {
                Some((_, samples)) => samples.push(took),
                None => steps.push((step, vec![took])),
            }
        }
    }

    let mut dry_runs = Vec::with_capacity(runs);
    for i in 0..runs {
        let began = Instant::now();
        let answer = post(
            &client,
            &format!("{url}/api/scaffolder/v2/dry-run"),
            &token,
            &json!({"templateRef": TEMPLATE, "values": values(runs + i)}),
        )
        .await
        .with_context(|| format!("dry run {i}"))?;
        dry_runs.push(began.elapsed());
        if !answer["error"].is_null() {
            bail!("dry run {i} failed: {}", answer["error"]);
        }
        let files = answer["directoryContents"].as_array().map_or(0, Vec::len);
        if files == 0 {
            bail!("dry run {i} rendered no files");
        }
    }

    let rss = rss_kib(running.child.id());
    // A task's workspace is removed right after its completion is recorded.
    let data = data_dir(&running);
    let tasks_dir = data.join("scaffolder/tasks");
    let dry_run_dir = data.join("scaffolder/dry-run");
    let settle = Instant::now();
    while entries(&tasks_dir) + entries(&dry_run_dir) > 0
        && settle.elapsed() < Duration::from_secs(1)
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let left = entries(&tasks_dir);
    let left_dry = entries(&dry_run_dir);
    let repositories = entries(&data.join("repositories/bench"));

    println!(
        "scaffold: {runs} runs of {TEMPLATE} (fetch:template, publish:git to Pave's hosting, catalog:register), one at a time; pave up ready in {:.0} ms, the golden path in the catalog {:.0} ms after spawn",
        ms(ready),
        ms(golden)
    );
    println!(
        "  {:<52} {:>9} {:>9} {:>9}",
        "from POST /api/scaffolder/v2/tasks", "median", "p90", "max"
    );
    let row = |name: &str, samples: &[Duration]| {
        let spread = spread(samples.to_vec());
        println!(
            "  {name:<52} {:>6.1} ms {:>6.1} ms {:>6.1} ms",
            ms(spread.median),
            ms(spread.p90),
            ms(spread.max)
        );
    };
    row("task created (201)", &accepted);
    row(
        "component registered (by-name 200, 5 ms polls)",
        &registered,
    );
    row(
        "task completed (completion event on the stream)",
        &completed,
    );
    for (step, samples) in &steps {
        row(&format!("  step `{step}` (from its event times)"), samples);
    }
    row("dry run by templateRef (whole request)", &dry_runs);
    println!(
        "  first run: registered {:.1} ms, completed {:.1} ms; budget: registered under 1 s ({} of {runs} runs within it)",
        ms(registered[0]),
        ms(completed[0]),
        registered
            .iter()
            .filter(|took| **took < Duration::from_secs(1))
            .count()
    );
    println!(
        "  RSS after the runs: {}; left under <data>/scaffolder: tasks/ {left}, dry-run/ {left_dry} ({}); hosted repositories under bench/: {repositories}",
        rss.map(|kib| format!("{:.1} MiB", kib as f64 / 1024.0))
            .unwrap_or_else(|| "?".into()),
        if left + left_dry == 0 {
            "workspaces cleaned"
        } else {
            "WORKSPACES LEFT BEHIND"
        }
    );
    if left + left_dry > 0 {
        bail!(
            "task or dry-run workspaces were left under {}",
            data.join("scaffolder").display()
        );
    }
    Ok(())
}
