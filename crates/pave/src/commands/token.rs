//! `pave token ...`

use reqwest::Method;
use serde_json::{Value, json};

use crate::cli::{Global, TokenCommand};
use crate::client::Client;
use crate::output;

const COLUMNS: &[(&str, &str)] = &[
    ("ID", "id"),
    ("NAME", "name"),
    ("PRINCIPAL", "principal"),
    ("GROUPS", "groups"),
    ("STATUS", "status"),
    ("EXPIRES", "expiresAt"),
    ("LAST USED", "lastUsedAt"),
];

pub async fn run(global: &Global, command: &TokenCommand) -> anyhow::Result<()> {
    let client = Client::from_global(global)?;
    match command {
        TokenCommand::Create {
            name,
            principal,
            groups,
            expires_in,
            expires_at,
        } => {
            let mut body = json!({ "name": name });
            if let Some(principal) = principal {
                body["principal"] = json!(principal);
            }
            if !groups.is_empty() {
                body["groups"] = json!(groups);
            }
            if let Some(duration) = expires_in {
                body["expiresIn"] = json!(duration);
            }
            if let Some(at) = expires_at {
                body["expiresAt"] = json!(at);
            }
            let issued = client
                .send(Method::POST, "/api/v1/tokens", Some(&body))
                .await?;
            output::print(global.output, &issued, |issued| {
                format!(
                    "{}\n\nThe token is shown once; Pave keeps only its hash:\n{}",
                    output::fields(issued, COLUMNS),
                    output::cell(issued.get("token"))
                )
            })
        }
        TokenCommand::List { all } => {
            let query = [("all", all.to_string())];
            let listed = client
                .send_with(Method::GET, "/api/v1/tokens", &query, None)
                .await?;
            output::print(global.output, &listed, |listed| {
                let items = listed
                    .get("items")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                output::table(&items, COLUMNS)
            })
        }
        TokenCommand::Show { id } => {
            let token = client
                .send(
                    Method::GET,
                    &format!("/api/v1/tokens/{}", path_segment(id)),
                    None,
                )
                .await?;
            output::print(global.output, &token, |token| {
                output::fields(token, COLUMNS)
            })
        }
        TokenCommand::Revoke { id } => {
            let token = client
                .send(
                    Method::DELETE,
                    &format!("/api/v1/tokens/{}", path_segment(id)),
                    None,
                )
                .await?;
            output::print(global.output, &token, |token| {
                format!(
                    "Revoked token {} ({})",
                    output::cell(token.get("id")),
                    output::cell(token.get("name"))
                )
            })
        }
    }
}

/// Token ids are hex; anything else is percent-encoded so it cannot change the path.
fn path_segment(text: &str) -> String {
    text.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_' {
                (byte as char).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}
