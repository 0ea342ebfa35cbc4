//! `pave env ...` and `pave preview ...`: environments (`/api/v1/environments`)
//! and pull-request previews (`/api/v1/previews`) for people.
//!
//! `pave env delete` stops everything that runs in the environment, so it
//! asks first on a terminal; without one it needs `--yes` and refuses
//! otherwise. `pave preview delete N` deletes the environment `pr-N`
//! without asking: previews are made to be thrown away.

use std::io::IsTerminal;

use anyhow::bail;
use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::cli::{EnvCommand, EnvCreateArgs, Global, PreviewCommand};
use crate::client::Client;
use crate::commands::deploy::{
    ago, ask, explain, items, now, path_segment, short_commit, short_component, short_id, strings,
    text, until, wait_for,
};
use crate::output;

const COLUMNS: &[(&str, &str)] = &[
    ("NAME", "name"),
    ("TYPE", "type"),
    ("STATUS", "status"),
    ("EXPIRES", "expires"),
    ("URLS", "urls"),
    ("RUNNING", "running"),
];

pub async fn run(global: &Global, command: &EnvCommand) -> anyhow::Result<()> {
    match command {
        EnvCommand::List => {
            let client = Client::from_global(global)?;
            let listed = client
                .send(Method::GET, "/api/v1/environments", None)
                .await?;
            let now = now();
            output::print(global.output, &listed, |listed| {
                let rows: Vec<Value> = items(listed)
                    .iter()
                    .map(|environment| row(environment, &now))
                    .collect();
                output::table(&rows, COLUMNS)
            })
        }
        EnvCommand::Show { name } => {
            let client = Client::from_global(global)?;
            let environment = client
                .send(
                    Method::GET,
                    &format!("/api/v1/environments/{}", path_segment(name)),
                    None,
                )
                .await
                .map_err(explain)?;
            output::print(global.output, &environment, environment_text)
        }
        EnvCommand::Create(args) => create(global, args).await,
        EnvCommand::Delete { name, yes } => {
            if !yes {
                if !std::io::stdin().is_terminal() {
                    bail!(
                        "not deleted: standard input is not a terminal, so nobody can confirm; run again with --yes to delete environment `{name}`"
                    );
                }
                let question = format!(
                    "Delete environment {name}? Everything running there stops and its URLs go away"
                );
                if !ask(
                    &mut std::io::stdin().lock(),
                    &mut std::io::stderr(),
                    &question,
                )? {
                    bail!("cancelled: environment `{name}` was not deleted");
                }
            }
            let client = Client::from_global(global)?;
            delete_environment(&client, global, name).await
        }
    }
}

async fn create(global: &Global, args: &EnvCreateArgs) -> anyhow::Result<()> {
    // Checked before any request.
    let config = parse_config(&args.config)?;
    let mut body = json!({"name": args.name});
    if let Some(environment_type) = args.environment_type {
        body["type"] = json!(environment_type.as_str());
    }
    if let Some(description) = &args.description {
        body["description"] = json!(description);
    }
    if let Some(parent) = &args.parent {
        body["parent"] = json!(parent);
    }
    if !config.is_empty() {
        body["config"] = Value::Object(config);
    }
    if let Some(branch) = &args.follows_branch {
        body["followsBranch"] = json!(branch);
    }
    let client = Client::from_global(global)?;
    let environment = client
        .send(Method::POST, "/api/v1/environments", Some(&body))
        .await?;
    output::print(global.output, &environment, |environment| {
        format!(
            "Created environment {} ({})\n\n{}",
            output::cell(environment.get("name")),
            output::cell(environment.get("type")),
            environment_text(environment)
        )
    })
}

async fn delete_environment(client: &Client, global: &Global, name: &str) -> anyhow::Result<()> {
    let path = format!("/api/v1/environments/{}", path_segment(name));
    // Read first: the server answers a DELETE of a missing environment with
    // 403 (its type, which the policies decide on, is unknown), not 404.
    client
        .send(Method::GET, &path, None)
        .await
        .map_err(explain)?;
    client
        .send(Method::DELETE, &path, None)
        .await
        .map_err(explain)?;
    output::print(
        global.output,
        &json!({"environment": name, "deleted": true}),
        |_| {
            format!(
                "Deleted environment {name}: its processes are stopped and its routes removed (its deployment history stays)"
            )
        },
    )
}

/// `--config KEY=VALUE` pairs; values stay strings.
pub(crate) fn parse_config(arguments: &[String]) -> anyhow::Result<Map<String, Value>> {
    let mut config = Map::new();
    for argument in arguments {
        let Some((key, value)) = argument.split_once('=') else {
            bail!("--config `{argument}`: expected KEY=VALUE, such as --config GREETING=hello");
        };
        let key = key.trim();
        if key.is_empty() {
            bail!("--config `{argument}`: the key before `=` is empty");
        }
        config.insert(key.to_string(), Value::String(value.to_string()));
    }
    Ok(config)
}

/// A table row: expiry as a time left, and what runs as
/// `orders@0123456` (with the status unless healthy).
fn row(environment: &Value, now: &str) -> Value {
    let running: Vec<String> = environment
        .get("deployments")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(running_text)
        .collect();
    json!({
        "name": environment.get("name"),
        "type": environment.get("type"),
        "status": environment.get("status"),
        "expires": until(text(environment, "expiresAt"), now),
        "urls": environment.get("urls"),
        "running": running,
    })
}

fn running_text(deployment: &Value) -> String {
    let mut out = format!(
        "{}@{}",
        short_component(text(deployment, "component").unwrap_or("?")),
        short_commit(text(deployment, "commit").unwrap_or("?"))
    );
    let status = text(deployment, "status").unwrap_or("?");
    let active = deployment.get("active") == Some(&Value::Bool(true));
    if !active {
        out.push_str(&format!(" ({status}, rolling out)"));
    } else if status != "Healthy" {
        out.push_str(&format!(" ({status})"));
    }
    out
}

/// One environment for people: its fields, config, source, URLs and
/// deployments.
fn environment_text(environment: &Value) -> String {
    let now = now();
    let mut fields = environment.clone();
    if text(environment, "description") == Some("") {
        fields["description"] = Value::Null;
    }
    if environment.get("expiresAt").is_some_and(|at| !at.is_null()) {
        fields["expires"] = json!(format!(
            "{} ({})",
            output::cell(environment.get("expiresAt")),
            until(text(environment, "expiresAt"), &now)
        ));
    }
    fields["created"] = json!(format!(
        "{} ({}) by {}",
        output::cell(environment.get("createdAt")),
        ago(text(environment, "createdAt"), &now),
        output::cell(environment.get("createdBy"))
    ));
    if let Some(source) = environment.get("source").filter(|source| !source.is_null()) {
        fields["pull request"] = json!(format!(
            "#{} {} at {} in {}",
            output::cell(source.get("pullRequest")),
            output::cell(source.get("branch")),
            short_commit(text(source, "headCommit").unwrap_or("?")),
            output::cell(source.get("repository"))
        ));
    }
    let mut out = output::fields(
        &fields,
        &[
            ("name", "name"),
            ("type", "type"),
            ("status", "status"),
            ("description", "description"),
            ("parent", "parent"),
            ("follows", "followsBranch"),
            ("pull request", "pull request"),
            ("expires", "expires"),
            ("created", "created"),
        ],
    );
    out.push('\n');
    if let Some(config) = environment.get("config").and_then(Value::as_object)
        && !config.is_empty()
    {
        out.push_str("\nConfig\n");
        let width = config.keys().map(|key| key.len()).max().unwrap_or(0);
        for (key, value) in config {
            out.push_str(&format!("  {key:width$}  {}\n", output::cell(Some(value))));
        }
    }
    let urls = strings(environment.get("urls"));
    if !urls.is_empty() {
        out.push_str("\nURLs\n");
        for url in urls {
            out.push_str(&format!("  {url}\n"));
        }
    }
    let deployments: Vec<Value> = environment
        .get("deployments")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|deployment| {
            json!({
                "id": short_id(text(deployment, "id").unwrap_or("?")),
                "component": short_component(text(deployment, "component").unwrap_or("?")),
                "commit": short_commit(text(deployment, "commit").unwrap_or("?")),
                "status": deployment.get("status"),
                "active": if deployment.get("active") == Some(&Value::Bool(true)) { "yes" } else { "" },
            })
        })
        .collect();
    out.push_str("\nRunning\n");
    if deployments.is_empty() {
        out.push_str("  nothing; deploy with `pave deploy COMPONENT --env NAME`\n");
    } else {
        out.push_str(&output::table(
            &deployments,
            &[
                ("ID", "id"),
                ("COMPONENT", "component"),
                ("COMMIT", "commit"),
                ("STATUS", "status"),
                ("ACTIVE", "active"),
            ],
        ));
        out.push('\n');
    }
    out
}

// ---------------------------------------------------------------------------
// pave preview

pub async fn preview(global: &Global, command: &PreviewCommand) -> anyhow::Result<()> {
    match command {
        PreviewCommand::Create {
            component,
            pull_request,
            branch,
            commit,
            base,
            ttl,
        } => {
            // Checked before any request.
            let ttl_seconds = ttl.as_deref().map(parse_duration).transpose()?;
            let mut body = json!({
                "component": component,
                "pullRequest": pull_request,
                "branch": branch,
            });
            if let Some(commit) = commit {
                body["headCommit"] = json!(commit);
            }
            if let Some(base) = base {
                body["base"] = json!(base);
            }
            if let Some(seconds) = ttl_seconds {
                body["ttlSeconds"] = json!(seconds);
            }
            let client = Client::from_global(global)?;
            let label = format!("Deploying the preview of pull request #{pull_request} ({branch})");
            let outcome = wait_for(
                global.output,
                &label,
                client.send(Method::POST, "/api/v1/previews", Some(&body)),
            )
            .await
            .map_err(explain)?;
            output::print(global.output, &outcome, preview_text)?;
            let failed: Vec<String> = outcome
                .get("deployments")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|deployment| text(deployment, "status") != Some("Healthy"))
                .map(|deployment| {
                    format!(
                        "{} is {}: {}",
                        short_component(text(deployment, "component").unwrap_or("?")),
                        text(deployment, "status").unwrap_or("?"),
                        text(deployment, "message")
                            .and_then(|message| message.lines().next())
                            .unwrap_or("")
                    )
                })
                .collect();
            if !failed.is_empty() {
                bail!(
                    "the preview {} is not healthy: {}",
                    text(&outcome, "environment").unwrap_or("?"),
                    failed.join("; ")
                );
            }
            Ok(())
        }
        PreviewCommand::Delete { pull_request } => {
            let client = Client::from_global(global)?;
            delete_environment(&client, global, &format!("pr-{pull_request}")).await
        }
    }
}

fn preview_text(outcome: &Value) -> String {
    let environment = output::cell(outcome.get("environment"));
    let mut out = format!(
        "{} preview {environment}\n",
        if outcome.get("created") == Some(&Value::Bool(true)) {
            "Created"
        } else {
            "Updated"
        }
    );
    for deployment in outcome
        .get("deployments")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let status = text(deployment, "status").unwrap_or("?");
        out.push_str(&format!(
            "  {} {}@{}: {status}",
            if status == "Healthy" { "✓" } else { "✗" },
            short_component(text(deployment, "component").unwrap_or("?")),
            short_commit(text(deployment, "commit").unwrap_or("?"))
        ));
        if status != "Healthy"
            && let Some(message) = text(deployment, "message").filter(|m| !m.is_empty())
        {
            out.push_str(&format!(" ({})", message.lines().next().unwrap_or("")));
        }
        out.push('\n');
    }
    let urls = strings(outcome.get("urls"));
    if !urls.is_empty() {
        out.push_str("\nURLs\n");
        for url in urls {
            out.push_str(&format!("  {url}\n"));
        }
    }
    out.push_str(&format!(
        "\nTear it down with `pave preview delete {}`\n",
        environment.trim_start_matches("pr-")
    ));
    out
}

/// A duration such as `3d`, `12h`, `1h30m`, `90s` or a number of seconds.
pub(crate) fn parse_duration(text: &str) -> anyhow::Result<u64> {
    let trimmed = text.trim();
    let wrong =
        || anyhow::anyhow!("--ttl `{text}`: expected a duration such as 3d, 12h, 1h30m or 90s");
    if trimmed.is_empty() {
        return Err(wrong());
    }
    if let Ok(seconds) = trimmed.parse::<u64>() {
        return Ok(seconds);
    }
    let mut total: u64 = 0;
    let mut number = String::new();
    for character in trimmed.chars() {
        if character.is_ascii_digit() {
            number.push(character);
            continue;
        }
        let unit = match character {
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return Err(wrong()),
        };
        let value: u64 = std::mem::take(&mut number).parse().map_err(|_| wrong())?;
        total = value
            .checked_mul(unit)
            .and_then(|seconds| total.checked_add(seconds))
            .ok_or_else(wrong)?;
    }
    if !number.is_empty() {
        return Err(wrong());
    }
    if total == 0 {
        bail!("--ttl `{text}` must be longer than zero");
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_pairs_are_checked_before_anything_is_sent() {
        let config = parse_config(&[
            "GREETING=hi".into(),
            "URL=http://x/?a=b".into(),
            "EMPTY=".into(),
            "GREETING=hello".into(),
        ])
        .unwrap();
        assert_eq!(
            Value::Object(config),
            json!({"GREETING": "hello", "URL": "http://x/?a=b", "EMPTY": ""})
        );
        let error = parse_config(&["novalue".into()]).unwrap_err().to_string();
        assert_eq!(
            error,
            "--config `novalue`: expected KEY=VALUE, such as --config GREETING=hello"
        );
        let error = parse_config(&["=x".into()]).unwrap_err().to_string();
        assert!(error.contains("the key before `=` is empty"), "{error}");
    }

    #[test]
    fn durations_take_units() {
        assert_eq!(parse_duration("3d").unwrap(), 3 * 86_400);
        assert_eq!(parse_duration("1h30m").unwrap(), 5_400);
        assert_eq!(parse_duration("90s").unwrap(), 90);
        assert_eq!(parse_duration("600").unwrap(), 600);
        for bad in ["", "3x", "h", "1h30", "d3", "0s", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rows_say_what_runs_and_when_it_expires() {
        let environment = json!({
            "name": "pr-5", "type": "preview", "status": "active",
            "expiresAt": "2026-01-13T12:00:00.000000Z",
            "urls": ["http://orders--pr-5.localhost:7080"],
            "deployments": [
                {"id": "x", "component": "component:default/orders", "commit": "0123456789", "status": "Healthy", "active": true},
                {"id": "y", "component": "component:default/web", "commit": "abcdef0123", "status": "Progressing", "active": false},
                {"id": "z", "component": "component:default/api", "commit": "9876543210", "status": "Degraded", "active": true}
            ]
        });
        let row = row(&environment, "2026-01-10T12:00:00.000000Z");
        assert_eq!(row["expires"], "in 3d");
        assert_eq!(
            row["running"],
            json!([
                "orders@0123456",
                "web@abcdef0 (Progressing, rolling out)",
                "api@9876543 (Degraded)"
            ])
        );
        let text = environment_text(&environment);
        assert!(text.contains("Running\n"), "{text}");
        assert!(text.contains("orders"), "{text}");
    }
}
