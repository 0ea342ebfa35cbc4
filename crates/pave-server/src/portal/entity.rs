//! The entity page: overview, relations, the dependency graph, processing
//! errors, an API's definition and the raw YAML; a component's deployments
//! (see `environments/`). Related entities the viewer may not read are left
//! out everywhere, the graph included.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use pave_catalog_model::EntityRef;
use serde_json::Value;

use super::apidoc::{highlight, language_for, summarize_openapi};
use super::environments::{Flash, section};
use super::graph::{self, Edge, Graph, Node};
use super::session::Viewer;
use super::views::{Chrome, Definition, EntityPage, Link, Related, RelationGroup, Row, kind_class};
use super::{PageError, render};
use crate::entity_access::EntityAccess;
use crate::state::AppState;

/// The most entities the graph draws around the one shown.
const GRAPH_NODES: usize = 50;

/// Relation types drawn in the graph: one direction of each pair, so an
/// edge is drawn once.
const FORWARD: &[&str] = &[
    "ownedBy",
    "partOf",
    "providesApi",
    "consumesApi",
    "dependsOn",
    "memberOf",
    "childOf",
];

/// How each relation type reads as a heading.
fn heading(kind: &str) -> String {
    match kind {
        "ownedBy" => "Owned by",
        "ownerOf" => "Owns",
        "partOf" => "Part of",
        "hasPart" => "Has parts",
        "providesApi" => "Provides APIs",
        "apiProvidedBy" => "Provided by",
        "consumesApi" => "Consumes APIs",
        "apiConsumedBy" => "Consumed by",
        "dependsOn" => "Depends on",
        "dependencyOf" => "Dependency of",
        "memberOf" => "Member of",
        "hasMember" => "Members",
        "childOf" => "Parent group",
        "parentOf" => "Child groups",
        other => other,
    }
    .to_string()
}

fn text(entity: &Value, pointer: &str) -> String {
    entity
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// A link target the page may use: web and mail addresses, or paths here.
pub(super) fn safe_href(url: &str) -> Option<String> {
    let lower = url.trim().to_ascii_lowercase();
    let allowed = lower.starts_with("https://")
        || lower.starts_with("http://")
        || lower.starts_with("mailto:")
        || (lower.starts_with('/') && !lower.starts_with("//"));
    allowed.then(|| url.trim().to_string())
}

fn related(reference: &str, entity: &Value) -> Related {
    let row = Row::of(entity);
    Related {
        href: row.href.clone(),
        label: if row.title.is_empty() {
            reference
                .split_once(':')
                .map_or(reference, |(_, rest)| rest)
                .to_string()
        } else {
            row.title.clone()
        },
        kind_class: kind_class(&row.kind),
        kind: row.kind,
    }
}

fn definition(entity: &Value) -> Option<Definition> {
    if !text(entity, "/kind").eq_ignore_ascii_case("api") {
        return None;
    }
    let api_type = text(entity, "/spec/type");
    let source = entity.pointer("/spec/definition").and_then(Value::as_str)?;
    let language = language_for(&api_type, source);
    if api_type.eq_ignore_ascii_case("openapi") {
        return Some(match summarize_openapi(source) {
            Ok(summary) => Definition {
                api_type,
                summary: Some(summary),
                highlighted: None,
                problem: None,
            },
            Err(error) => Definition {
                api_type,
                summary: None,
                highlighted: Some(highlight(source, language)),
                problem: Some(format!("The definition is shown as text: {error}.")),
            },
        });
    }
    Some(Definition {
        api_type,
        summary: None,
        highlighted: Some(highlight(source, language)),
        problem: None,
    })
}

pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((kind, namespace, name)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let reference = EntityRef::new(&kind, &namespace, &name);
    show(&state, &viewer, &reference, Flash::from_query(&raw)).await
}

/// An entity's page; `flash` is what a component's Deployments section
/// says at its top (the outcome of a deploy, or why it was refused).
pub(super) async fn show(
    state: &AppState,
    viewer: &Viewer,
    reference: &EntityRef,
    flash: Flash,
) -> Result<Response, PageError> {
    let missing = || PageError::not_found(format!("There is no entity {reference} you may see."));
    let access = EntityAccess::new(state, &viewer.principal);
    let entity = match state.catalog.entity_by_ref(reference).await {
        Ok(entity) => entity,
        Err(pave_catalog::CatalogError::NotFound(_)) => return Err(missing()),
        Err(error) => return Err(error.into()),
    };
    // A hidden entity answers exactly like one that does not exist.
    if !access.may_read(&entity) {
        return Err(missing());
    }

    let relations: Vec<(String, String)> = entity["relations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|relation| {
            Some((
                relation["type"].as_str()?.to_string(),
                relation["targetRef"].as_str()?.to_string(),
            ))
        })
        .collect();
    let mut targets: Vec<String> = relations.iter().map(|(_, target)| target.clone()).collect();
    targets.sort();
    targets.dedup();
    let found = state
        .catalog
        .entities_by_refs(
            &targets,
            &[
                "kind".into(),
                "metadata".into(),
                "spec".into(),
                "relations".into(),
            ],
        )
        .await?;
    let readable: HashMap<String, Value> = targets
        .iter()
        .cloned()
        .zip(found)
        .filter_map(|(reference, entity)| entity.map(|entity| (reference, entity)))
        .filter(|(_, entity)| access.may_read(entity))
        .collect();

    let mut grouped: BTreeMap<String, Vec<Related>> = BTreeMap::new();
    for (kind, target) in &relations {
        if let Some(entity) = readable.get(target) {
            grouped
                .entry(kind.clone())
                .or_default()
                .push(related(target, entity));
        }
    }
    let entity_kind = text(&entity, "/kind").to_lowercase();
    let highlighted: &[&str] = match entity_kind.as_str() {
        "group" => &["hasMember", "parentOf", "childOf", "ownerOf"],
        "user" => &["memberOf", "ownerOf"],
        _ => &[],
    };
    let people = highlighted
        .iter()
        .map(|kind| RelationGroup {
            heading: heading(kind),
            items: grouped.remove(*kind).unwrap_or_default(),
        })
        .collect();
    let relations_view = grouped
        .into_iter()
        .map(|(kind, items)| RelationGroup {
            heading: heading(&kind),
            items,
        })
        .collect();

    let own_reference = reference.to_string();
    let graph = draw(&own_reference, &entity, &relations, &readable);
    let mut body = entity.clone();
    if let Some(object) = body.as_object_mut() {
        object.remove("relations");
    }
    let yaml = serde_saphyr::to_string(&body)
        .unwrap_or_else(|_| serde_json::to_string_pretty(&body).unwrap_or_default());
    let pairs = |pointer: &str| -> Vec<(String, String)> {
        entity
            .pointer(pointer)
            .and_then(Value::as_object)
            .map(|map| {
                map.iter()
                    .map(|(key, value)| {
                        let value = value
                            .as_str()
                            .map_or_else(|| value.to_string(), str::to_string);
                        (key.clone(), value)
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let annotations = pairs("/metadata/annotations");
    let source = [
        "backstage.io/source-location",
        "backstage.io/managed-by-location",
    ]
    .iter()
    .find_map(|key| {
        annotations
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.clone())
    })
    .unwrap_or_default();
    let links = entity
        .pointer("/metadata/links")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|link| {
            let url = link["url"].as_str()?;
            let href = safe_href(url)?;
            let title = link["title"].as_str().unwrap_or(url).to_string();
            Some(Link { href, title })
        })
        .collect();
    let errors = entity
        .pointer("/status/items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|item| item["message"].as_str().map(str::to_string))
        .collect();
    let link_of = |kind: &str| {
        relations
            .iter()
            .find(|(relation, target)| relation == kind && readable.contains_key(target))
            .and_then(|(_, target)| readable.get(target))
            .map(|entity| Row::of(entity).href)
    };
    let owner_href = link_of("ownedBy");
    let system_href = link_of("partOf").filter(|href| href.starts_with("/catalog/system/"));
    let domain_href = link_of("partOf").filter(|href| href.starts_with("/catalog/domain/"));
    let deployments = section(state, viewer, &entity, reference, flash).await?;
    let row = Row::of(&entity);
    let page = EntityPage {
        deployments,
        owner_href,
        system_href,
        domain_href,
        chrome: Chrome::for_viewer(row.label(), viewer, "catalog"),
        reference: own_reference,
        namespace: reference.namespace.clone(),
        domain: text(&entity, "/spec/domain"),
        links,
        source,
        labels: pairs("/metadata/labels"),
        annotations,
        people,
        relations: relations_view,
        graph,
        errors,
        yaml,
        definition: definition(&entity),
        row,
    };
    render(&page)
}

/// The entity, its readable neighbours (at most [`GRAPH_NODES`]) and the
/// relations among them, drawn as SVG.
fn draw(
    own: &str,
    entity: &Value,
    relations: &[(String, String)],
    readable: &HashMap<String, Value>,
) -> String {
    let node = |reference: &str, entity: &Value, focus: bool| {
        let row = Row::of(entity);
        Node {
            id: reference.to_string(),
            label: row.label().to_string(),
            kind: row.kind.to_lowercase(),
            href: Some(row.href),
            focus,
        }
    };
    let mut nodes = vec![node(own, entity, true)];
    let mut neighbours: Vec<&String> = relations
        .iter()
        .map(|(_, target)| target)
        .filter(|target| readable.contains_key(*target) && target.as_str() != own)
        .collect();
    neighbours.sort();
    neighbours.dedup();
    neighbours.truncate(GRAPH_NODES);
    for reference in &neighbours {
        if let Some(entity) = readable.get(*reference) {
            nodes.push(node(reference, entity, false));
        }
    }
    let included: std::collections::HashSet<&str> =
        nodes.iter().map(|node| node.id.as_str()).collect();
    let mut edges = Vec::new();
    let mut add = |from: &str, relations: &Value| {
        for relation in relations.as_array().into_iter().flatten() {
            let (Some(kind), Some(target)) =
                (relation["type"].as_str(), relation["targetRef"].as_str())
            else {
                continue;
            };
            if FORWARD.contains(&kind) && included.contains(target) {
                edges.push(Edge {
                    from: from.to_string(),
                    to: target.to_string(),
                    label: kind.to_string(),
                });
            }
        }
    };
    add(own, &entity["relations"]);
    for reference in &neighbours {
        if let Some(entity) = readable.get(*reference) {
            add(reference, &entity["relations"]);
        }
    }
    graph::render(&Graph { nodes, edges }, &format!("Relations of {own}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_mail_and_local_links_are_kept() {
        assert!(safe_href("https://example.com").is_some());
        assert!(safe_href("mailto:team@example.com").is_some());
        assert!(safe_href("/catalog").is_some());
        assert!(safe_href("javascript:alert(1)").is_none());
        assert!(safe_href("//evil.example").is_none());
        assert!(safe_href("data:text/html,x").is_none());
    }

    #[test]
    fn openapi_definitions_become_operations_and_others_text() {
        let api = serde_json::json!({
            "kind": "API",
            "spec": {"type": "openapi", "definition": "openapi: 3.0.0\ninfo: {title: t, version: '1'}\npaths:\n  /pets:\n    get:\n      summary: List\n      responses: {'200': {description: OK}}\n"},
        });
        let shown = definition(&api).unwrap();
        assert_eq!(shown.summary.unwrap().operations[0].path, "/pets");
        let graphql = serde_json::json!({"kind": "API", "spec": {"type": "graphql", "definition": "type Query { a: String }"}});
        assert!(
            definition(&graphql)
                .unwrap()
                .highlighted
                .unwrap()
                .contains("tok-keyword")
        );
        let broken =
            serde_json::json!({"kind": "API", "spec": {"type": "openapi", "definition": "a: [b"}});
        assert!(definition(&broken).unwrap().problem.is_some());
        assert!(definition(&serde_json::json!({"kind": "Component"})).is_none());
    }
}
