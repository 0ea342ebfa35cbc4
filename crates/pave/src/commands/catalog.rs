//! `pave catalog ...`: offline validation for CI pipelines, and the catalog
//! API for people.

use std::path::PathBuf;

use anyhow::{Context, bail};
use pave_catalog::reader::Reader;
use pave_catalog::{LocationSpec, ingest};
use pave_catalog_model::Rules;
use reqwest::Method;
use serde_json::{Value, json};

use crate::cli::{CatalogCommand, Global};
use crate::client::Client;
use crate::output;

const COLUMNS: &[(&str, &str)] = &[
    ("REF", "ref"),
    ("TITLE", "title"),
    ("TYPE", "type"),
    ("OWNER", "owner"),
    ("LIFECYCLE", "lifecycle"),
];

/// A row for tables: the entity's ref and the fields people scan for.
fn summary(entity: &Value) -> Value {
    let kind = entity
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_lowercase();
    let namespace = entity
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("default");
    let name = entity
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("?");
    json!({
        "ref": format!("{kind}:{namespace}/{name}"),
        "title": entity.pointer("/metadata/title"),
        "type": entity.pointer("/spec/type"),
        "owner": entity.pointer("/spec/owner"),
        "lifecycle": entity.pointer("/spec/lifecycle"),
    })
}

fn path_segment(text: &str) -> String {
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

/// `[kind:][namespace/]name` to the three path segments of by-name routes.
fn ref_path(reference: &str) -> anyhow::Result<String> {
    let parsed = pave_catalog_model::parse_ref(reference, Some("component"), "default")
        .with_context(|| {
            format!("`{reference}` is not an entity reference such as component:default/artist-web")
        })?;
    Ok(format!(
        "{}/{}/{}",
        path_segment(&parsed.kind),
        path_segment(&parsed.namespace),
        path_segment(&parsed.name)
    ))
}

pub async fn run(global: &Global, command: &CatalogCommand) -> anyhow::Result<()> {
    match command {
        CatalogCommand::Validate { paths } => validate(global, paths).await,
        CatalogCommand::List { filter, limit } => {
            let client = Client::from_global(global)?;
            let mut query: Vec<(&str, String)> =
                filter.iter().map(|f| ("filter", f.clone())).collect();
            query.push(("limit", limit.to_string()));
            let page = client
                .send_with(Method::GET, "/api/catalog/entities/by-query", &query, None)
                .await?;
            output::print(global.output, &page, |page| {
                let items: Vec<Value> = page
                    .get("items")
                    .and_then(Value::as_array)
                    .map(|items| items.iter().map(summary).collect())
                    .unwrap_or_default();
                let mut text = output::table(&items, COLUMNS);
                text.push_str(&format!(
                    "\n{} of {}",
                    items.len(),
                    output::cell(page.get("totalItems"))
                ));
                text
            })
        }
        CatalogCommand::Search { term, limit } => {
            let client = Client::from_global(global)?;
            let query = [("term", term.clone()), ("limit", limit.to_string())];
            let results = client
                .send_with(Method::GET, "/api/v1/search", &query, None)
                .await?;
            output::print(global.output, &results, |results| {
                let items: Vec<Value> = results
                    .get("items")
                    .and_then(Value::as_array)
                    .map(|items| {
                        items
                            .iter()
                            .map(|hit| {
                                let mut row = summary(&hit["entity"]);
                                row["score"] = hit["score"].clone();
                                row
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let mut columns = vec![("SCORE", "score")];
                columns.extend_from_slice(COLUMNS);
                let mut text = output::table(&items, &columns);
                text.push_str(&format!(
                    "\n{} of {} hits",
                    items.len(),
                    output::cell(results.get("totalItems"))
                ));
                text
            })
        }
        CatalogCommand::Get { reference } => {
            let client = Client::from_global(global)?;
            let entity = client
                .send(
                    Method::GET,
                    &format!("/api/catalog/entities/by-name/{}", ref_path(reference)?),
                    None,
                )
                .await?;
            output::print(global.output, &entity, |entity| {
                let mut text = output::fields(&summary(entity), COLUMNS);
                if let Some(relations) = entity.get("relations").and_then(Value::as_array) {
                    for relation in relations {
                        text.push_str(&format!(
                            "\n{:10} {}",
                            output::cell(relation.get("type")),
                            output::cell(relation.get("targetRef"))
                        ));
                    }
                }
                text
            })
        }
        CatalogCommand::Register {
            target,
            r#type,
            dry_run,
        } => {
            let client = Client::from_global(global)?;
            let target = if r#type == "file" {
                std::path::absolute(target)
                    .with_context(|| format!("cannot resolve {target}"))?
                    .display()
                    .to_string()
            } else {
                target.clone()
            };
            let query = [("dryRun", dry_run.to_string())];
            let body = json!({"type": r#type, "target": target});
            let registered = client
                .send_with(Method::POST, "/api/catalog/locations", &query, Some(&body))
                .await?;
            output::print(global.output, &registered, |registered| {
                let entities: Vec<Value> = registered
                    .get("entities")
                    .and_then(Value::as_array)
                    .map(|items| items.iter().map(summary).collect())
                    .unwrap_or_default();
                format!(
                    "{} location {} ({} entities)\n{}",
                    if *dry_run {
                        "Would register"
                    } else {
                        "Registered"
                    },
                    output::cell(registered.pointer("/location/id")),
                    entities.len(),
                    output::table(&entities, COLUMNS)
                )
            })
        }
        CatalogCommand::Locations => {
            let client = Client::from_global(global)?;
            let locations = client
                .send(Method::GET, "/api/catalog/locations", None)
                .await?;
            output::print(global.output, &locations, |locations| {
                let rows: Vec<Value> = locations
                    .as_array()
                    .map(|items| {
                        items
                            .iter()
                            .map(|item| {
                                json!({
                                    "id": item.pointer("/data/id"),
                                    "type": item.pointer("/data/type"),
                                    "target": item.pointer("/data/target"),
                                    "origin": item.get("origin"),
                                    "errors": item.pointer("/status/errors").and_then(Value::as_array).map(Vec::len),
                                })
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                output::table(
                    &rows,
                    &[
                        ("ID", "id"),
                        ("TYPE", "type"),
                        ("TARGET", "target"),
                        ("ORIGIN", "origin"),
                        ("ERRORS", "errors"),
                    ],
                )
            })
        }
        CatalogCommand::Unregister { id } => {
            let client = Client::from_global(global)?;
            client
                .send(
                    Method::DELETE,
                    &format!("/api/catalog/locations/{}", path_segment(id)),
                    None,
                )
                .await?;
            println!("Unregistered location {id} and removed its entities");
            Ok(())
        }
        CatalogCommand::Refresh { reference } => {
            let client = Client::from_global(global)?;
            let parsed = pave_catalog_model::parse_ref(reference, Some("component"), "default")
                .with_context(|| format!("`{reference}` is not an entity reference"))?;
            let applied = client
                .send(
                    Method::POST,
                    "/api/catalog/refresh",
                    Some(&json!({"entityRef": parsed.to_string()})),
                )
                .await?;
            output::print(global.output, &applied, |applied| {
                format!(
                    "Refreshed {parsed}: {} added, {} updated, {} unchanged, {} removed",
                    output::cell(applied.get("added")),
                    output::cell(applied.get("updated")),
                    output::cell(applied.get("unchanged")),
                    output::cell(applied.get("deleted"))
                )
            })
        }
    }
}

/// Validates descriptor files offline: every problem as `file:line:col: message`.
async fn validate(global: &Global, paths: &[PathBuf]) -> anyhow::Result<()> {
    let cache = tempfile_dir()?;
    let reader = Reader::new(cache.clone());
    let rules = Rules::default();
    let mut problems = Vec::new();
    let mut count = 0usize;
    for path in paths {
        let absolute = std::path::absolute(path)
            .with_context(|| format!("cannot resolve {}", path.display()))?;
        let spec = LocationSpec {
            r#type: "file".into(),
            target: absolute.display().to_string(),
        };
        let outcome = ingest::process(&reader, &spec, &rules).await;
        count += outcome.entities.len();
        problems.extend(outcome.problems);
    }
    let _ = std::fs::remove_dir_all(&cache);
    let report = json!({"entities": count, "problems": problems});
    if !problems.is_empty() {
        for problem in &problems {
            eprintln!("{problem}");
        }
        bail!(
            "{} problem(s) in {} file(s); {count} valid entities",
            problems.len(),
            paths.len()
        );
    }
    output::print(global.output, &report, |_| {
        format!("{count} entities, all valid")
    })
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let directory = std::env::temp_dir().join(format!("pave-validate-{}", std::process::id()));
    std::fs::create_dir_all(&directory)?;
    Ok(directory)
}
