//! Reading the catalog with Backstage's filter semantics: repeated `filter`
//! parameters OR, comma-separated conditions inside one AND, matching is
//! case-insensitive, `key` alone tests existence, array items match one by
//! one, and `relations.<type>=<ref>` tests relations.

use std::collections::BTreeMap;

use pave_catalog_model::relation;
use pave_store::{Backend, Store, StoreError};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::CatalogError;

/// One condition: a key that must exist, or equal a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub key: String,
    pub value: Option<String>,
}

/// Conditions in disjunctive normal form: any group may match; every
/// condition in a group must.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub any_of: Vec<Vec<Condition>>,
}

impl Filter {
    /// Reads repeated `filter` parameters.
    pub fn parse(parameters: &[String]) -> Result<Filter, CatalogError> {
        let mut any_of = Vec::new();
        for parameter in parameters {
            let mut group = Vec::new();
            for part in parameter.split(',') {
                let part = part.trim();
                if part.is_empty() {
                    continue;
                }
                let (key, value) = match part.split_once('=') {
                    Some((key, value)) => (key.trim(), Some(value.trim().to_lowercase())),
                    None => (part, None),
                };
                if key.is_empty() {
                    return Err(CatalogError::Input(format!(
                        "filter `{parameter}`: `{part}` has no key; write key=value or key"
                    )));
                }
                group.push(Condition {
                    key: key.to_lowercase(),
                    value,
                });
            }
            if !group.is_empty() {
                any_of.push(group);
            }
        }
        Ok(Filter { any_of })
    }
}

pub(crate) fn canonical_relation(lowercase: &str) -> Option<&'static str> {
    [
        relation::OWNED_BY,
        relation::OWNER_OF,
        relation::PART_OF,
        relation::HAS_PART,
        relation::PROVIDES_API,
        relation::API_PROVIDED_BY,
        relation::CONSUMES_API,
        relation::API_CONSUMED_BY,
        relation::DEPENDS_ON,
        relation::DEPENDENCY_OF,
        relation::MEMBER_OF,
        relation::HAS_MEMBER,
        relation::CHILD_OF,
        relation::PARENT_OF,
    ]
    .into_iter()
    .find(|name| name.eq_ignore_ascii_case(lowercase))
}

/// The fields full-text search looks at when the caller names none.
pub const DEFAULT_FULL_TEXT_FIELDS: &[&str] = &[
    "metadata.name",
    "metadata.title",
    "metadata.description",
    "metadata.tags",
    "spec.owner",
    "spec.type",
    "kind",
];

/// An ordering: a field and its direction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Order {
    pub field: String,
    pub descending: bool,
}

impl Order {
    /// Reads `metadata.name,asc` / `metadata.name,desc` / `metadata.name`.
    pub fn parse(text: &str) -> Result<Order, CatalogError> {
        let (field, direction) = match text.split_once(',') {
            Some((field, direction)) => (field.trim(), direction.trim()),
            None => (text.trim(), "asc"),
        };
        let descending = match direction.to_ascii_lowercase().as_str() {
            "asc" => false,
            "desc" => true,
            other => {
                return Err(CatalogError::Input(format!(
                    "orderField `{text}`: the direction `{other}` is neither asc nor desc"
                )));
            }
        };
        if field.is_empty() {
            return Err(CatalogError::Input(format!(
                "orderField `{text}` names no field"
            )));
        }
        Ok(Order {
            field: field.to_lowercase(),
            descending,
        })
    }
}

/// ORDER BY for orders; binds field names after `values`.
pub(crate) fn order_by(orders: &[Order], values: &mut Vec<String>) -> String {
    let mut parts = Vec::new();
    for order in orders {
        let direction = if order.descending { "DESC" } else { "ASC" };
        let expression = match order.field.as_str() {
            "metadata.name" => "e.name".to_string(),
            "metadata.namespace" => "e.namespace".to_string(),
            "kind" => "e.kind".to_string(),
            field => {
                values.push(field.to_string());
                format!(
                    "(SELECT MIN(s.value) FROM catalog_search s WHERE s.entity_id = e.id AND s.key = ${})",
                    values.len()
                )
            }
        };
        parts.push(format!("{expression} {direction}"));
    }
    parts.push("e.entity_ref ASC".to_string());
    parts.join(", ")
}

/// Loads the relations whose source is each of `references`, as Backstage
/// shows them: `{type, targetRef, target: {kind, namespace, name}}`, sorted
/// by type and target.
///
/// The rows come back as one JSON array per chunk: the SQLite driver hands
/// over rows one at a time through a channel, which for a page of 100
/// entities (1,600 relations) cost ten times the query itself.
pub(crate) async fn relations_of(
    store: &Store,
    references: &[String],
) -> Result<BTreeMap<String, Vec<Value>>, StoreError> {
    let mut triples: Vec<(String, String, String)> = Vec::new();
    for chunk in references.chunks(500) {
        let placeholders: Vec<String> =
            (1..=chunk.len()).map(|index| format!("${index}")).collect();
        let select = format!(
            "SELECT DISTINCT source_ref, type, target_ref FROM catalog_relations WHERE source_ref IN ({})",
            placeholders.join(", ")
        );
        let sql = match store.backend() {
            Backend::Sqlite => format!(
                "SELECT json_group_array(json_array(source_ref, type, target_ref)) FROM ({select}) AS r"
            ),
            Backend::Postgres => format!(
                "SELECT CAST(json_agg(json_build_array(source_ref, type, target_ref)) AS TEXT) FROM ({select}) AS r"
            ),
        };
        let mut query = pave_store::query_scalar::<_, Option<String>>(sqlx::AssertSqlSafe(sql));
        for reference in chunk {
            query = query.bind(reference);
        }
        let text = query.fetch_one(store.pool()).await?.unwrap_or_default();
        if !text.is_empty() {
            let decoded: Vec<(String, String, String)> = serde_json::from_str(&text)
                .map_err(|error| StoreError::from(sqlx::Error::Decode(Box::new(error))))?;
            triples.extend(decoded);
        }
    }
    triples.sort();
    let mut result: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (source, kind, target) in triples {
        let (target_kind, rest) = target.split_once(':').unwrap_or(("", &target));
        let (namespace, name) = rest.split_once('/').unwrap_or(("default", rest));
        let relation = json!({
            "type": kind,
            "targetRef": target,
            "target": {"kind": target_kind, "namespace": namespace, "name": name},
        });
        result.entry(source).or_default().push(relation);
    }
    Ok(result)
}

/// Keeps only the named dotted fields of an entity (Backstage's `fields`).
pub fn select_fields(entity: &Value, fields: &[String]) -> Value {
    if fields.is_empty() {
        return entity.clone();
    }
    let mut result = Value::Object(Map::new());
    for field in fields {
        let parts: Vec<&str> = field.split('.').filter(|part| !part.is_empty()).collect();
        let mut source = Some(entity);
        for part in &parts {
            source = source.and_then(|value| value.get(*part));
        }
        let Some(found) = source else { continue };
        let mut target = &mut result;
        for (index, part) in parts.iter().enumerate() {
            let Some(object) = target.as_object_mut() else {
                break;
            };
            if index + 1 == parts.len() {
                object.insert((*part).to_string(), found.clone());
                break;
            }
            target = object
                .entry((*part).to_string())
                .or_insert_with(|| Value::Object(Map::new()));
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_or_between_parameters_and_and_within() {
        let filter = Filter::parse(&[
            "kind=Component,spec.type=service".into(),
            "kind=user".into(),
        ])
        .unwrap();
        assert_eq!(filter.any_of.len(), 2);
        assert_eq!(
            filter.any_of[0][0],
            Condition {
                key: "kind".into(),
                value: Some("component".into())
            }
        );
        assert_eq!(filter.any_of[0][1].key, "spec.type");
        let existence = Filter::parse(&["spec.system".into()]).unwrap();
        assert_eq!(existence.any_of[0][0].value, None);
        assert!(Filter::parse(&["=x".into()]).is_err());
    }

    #[test]
    fn orders_parse() {
        assert_eq!(
            Order::parse("metadata.name,desc").unwrap(),
            Order {
                field: "metadata.name".into(),
                descending: true
            }
        );
        assert!(Order::parse("metadata.name,sideways").is_err());
    }

    #[test]
    fn fields_trim_entities() {
        let entity = json!({"kind": "Component", "metadata": {"name": "a", "tags": ["x"]}, "spec": {"owner": "o"}});
        let trimmed = select_fields(
            &entity,
            &["kind".into(), "metadata.name".into(), "spec.missing".into()],
        );
        assert_eq!(
            trimmed,
            json!({"kind": "Component", "metadata": {"name": "a"}})
        );
    }
}
