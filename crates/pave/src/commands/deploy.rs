//! `pave deploy`, `pave rollback`, `pave promote`, `pave deployments` and
//! `pave logs`: the deploy API (`/api/v1/deployments`) for people.
//!
//! `pave deploy` asks for the plan first and prints it. On a terminal it
//! asks before deploying (`--yes` skips the question). When standard input
//! is not a terminal nobody can answer, so without `--yes` it prints the
//! plan, deploys nothing and exits 1: a script that forgot `--yes` fails
//! loudly instead of deploying unreviewed, or silently doing nothing. The
//! deploy then pins the commit the plan showed, so what runs is what was
//! shown even if the branch moves meanwhile.
//!
//! Deploys, rollbacks and promotions answer when the new version is
//! `Healthy` or `Failed`; a progress line runs while the request waits.
//! A failed one exits 1 with the reason (the previous version keeps
//! serving).
//!
//! Deployment ids are UUIDs (v7: the first half is a time stamp, so
//! deployments made close together share it). Tables show the last 8
//! characters, the random part; every command that takes an id accepts a
//! whole id or any unique start or end of one.

use std::io::{BufRead, IsTerminal, Write};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::cli::{
    DeployArgs, DeploymentsArgs, DeploymentsCommand, Global, LogsArgs, Output, PromoteArgs,
    RollbackArgs,
};
use crate::client::{Client, ServerError};
use crate::output;

/// The shortest abbreviation of a deployment id that is looked up.
const MIN_SHORT_ID: usize = 4;

/// How many deployments a short id is looked up among (the API's maximum).
const LOOKUP_LIMIT: u32 = 1000;

// ---------------------------------------------------------------------------
// pave deploy

pub async fn deploy(global: &Global, args: &DeployArgs) -> anyhow::Result<()> {
    let client = Client::from_global(global)?;
    let mut body = json!({"component": args.component, "environment": args.environment});
    if let Some(revision) = &args.revision {
        body["revision"] = json!(revision);
    }
    let plan = client
        .send(Method::POST, "/api/v1/deployments/plan", Some(&body))
        .await
        .map_err(explain)?;
    if args.plan_only {
        return output::print(global.output, &plan, plan_text);
    }
    let component = text(&plan, "component")
        .unwrap_or(&args.component)
        .to_string();
    let environment = text(&plan, "environment")
        .unwrap_or(&args.environment)
        .to_string();
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            output::print(global.output, &plan, plan_text)?;
            bail!(
                "not deployed: standard input is not a terminal, so nobody can confirm; run again with --yes to deploy this plan (or --plan-only to only show it)"
            );
        }
        // The question is for a person: the plan goes where they read it.
        if global.output == Output::Table {
            print_block(&plan_text(&plan));
        } else {
            eprintln!("{}", plan_text(&plan));
        }
        if !ask(
            &mut std::io::stdin().lock(),
            &mut std::io::stderr(),
            &format!("Deploy {component} to {environment}?"),
        )? {
            bail!("cancelled: nothing was deployed");
        }
    } else if global.output == Output::Table {
        print_block(&plan_text(&plan));
    }
    // Deploy exactly the commit the plan showed.
    let commit = text(&plan, "commit").map(str::to_string);
    if let Some(commit) = &commit {
        body["revision"] = json!(commit);
    }
    let label = format!(
        "Deploying {component} to {environment} at {}",
        short_commit(commit.as_deref().unwrap_or("?"))
    );
    let deployment = wait_for(
        global.output,
        &label,
        client.send(Method::POST, "/api/v1/deployments", Some(&body)),
    )
    .await
    .map_err(explain)?;
    outcome(global.output, &deployment, plan.get("current").is_some())
}

// ---------------------------------------------------------------------------
// pave rollback, pave promote

pub async fn rollback(global: &Global, args: &RollbackArgs) -> anyhow::Result<()> {
    let client = Client::from_global(global)?;
    let mut body = json!({"component": args.component, "environment": args.environment});
    if let Some(to) = &args.to {
        let query = [
            ("component", args.component.clone()),
            ("environment", args.environment.clone()),
        ];
        body["to"] = json!(resolve_id(&client, to, &query).await?);
    }
    let label = match &args.to {
        Some(to) => format!(
            "Rolling {} in {} back to deployment {to}",
            args.component, args.environment
        ),
        None => format!(
            "Rolling {} in {} back to its last healthy deployment",
            args.component, args.environment
        ),
    };
    let deployment = wait_for(
        global.output,
        &label,
        client.send(Method::POST, "/api/v1/deployments/rollback", Some(&body)),
    )
    .await
    .map_err(explain)?;
    outcome(global.output, &deployment, true)
}

pub async fn promote(global: &Global, args: &PromoteArgs) -> anyhow::Result<()> {
    let client = Client::from_global(global)?;
    let body = json!({"component": args.component, "from": args.from, "to": args.to});
    let label = format!(
        "Promoting {} from {} to {}",
        args.component, args.from, args.to
    );
    let deployment = wait_for(
        global.output,
        &label,
        client.send(Method::POST, "/api/v1/deployments/promote", Some(&body)),
    )
    .await
    .map_err(explain)?;
    outcome(global.output, &deployment, true)
}

/// Prints how a rollout ended; an error (exit 1) unless it is healthy.
/// `had_previous`: something ran before, and keeps running after a failure.
fn outcome(format: Output, deployment: &Value, had_previous: bool) -> anyhow::Result<()> {
    let status = text(deployment, "status").unwrap_or("?").to_string();
    let id = text(deployment, "id").unwrap_or("?").to_string();
    let message = text(deployment, "message").unwrap_or("").to_string();
    output::print(format, deployment, |deployment| {
        outcome_text(deployment, had_previous)
    })?;
    if status == "Healthy" {
        return Ok(());
    }
    // The first line; log lines that follow it are printed above.
    let first_line = message.lines().next().unwrap_or("").trim();
    let reason = match (first_line.is_empty(), message.lines().count() > 1) {
        (true, _) => String::new(),
        (false, false) => format!(": {first_line}"),
        (false, true) => format!(": {first_line} (see above)"),
    };
    bail!(
        "deployment {} of {} to {} is {status}{reason}",
        short_id(&id),
        short_component(text(deployment, "component").unwrap_or("?")),
        text(deployment, "environment").unwrap_or("?")
    )
}

fn outcome_text(deployment: &Value, had_previous: bool) -> String {
    let status = text(deployment, "status").unwrap_or("?");
    let mark = match status {
        "Healthy" => "✓",
        _ => "✗",
    };
    let mut text_out = format!(
        "{mark} {status}: deployment {} of {} to {} ({}, commit {})\n",
        output::cell(deployment.get("id")),
        output::cell(deployment.get("component")),
        output::cell(deployment.get("environment")),
        output::cell(deployment.get("kind")),
        short_commit(text(deployment, "commit").unwrap_or("?")),
    );
    if let Some(message) = text(deployment, "message").filter(|message| !message.is_empty()) {
        for line in message.lines() {
            text_out.push_str(&format!("  {line}\n"));
        }
    }
    if status == "Healthy" {
        for url in strings(deployment.pointer("/resolved/urls")) {
            text_out.push_str(&format!("  {url}\n"));
        }
    } else if had_previous {
        text_out.push_str("  The previous version keeps serving.\n");
    }
    text_out
}

// ---------------------------------------------------------------------------
// Plans

/// A plan for people: what runs, what changes, the variables and the URLs.
pub(crate) fn plan_text(plan: &Value) -> String {
    let mut out = format!(
        "Plan: deploy {} to {}\n",
        output::cell(plan.get("component")),
        output::cell(plan.get("environment"))
    );
    out.push_str(&format!(
        "  revision  {} (commit {})\n",
        output::cell(plan.get("revision")),
        short_commit(text(plan, "commit").unwrap_or("?"))
    ));
    match plan.get("current").filter(|current| !current.is_null()) {
        Some(current) => out.push_str(&format!(
            "  running   deployment {} at commit {} ({})\n",
            short_id(text(current, "id").unwrap_or("?")),
            short_commit(text(current, "commit").unwrap_or("?")),
            output::cell(current.get("status"))
        )),
        None => out.push_str("  running   nothing yet\n"),
    }
    out.push_str("\nChanges\n");
    let changes = strings(plan.get("changes"));
    if changes.is_empty() {
        out.push_str("  (none)\n");
    }
    for change in changes {
        out.push_str(&format!("  {change}\n"));
    }
    if let Some(containers) = plan.get("variables").and_then(Value::as_object)
        && !containers.is_empty()
    {
        out.push_str("\nVariables\n");
        for (container, variables) in containers {
            out.push_str(&format!("  {container}\n"));
            let variables = variables.as_object().cloned().unwrap_or_default();
            let width = variables.keys().map(|name| name.len()).max().unwrap_or(0);
            for (name, value) in &variables {
                out.push_str(&format!(
                    "    {name:width$}  {}\n",
                    output::cell(Some(value))
                ));
            }
        }
    }
    let urls = strings(plan.get("urls"));
    if !urls.is_empty() {
        out.push_str("\nURLs\n");
        for url in urls {
            out.push_str(&format!("  {url}\n"));
        }
    }
    out
}

/// Prints a block of text followed by one blank line.
fn print_block(text: &str) {
    println!("{}\n", text.trim_end());
}

// ---------------------------------------------------------------------------
// Questions and progress

/// Asks a yes/no question on `prompt` and reads the answer from `input`;
/// only `y` or `yes` (any case) is yes, end of input is no.
pub(crate) fn ask(
    input: &mut impl BufRead,
    prompt: &mut impl Write,
    question: &str,
) -> anyhow::Result<bool> {
    write!(prompt, "{question} [y/N] ")?;
    prompt.flush()?;
    let mut line = String::new();
    let read = input
        .read_line(&mut line)
        .context("cannot read the answer")?;
    if read == 0 {
        writeln!(prompt)?;
    }
    Ok(matches!(
        line.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// Runs `request` (a call that answers only once a rollout ended) with a
/// progress line on standard error: a spinner with the seconds waited on a
/// terminal; otherwise, in table output, the label and a dot every two
/// seconds. Ctrl-C stops waiting.
pub(crate) async fn wait_for<T>(
    format: Output,
    label: &str,
    request: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    let terminal = std::io::stderr().is_terminal()
        && std::env::var("TERM").map_or(true, |term| term != "dumb");
    let show = terminal || format == Output::Table;
    let started = Instant::now();
    let ticker = show.then(|| {
        let label = label.to_string();
        if !terminal {
            eprint!("{label}…");
        }
        tokio::spawn(async move {
            const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
            let mut frame = 0usize;
            loop {
                if terminal {
                    eprint!(
                        "\r\x1b[2K{} {label}… {}s",
                        FRAMES[frame % FRAMES.len()],
                        started.elapsed().as_secs()
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await;
                } else {
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    eprint!(".");
                }
                let _ = std::io::stderr().flush();
                frame += 1;
            }
        })
    });
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    let result = tokio::select! {
        result = request => Ok(result),
        _ = &mut interrupted => Err(()),
    };
    if let Some(ticker) = ticker {
        ticker.abort();
        let _ = ticker.await;
        let seconds = started.elapsed().as_secs_f64();
        if terminal {
            eprint!("\r\x1b[2K");
        } else {
            eprintln!(" {seconds:.1} s");
        }
        let _ = std::io::stderr().flush();
    }
    match result {
        Ok(result) => result,
        Err(()) => bail!(
            "interrupted: stopped waiting; the server may still finish (see `pave deployments`)"
        ),
    }
}

// ---------------------------------------------------------------------------
// pave deployments

const DEPLOYMENT_COLUMNS: &[(&str, &str)] = &[
    ("ID", "id"),
    ("COMPONENT", "component"),
    ("ENV", "environment"),
    ("COMMIT", "commit"),
    ("KIND", "kind"),
    ("STATUS", "status"),
    ("ACTIVE", "active"),
    ("WHEN", "when"),
    ("WHO", "createdBy"),
];

/// A history row: short id, component and commit, and when as an age.
fn deployment_row(deployment: &Value, now: &str) -> Value {
    json!({
        "id": short_id(text(deployment, "id").unwrap_or("?")),
        "component": short_component(text(deployment, "component").unwrap_or("?")),
        "environment": deployment.get("environment"),
        "commit": short_commit(text(deployment, "commit").unwrap_or("?")),
        "kind": deployment.get("kind"),
        "status": deployment.get("status"),
        "active": if deployment.get("active") == Some(&Value::Bool(true)) { "yes" } else { "" },
        "when": ago(text(deployment, "createdAt"), now),
        "createdBy": deployment.get("createdBy"),
    })
}

pub async fn deployments(global: &Global, args: &DeploymentsArgs) -> anyhow::Result<()> {
    let client = Client::from_global(global)?;
    if let Some(DeploymentsCommand::Show { id }) = &args.command {
        let id = resolve_id(&client, id, &[]).await?;
        let deployment = client
            .send(
                Method::GET,
                &format!("/api/v1/deployments/{}", path_segment(&id)),
                None,
            )
            .await
            .map_err(explain)?;
        return output::print(global.output, &deployment, deployment_text);
    }
    let mut query = vec![("limit", args.limit.to_string())];
    if let Some(component) = &args.component {
        query.push(("component", component.clone()));
    }
    if let Some(environment) = &args.environment {
        query.push(("environment", environment.clone()));
    }
    let listed = client
        .send_with(Method::GET, "/api/v1/deployments", &query, None)
        .await
        .map_err(explain)?;
    let now = now();
    output::print(global.output, &listed, |listed| {
        let rows: Vec<Value> = items(listed)
            .iter()
            .map(|deployment| deployment_row(deployment, &now))
            .collect();
        output::table(&rows, DEPLOYMENT_COLUMNS)
    })
}

/// One deployment for people.
fn deployment_text(deployment: &Value) -> String {
    let now = now();
    let mut row = deployment.clone();
    row["when"] = json!(format!(
        "{} ({})",
        output::cell(deployment.get("createdAt")),
        ago(text(deployment, "createdAt"), &now)
    ));
    let mut out = output::fields(
        &row,
        &[
            ("id", "id"),
            ("component", "component"),
            ("environment", "environment"),
            ("kind", "kind"),
            ("based on", "basedOn"),
            ("revision", "revision"),
            ("commit", "commit"),
            ("status", "status"),
            ("active", "active"),
            ("created", "when"),
            ("by", "createdBy"),
            ("updated", "updatedAt"),
        ],
    );
    out.push('\n');
    if let Some(message) = text(deployment, "message").filter(|message| !message.is_empty()) {
        out.push_str("\nMessage\n");
        for line in message.lines() {
            out.push_str(&format!("  {line}\n"));
        }
    }
    let urls = strings(deployment.pointer("/resolved/urls"));
    if !urls.is_empty() {
        out.push_str("\nURLs\n");
        for url in urls {
            out.push_str(&format!("  {url}\n"));
        }
    }
    if let Some(containers) = deployment
        .pointer("/resolved/variables")
        .and_then(Value::as_object)
        && !containers.is_empty()
    {
        out.push_str("\nVariables\n");
        for (container, variables) in containers {
            out.push_str(&format!("  {container}\n"));
            let variables = variables.as_object().cloned().unwrap_or_default();
            let width = variables.keys().map(|name| name.len()).max().unwrap_or(0);
            for (name, value) in &variables {
                out.push_str(&format!(
                    "    {name:width$}  {}\n",
                    output::cell(Some(value))
                ));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// pave logs

pub async fn logs(global: &Global, args: &LogsArgs) -> anyhow::Result<()> {
    let client = Client::from_global(global)?;
    let id = resolve_id(&client, &args.id, &[]).await?;
    let mut query = Vec::new();
    if let Some(process) = &args.process {
        query.push(("process", process.clone()));
    }
    if let Some(tail) = args.tail {
        query.push(("tail", tail.to_string()));
    }
    let path = format!("/api/v1/deployments/{}/logs", path_segment(&id));
    if args.follow {
        return follow_logs(&client, &path, query).await;
    }
    let logs = client
        .send_with(Method::GET, &path, &query, None)
        .await
        .map_err(explain)?;
    output::print(global.output, &logs, logs_text)
}

/// Prints the tail, then each line as the process writes it, until the
/// deployment stops running (the server ends the stream) or Ctrl-C.
async fn follow_logs(
    client: &Client,
    path: &str,
    mut query: Vec<(&str, String)>,
) -> anyhow::Result<()> {
    query.push(("follow", "true".into()));
    let mut response = client.stream(path, &query, None).await.map_err(explain)?;
    let mut parser = crate::commands::create::SseParser::default();
    let mut out = std::io::stdout().lock();
    loop {
        let chunk = tokio::select! {
            chunk = response.chunk() => chunk?,
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        let Some(chunk) = chunk else {
            return Ok(());
        };
        for event in parser.push(&chunk) {
            if event.event != "line" {
                continue;
            }
            let line: Value = serde_json::from_str(&event.data).unwrap_or(Value::Null);
            let marker = if text(&line, "stream") == Some("stderr") {
                "stderr| "
            } else {
                ""
            };
            writeln!(out, "{marker}{}", text(&line, "text").unwrap_or(""))?;
            out.flush()?;
        }
    }
}

/// Log lines as written; standard error lines marked `stderr|`, and the
/// time first when the runtime knows it.
fn logs_text(logs: &Value) -> String {
    let lines = logs
        .get("lines")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if lines.is_empty() {
        return format!(
            "({} wrote no lines yet)",
            text(logs, "process").unwrap_or("the process")
        );
    }
    let mut out = String::new();
    for line in &lines {
        if let Some(time) = text(line, "time") {
            out.push_str(time);
            out.push(' ');
        }
        if text(line, "stream") == Some("stderr") {
            out.push_str("stderr| ");
        }
        out.push_str(text(line, "text").unwrap_or(""));
        out.push('\n');
    }
    out
}

// ---------------------------------------------------------------------------
// Deployment ids

/// A deployment id from a whole id or a unique start or end of one, looked
/// up among the deployments `query` narrows to.
pub(crate) async fn resolve_id(
    client: &Client,
    given: &str,
    query: &[(&str, String)],
) -> anyhow::Result<String> {
    let given = given.trim();
    if is_full_id(given) {
        return Ok(given.to_ascii_lowercase());
    }
    if given.len() < MIN_SHORT_ID {
        bail!(
            "deployment id `{given}` is too short: give at least {MIN_SHORT_ID} characters (the ID column of `pave deployments`)"
        );
    }
    let mut query = query.to_vec();
    query.push(("limit", LOOKUP_LIMIT.to_string()));
    let listed = client
        .send_with(Method::GET, "/api/v1/deployments", &query, None)
        .await
        .map_err(explain)?;
    let ids: Vec<String> = items(&listed)
        .iter()
        .filter_map(|deployment| text(deployment, "id").map(str::to_string))
        .collect();
    pick_id(given, &ids)
}

fn is_full_id(text: &str) -> bool {
    text.len() == 36
        && text.bytes().enumerate().all(|(index, byte)| match index {
            8 | 13 | 18 | 23 => byte == b'-',
            _ => byte.is_ascii_hexdigit(),
        })
}

/// The one id that starts or ends with `given`.
fn pick_id(given: &str, ids: &[String]) -> anyhow::Result<String> {
    let wanted = given.to_ascii_lowercase();
    let matches: Vec<&String> = ids
        .iter()
        .filter(|id| id.starts_with(&wanted) || id.ends_with(&wanted))
        .collect();
    match matches.as_slice() {
        [one] => Ok((*one).clone()),
        [] => bail!("there is no deployment `{given}`; see `pave deployments`"),
        several => bail!(
            "deployment id `{given}` is ambiguous: it could be {}; give more characters",
            several
                .iter()
                .take(5)
                .map(|id| id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The last 8 characters of an id (UUID v7 ids start with a time stamp).
pub(crate) fn short_id(id: &str) -> String {
    if is_full_id(id) {
        id[id.len() - 8..].to_string()
    } else {
        id.to_string()
    }
}

pub(crate) fn short_commit(commit: &str) -> String {
    commit.chars().take(7).collect()
}

/// `component:default/orders` as `orders`; other namespaces and kinds stay.
pub(crate) fn short_component(reference: &str) -> String {
    match reference.strip_prefix("component:") {
        Some(rest) => rest.strip_prefix("default/").unwrap_or(rest).to_string(),
        None => reference.to_string(),
    }
}

// ---------------------------------------------------------------------------
// Small helpers

pub(crate) fn text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

pub(crate) fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn items(listed: &Value) -> Vec<Value> {
    listed
        .get("items")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// A path segment: ids and names are plain; anything else is encoded.
pub(crate) fn path_segment(text: &str) -> String {
    text.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.') {
                (byte as char).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

/// Now, as the server writes times.
pub(crate) fn now() -> String {
    pave_store::format_time(pave_store::now())
}

/// How long ago `time` was, relative to `now` (both as the API writes
/// them): `12s ago`, `5m ago`, `3h 4m ago`, `2d 1h ago`.
pub(crate) fn ago(time: Option<&str>, now: &str) -> String {
    match seconds_between(time, now) {
        Some(seconds) if seconds >= 0 => format!("{} ago", duration_text(seconds)),
        Some(_) => "just now".into(),
        None => "-".into(),
    }
}

/// How long until `time`: `in 2d 23h`, or `expired`.
pub(crate) fn until(time: Option<&str>, now: &str) -> String {
    let Some(time) = time else {
        return "-".into();
    };
    match seconds_between(Some(now), time) {
        Some(seconds) if seconds > 0 => format!("in {}", duration_text(seconds)),
        Some(_) => "expired".into(),
        None => "-".into(),
    }
}

/// Seconds from `earlier` to `later`.
fn seconds_between(earlier: Option<&str>, later: &str) -> Option<i64> {
    let earlier = pave_store::parse_time(earlier?).ok()?;
    let later = pave_store::parse_time(later).ok()?;
    Some(later.duration_since(earlier).as_secs())
}

/// Seconds as the two largest units: `45s`, `5m 3s`, `3h 4m`, `2d 1h`.
pub(crate) fn duration_text(seconds: i64) -> String {
    let units = [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)];
    let mut parts = Vec::new();
    let mut rest = seconds.max(0);
    for (name, size) in units {
        if rest >= size || (parts.is_empty() && size == 1) {
            parts.push(format!("{}{name}", rest / size));
            rest %= size;
        } else if !parts.is_empty() {
            break;
        }
        if parts.len() == 2 {
            break;
        }
    }
    parts.join(" ")
}

/// Adds where to look next to the API's "not found" answers.
pub(crate) fn explain(error: anyhow::Error) -> anyhow::Error {
    let Some(status) = error
        .downcast_ref::<ServerError>()
        .map(|server_error| server_error.status)
    else {
        return error;
    };
    let message = error.to_string();
    if status != StatusCode::NOT_FOUND {
        return error;
    }
    if message.contains("no environment") {
        anyhow!("{message}; see `pave env list`")
    } else if message.contains("in the catalog") || message.contains("no component named") {
        anyhow!("{message}; see `pave catalog list --filter kind=component`")
    } else {
        error
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_yes_only_when_they_say_so() {
        for (answer, expected) in [
            ("y\n", true),
            ("YES\n", true),
            (" yes \n", true),
            ("n\n", false),
            ("\n", false),
            ("yep\n", false),
            ("", false),
        ] {
            let mut prompt = Vec::new();
            let answered = ask(&mut answer.as_bytes(), &mut prompt, "Deploy?").unwrap();
            assert_eq!(answered, expected, "{answer:?}");
            assert!(
                String::from_utf8(prompt)
                    .unwrap()
                    .starts_with("Deploy? [y/N] ")
            );
        }
    }

    #[test]
    fn short_ids_are_the_random_end_and_resolve_both_ways() {
        let ids = vec![
            "0190f3a2-7c4e-7a10-8b2c-3d4e5f6a7b8c".to_string(),
            "0190f3a2-7c4e-7a10-9f00-aabbccddeeff".to_string(),
        ];
        assert_eq!(short_id(&ids[0]), "5f6a7b8c");
        assert_eq!(short_id("not-a-uuid"), "not-a-uuid");
        assert_eq!(pick_id("5F6A7B8C", &ids).unwrap(), ids[0]);
        assert_eq!(pick_id("0190f3a2-7c4e-7a10-9f", &ids).unwrap(), ids[1]);
        let error = pick_id("0190f3a2", &ids).unwrap_err().to_string();
        assert!(error.contains("ambiguous"), "{error}");
        let error = pick_id("12345678", &ids).unwrap_err().to_string();
        assert!(
            error.contains("there is no deployment `12345678`"),
            "{error}"
        );
        assert!(is_full_id(&ids[0]));
        assert!(!is_full_id("0190f3a2-7c4e-7a10-8b2c-3d4e5f6a7b8"));
        assert!(!is_full_id("0190f3a2x7c4e-7a10-8b2c-3d4e5f6a7b8c"));
    }

    #[test]
    fn components_commits_and_ages_are_short() {
        assert_eq!(short_component("component:default/orders"), "orders");
        assert_eq!(short_component("component:team/orders"), "team/orders");
        assert_eq!(short_commit("0123456789abcdef"), "0123456");
        let now = "2026-01-10T12:00:00.000000Z";
        assert_eq!(ago(Some("2026-01-10T11:59:48.500000Z"), now), "11s ago");
        assert_eq!(ago(Some("2026-01-10T11:55:00.000000Z"), now), "5m ago");
        assert_eq!(ago(Some("2026-01-10T08:56:00.000000Z"), now), "3h 4m ago");
        assert_eq!(ago(Some("2026-01-08T11:00:00.000000Z"), now), "2d 1h ago");
        assert_eq!(ago(Some("2026-01-10T12:00:05.000000Z"), now), "just now");
        assert_eq!(ago(None, now), "-");
        assert_eq!(ago(Some("yesterday"), now), "-");
        assert_eq!(until(Some("2026-01-13T11:00:00.000000Z"), now), "in 2d 23h");
        assert_eq!(until(Some("2026-01-10T11:00:00.000000Z"), now), "expired");
        assert_eq!(until(None, now), "-");
        assert_eq!(duration_text(0), "0s");
        assert_eq!(duration_text(3600), "1h");
        assert_eq!(duration_text(3661), "1h 1m");
    }

    #[test]
    fn a_plan_shows_changes_variables_and_urls() {
        let plan = json!({
            "component": "component:default/orders",
            "environment": "dev",
            "revision": "main",
            "commit": "0123456789abcdef0123456789abcdef01234567",
            "current": {"id": "0190f3a2-7c4e-7a10-8b2c-3d4e5f6a7b8c", "commit": "fedcba9876543210", "status": "Healthy"},
            "changes": ["commit: fedcba987654 → 0123456789ab", "main: variable GREETING: hi → hello"],
            "variables": {"main": {"API_TOKEN": "********", "GREETING": "hello"}},
            "urls": ["http://orders--dev.localhost:7080"]
        });
        assert_eq!(
            plan_text(&plan),
            "Plan: deploy component:default/orders to dev\n  revision  main (commit 0123456)\n  running   deployment 5f6a7b8c at commit fedcba9 (Healthy)\n\nChanges\n  commit: fedcba987654 → 0123456789ab\n  main: variable GREETING: hi → hello\n\nVariables\n  main\n    API_TOKEN  ********\n    GREETING   hello\n\nURLs\n  http://orders--dev.localhost:7080\n"
        );
        let first = json!({"component": "c", "environment": "dev", "revision": "main", "commit": "abc", "changes": [], "variables": {}, "urls": []});
        assert_eq!(
            plan_text(&first),
            "Plan: deploy c to dev\n  revision  main (commit abc)\n  running   nothing yet\n\nChanges\n  (none)\n"
        );
    }

    #[test]
    fn outcomes_show_urls_or_the_reason() {
        let healthy = json!({
            "id": "0190f3a2-7c4e-7a10-8b2c-3d4e5f6a7b8c", "component": "component:default/orders",
            "environment": "dev", "kind": "deploy", "commit": "0123456789", "status": "Healthy",
            "message": "ready and serving", "resolved": {"urls": ["http://orders--dev.localhost:7080"]}
        });
        assert_eq!(
            outcome_text(&healthy, false),
            "✓ Healthy: deployment 0190f3a2-7c4e-7a10-8b2c-3d4e5f6a7b8c of component:default/orders to dev (deploy, commit 0123456)\n  ready and serving\n  http://orders--dev.localhost:7080\n"
        );
        assert!(outcome(Output::Json, &healthy, false).is_ok());
        let mut failed = healthy.clone();
        failed["status"] = json!("Failed");
        failed["message"] =
            json!("the new version did not become ready: still starting\n  main stdout: hello");
        let text = outcome_text(&failed, true);
        assert!(text.starts_with("✗ Failed: deployment"), "{text}");
        assert!(
            text.contains(
                "  the new version did not become ready: still starting\n    main stdout: hello\n"
            ),
            "{text}"
        );
        assert!(
            text.ends_with("  The previous version keeps serving.\n"),
            "{text}"
        );
        assert!(!text.contains("http://"), "{text}");
        let error = outcome(Output::Json, &failed, true)
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "deployment 5f6a7b8c of orders to dev is Failed: the new version did not become ready: still starting (see above)"
        );
    }

    #[test]
    fn log_lines_mark_standard_error() {
        let logs = json!({"process": "main", "lines": [
            {"stream": "stdout", "text": "listening"},
            {"stream": "stderr", "text": "GET / 200"},
            {"time": "2026-01-10T12:00:00Z", "stream": "stdout", "text": "later"}
        ]});
        assert_eq!(
            logs_text(&logs),
            "listening\nstderr| GET / 200\n2026-01-10T12:00:00Z later\n"
        );
        assert_eq!(
            logs_text(&json!({"process": "main", "lines": []})),
            "(main wrote no lines yet)"
        );
    }
}
