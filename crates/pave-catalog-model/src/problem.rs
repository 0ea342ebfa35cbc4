//! [`EntityProblem`]: one thing wrong with an entity document, and the
//! collector validation uses so that every problem is reported, not just the
//! first.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

/// One rule an entity document breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntityProblem {
    /// Where, as a field path: `metadata.name`, `metadata.labels.foo/bar`,
    /// `spec.providesApis[1]`. Problems with the document as a whole use
    /// `(document)`.
    pub path: String,
    /// What is wrong and, when useful, what is allowed.
    pub message: String,
}

impl fmt::Display for EntityProblem {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for EntityProblem {}

/// The path used for problems with the document as a whole.
pub(crate) const DOCUMENT_PATH: &str = "(document)";

/// Collects problems in the order they are found.
#[derive(Debug, Default)]
pub(crate) struct Problems {
    found: Vec<EntityProblem>,
}

impl Problems {
    pub(crate) fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.found.push(EntityProblem {
            path: path.into(),
            message: message.into(),
        });
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    pub(crate) fn into_vec(self) -> Vec<EntityProblem> {
        self.found
    }
}

/// Names a JSON value's type for messages ("found a number"). An unresolved
/// `$text`/`$json`/`$yaml` placeholder is named as such, because it is the
/// usual reason an object sits where a string belongs.
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(_) => "a boolean".to_owned(),
        Value::Number(_) => "a number".to_owned(),
        Value::String(_) => "a string".to_owned(),
        Value::Array(_) => "an array".to_owned(),
        Value::Object(object) => match placeholder(object) {
            Some(key) => format!(
                "an unresolved `{key}` placeholder (placeholders must be substituted before validation)"
            ),
            None => "an object".to_owned(),
        },
    }
}

fn placeholder(object: &serde_json::Map<String, Value>) -> Option<&str> {
    let mut keys = object.keys();
    match (keys.next(), keys.next()) {
        (Some(key), None) if matches!(key.as_str(), "$text" | "$json" | "$yaml") => {
            Some(key.as_str())
        }
        _ => None,
    }
}

/// Joins a field path and a key: `metadata` + `name` → `metadata.name`.
pub(crate) fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Joins a field path and an array index: `spec.providesApis` + 1 →
/// `spec.providesApis[1]`.
pub(crate) fn item(path: &str, index: usize) -> String {
    format!("{path}[{index}]")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn displays_path_then_message() {
        let problem = EntityProblem {
            path: "metadata.name".to_owned(),
            message: "is required".to_owned(),
        };
        assert_eq!(problem.to_string(), "metadata.name: is required");
    }

    #[test]
    fn describes_values() {
        assert_eq!(describe(&json!(1)), "a number");
        assert_eq!(describe(&json!({"a": 1})), "an object");
        assert!(describe(&json!({"$text": "./x.yaml"})).contains("unresolved `$text`"));
    }

    #[test]
    fn builds_paths() {
        assert_eq!(child("", "kind"), "kind");
        assert_eq!(child("metadata", "name"), "metadata.name");
        assert_eq!(item("spec.providesApis", 1), "spec.providesApis[1]");
    }
}
