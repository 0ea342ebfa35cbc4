//! Flattening an entity into the key/value rows that filters, facets and
//! full-text search run on, as Backstage's `search` table does: keys and
//! values lower-cased, arrays of scalars one row per item, long values
//! (definitions, descriptions over the limit) left out.

use serde_json::Value;

/// Values longer than this are not indexed (Backstage drops them too).
pub const MAX_VALUE_LENGTH: usize = 200;

/// One indexed field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub key: String,
    /// Lower-cased, for matching; None for an object or array that exists.
    pub value: Option<String>,
    /// As written, for facets.
    pub original: Option<String>,
}

/// Every indexed row of an entity body.
pub fn flatten(body: &Value) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut stack: Vec<(String, &Value)> = match body.as_object() {
        Some(object) => object
            .iter()
            .filter(|(key, _)| key.as_str() != "relations" && key.as_str() != "status")
            .map(|(key, value)| (key.to_ascii_lowercase(), value))
            .collect(),
        None => return rows,
    };
    while let Some((key, value)) = stack.pop() {
        match value {
            // Containers get no row of their own: their fields or items make
            // the key exist, and it saves a fifth of the rows.
            Value::Object(object) => {
                for (child, value) in object {
                    stack.push((format!("{key}.{}", child.to_ascii_lowercase()), value));
                }
            }
            Value::Array(items) => {
                for item in items {
                    match item {
                        Value::Object(_) | Value::Array(_) => stack.push((key.clone(), item)),
                        scalar => push_scalar(&mut rows, &key, scalar),
                    }
                }
            }
            scalar => push_scalar(&mut rows, &key, scalar),
        }
    }
    rows.sort_by(|a, b| (&a.key, &a.value).cmp(&(&b.key, &b.value)));
    rows.dedup();
    rows
}

fn push_scalar(rows: &mut Vec<Row>, key: &str, value: &Value) {
    let original = match value {
        Value::String(text) => text.clone(),
        Value::Null => return,
        other => other.to_string(),
    };
    if original.chars().count() > MAX_VALUE_LENGTH {
        rows.push(Row {
            key: key.to_string(),
            value: None,
            original: None,
        });
        return;
    }
    rows.push(Row {
        key: key.to_string(),
        value: Some(original.to_lowercase()),
        original: Some(original),
    });
}

/// The text full-text search runs on: the lower-cased values of
/// [`DEFAULT_FULL_TEXT_FIELDS`](crate::DEFAULT_FULL_TEXT_FIELDS), one per
/// line, so a search term (which holds no line break) never spans two.
/// Unlike the search rows, long descriptions are kept whole.
pub fn text(body: &Value) -> String {
    let mut lines: Vec<String> = Vec::new();
    for field in crate::DEFAULT_FULL_TEXT_FIELDS {
        let pointer = format!("/{}", field.replace('.', "/"));
        let values = match body.pointer(&pointer) {
            Some(Value::Array(items)) => items.iter().collect(),
            Some(value) => vec![value],
            None => Vec::new(),
        };
        for value in values {
            match value {
                Value::String(text) => lines.push(text.to_lowercase()),
                Value::Number(_) | Value::Bool(_) => lines.push(value.to_string()),
                _ => {}
            }
        }
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn entities_flatten_like_backstage() {
        let rows = flatten(&json!({
            "kind": "Component",
            "metadata": {"name": "Artist-Web", "tags": ["Java", "web"], "annotations": {"backstage.io/orphan": "true"}},
            "spec": {"owner": "team-a", "definition": "x".repeat(500)},
            "relations": [{"type": "ownedBy"}],
        }));
        let has = |key: &str, value: &str| {
            rows.iter()
                .any(|r| r.key == key && r.value.as_deref() == Some(value))
        };
        assert!(has("kind", "component"));
        assert!(has("metadata.name", "artist-web"));
        assert!(has("metadata.tags", "java") && has("metadata.tags", "web"));
        assert!(has("metadata.annotations.backstage.io/orphan", "true"));
        assert!(
            rows.iter()
                .any(|r| r.key == "spec.definition" && r.value.is_none()),
            "long values exist but are not indexed"
        );
        assert!(!rows.iter().any(|r| r.key.starts_with("relations")));
        let text = text(&json!({
            "kind": "Component",
            "metadata": {"name": "Artist-Web", "tags": ["Java", "web"], "description": "Line one\nline two"},
            "spec": {"owner": "team-a", "type": "service"},
        }));
        assert_eq!(
            text,
            "artist-web\nline one\nline two\njava\nweb\nteam-a\nservice\ncomponent"
        );
        assert!(
            rows.iter()
                .any(|r| r.key == "kind" && r.original.as_deref() == Some("Component"))
        );
    }
}
