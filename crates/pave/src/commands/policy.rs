//! `pave policy ...`: the server's policy set, and offline validation and checks.

use std::path::Path;

use anyhow::{Context, bail};
use pave_access::{Action, Authorizer, PolicyError, Principal, ResourceRef, policy};
use reqwest::Method;
use serde_json::{Value, json};

use crate::cli::{Global, PolicyCommand};
use crate::client::Client;
use crate::output;

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Compiles a policy file offline; errors list every problem as file:line:col.
fn compile_file(path: &Path) -> anyhow::Result<Authorizer> {
    let source = read(path)?;
    match Authorizer::from_source(&source) {
        Ok(authorizer) => Ok(authorizer),
        Err(PolicyError::Invalid { diagnostics }) => {
            let lines: Vec<String> = diagnostics
                .iter()
                .map(|d| format!("{}:{d}", path.display()))
                .collect();
            bail!(
                "{} is not a valid policy set:\n{}",
                path.display(),
                lines.join("\n")
            )
        }
        Err(other) => bail!("{}: {other}", path.display()),
    }
}

pub async fn run(global: &Global, command: &PolicyCommand) -> anyhow::Result<()> {
    match command {
        PolicyCommand::Get => {
            let client = Client::from_global(global)?;
            let set = client.send(Method::GET, "/api/v1/policies", None).await?;
            output::print(global.output, &set, |set| {
                format!(
                    "// version {} by {} at {}\n{}",
                    output::cell(set.get("version")),
                    output::cell(set.get("updatedBy")),
                    output::cell(set.get("updatedAt")),
                    output::cell(set.get("source"))
                )
            })
        }
        PolicyCommand::Set {
            file,
            expected_version,
            force,
        } => {
            let source = read(file)?;
            let client = Client::from_global(global)?;
            let mut body = json!({ "source": source, "force": force });
            if let Some(version) = expected_version {
                body["version"] = json!(version);
            }
            let set = client
                .send(Method::PUT, "/api/v1/policies", Some(&body))
                .await?;
            output::print(global.output, &set, |set| {
                format!(
                    "Policies replaced: version {} ({})",
                    output::cell(set.get("version")),
                    output::cell(set.get("policies"))
                )
            })
        }
        PolicyCommand::Validate { file } => {
            let ids = compile_file(file)?.snapshot().policy_ids();
            let report = json!({"valid": true, "policies": ids});
            output::print(global.output, &report, |_| {
                format!(
                    "{} is valid: {} policies ({})",
                    file.display(),
                    ids.len(),
                    ids.join(", ")
                )
            })
        }
        PolicyCommand::Schema => {
            print!("{}", policy::SCHEMA_SOURCE);
            Ok(())
        }
        PolicyCommand::Check {
            principal,
            groups,
            action,
            resource,
            policies,
        } => {
            let decision = match policies {
                Some(file) => check_offline(file, principal, groups, action, resource)?,
                None => {
                    let client = Client::from_global(global)?;
                    let body = json!({"principal": principal, "groups": groups, "action": action, "resource": resource});
                    client
                        .send(Method::POST, "/api/v1/policies/check", Some(&body))
                        .await?
                }
            };
            output::print(global.output, &decision, |decision| {
                let allowed = decision
                    .get("allowed")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                let policies = decision
                    .get("policies")
                    .and_then(Value::as_array)
                    .filter(|p| !p.is_empty())
                    .map(|_| output::cell(decision.get("policies")))
                    .unwrap_or_else(|| "none (nothing permits it: denied by default)".into());
                let mut text = format!(
                    "{}\ndecided by: {policies}",
                    if allowed { "ALLOW" } else { "DENY" }
                );
                if let Some(errors) = decision.get("errors").and_then(Value::as_array) {
                    for error in errors {
                        text.push_str(&format!("\nerror: {}", output::cell(Some(error))));
                    }
                }
                text
            })
        }
    }
}

fn check_offline(
    file: &Path,
    principal: &str,
    groups: &[String],
    action: &str,
    resource: &str,
) -> anyhow::Result<Value> {
    let authorizer = compile_file(file)?;
    let principal = Principal::parse(principal, groups)?;
    let action: Action = action.parse()?;
    let resource = ResourceRef::parse(resource).map_err(anyhow::Error::msg)?;
    let decision = authorizer.decide(&principal, action, &resource);
    Ok(serde_json::to_value(decision)?)
}
