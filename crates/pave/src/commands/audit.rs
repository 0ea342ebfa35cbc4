//! `pave audit list` and `pave audit verify`.

use anyhow::bail;
use reqwest::Method;
use serde_json::Value;

use crate::cli::{AuditCommand, Global};
use crate::client::Client;
use crate::output;

pub async fn run(global: &Global, command: &AuditCommand) -> anyhow::Result<()> {
    let client = Client::from_global(global)?;
    match command {
        AuditCommand::List {
            principal,
            action,
            resource,
            outcome,
            request_id,
            since,
            until,
            limit,
            cursor,
        } => {
            let mut query = vec![("limit", limit.to_string())];
            for (name, value) in [
                ("principal", principal),
                ("action", action),
                ("resource", resource),
                ("outcome", outcome),
                ("requestId", request_id),
                ("since", since),
                ("until", until),
                ("cursor", cursor),
            ] {
                if let Some(value) = value {
                    query.push((name, value.clone()));
                }
            }
            let page = client
                .send_with(Method::GET, "/api/v1/audit", &query, None)
                .await?;
            output::print(global.output, &page, |page| {
                let items = page
                    .get("items")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let mut text = output::table(
                    &items,
                    &[
                        ("SEQ", "seq"),
                        ("TIME", "time"),
                        ("PRINCIPAL", "principal"),
                        ("ACTION", "action"),
                        ("RESOURCE", "resource"),
                        ("OUTCOME", "outcome"),
                        ("REQUEST", "requestId"),
                    ],
                );
                if let Some(next) = page.get("nextCursor").and_then(Value::as_str) {
                    text.push_str(&format!("\nMore: pave audit list --cursor {next}"));
                }
                text
            })
        }
        AuditCommand::Verify => {
            let report = client
                .send(Method::GET, "/api/v1/audit/verify", None)
                .await?;
            let intact = report
                .get("intact")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            output::print(global.output, &report, |report| {
                if intact {
                    format!(
                        "The audit log is intact: {} events checked.",
                        output::cell(report.get("checked"))
                    )
                } else {
                    String::new()
                }
            })?;
            if !intact {
                let message = report
                    .pointer("/problem/message")
                    .and_then(Value::as_str)
                    .unwrap_or("the chain is broken");
                bail!("the audit log was tampered with: {message}");
            }
            Ok(())
        }
    }
}
