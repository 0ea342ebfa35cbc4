//! Typed reads of JSON fields that record a problem instead of failing: each
//! returns the value when it has the right type, and `None` (with a problem
//! pushed, unless the optional field is simply absent) otherwise.

use serde_json::{Map, Value};

use crate::problem::{Problems, child, describe, item};

/// Whether a field must be present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Presence {
    Required,
    Optional,
}

/// Looks a field up, recording a problem when a required one is absent.
pub(crate) fn field<'a>(
    object: &'a Map<String, Value>,
    path: &str,
    key: &str,
    presence: Presence,
    problems: &mut Problems,
) -> Option<&'a Value> {
    let value = object.get(key);
    if value.is_none() && presence == Presence::Required {
        problems.push(child(path, key), "is required");
    }
    value
}

/// A string field that must not be empty (JSON Schema `minLength: 1`).
pub(crate) fn text<'a>(
    object: &'a Map<String, Value>,
    path: &str,
    key: &str,
    presence: Presence,
    problems: &mut Problems,
) -> Option<&'a str> {
    let value = field(object, path, key, presence, problems)?;
    non_empty_string(value, &child(path, key), problems)
}

/// A string field that may be empty.
pub(crate) fn any_string<'a>(
    object: &'a Map<String, Value>,
    path: &str,
    key: &str,
    presence: Presence,
    problems: &mut Problems,
) -> Option<&'a str> {
    let value = field(object, path, key, presence, problems)?;
    string(value, &child(path, key), problems)
}

/// An object field.
pub(crate) fn object<'a>(
    object: &'a Map<String, Value>,
    path: &str,
    key: &str,
    presence: Presence,
    problems: &mut Problems,
) -> Option<&'a Map<String, Value>> {
    let value = field(object, path, key, presence, problems)?;
    as_object(value, &child(path, key), problems)
}

/// An array field.
pub(crate) fn array<'a>(
    object: &'a Map<String, Value>,
    path: &str,
    key: &str,
    presence: Presence,
    problems: &mut Problems,
) -> Option<&'a [Value]> {
    let value = field(object, path, key, presence, problems)?;
    match value {
        Value::Array(items) => Some(items),
        other => {
            problems.push(
                child(path, key),
                format!("must be an array, found {}", describe(other)),
            );
            None
        }
    }
}

/// An array of non-empty strings, as `(path of the item, text)` pairs; items
/// of the wrong type are reported and left out.
pub(crate) fn text_list<'a>(
    object: &'a Map<String, Value>,
    path: &str,
    key: &str,
    presence: Presence,
    problems: &mut Problems,
) -> Option<Vec<(String, &'a str)>> {
    let items = array(object, path, key, presence, problems)?;
    let list_path = child(path, key);
    let texts = items
        .iter()
        .enumerate()
        .filter_map(|(index, value)| {
            let item_path = item(&list_path, index);
            non_empty_string(value, &item_path, problems).map(|text| (item_path, text))
        })
        .collect();
    Some(texts)
}

/// A field that may be a string or a boolean (template `if` conditions).
pub(crate) fn condition(object: &Map<String, Value>, path: &str, problems: &mut Problems) {
    match object.get("if") {
        None | Some(Value::String(_) | Value::Bool(_)) => {}
        Some(other) => problems.push(
            child(path, "if"),
            format!("must be a string or a boolean, found {}", describe(other)),
        ),
    }
}

/// The value as a string.
pub(crate) fn string<'a>(value: &'a Value, path: &str, problems: &mut Problems) -> Option<&'a str> {
    match value {
        Value::String(text) => Some(text),
        other => {
            problems.push(path, format!("must be a string, found {}", describe(other)));
            None
        }
    }
}

/// The value as a non-empty string.
pub(crate) fn non_empty_string<'a>(
    value: &'a Value,
    path: &str,
    problems: &mut Problems,
) -> Option<&'a str> {
    let text = string(value, path, problems)?;
    if text.is_empty() {
        problems.push(path, "must not be empty");
        return None;
    }
    Some(text)
}

/// The value as an object.
pub(crate) fn as_object<'a>(
    value: &'a Value,
    path: &str,
    problems: &mut Problems,
) -> Option<&'a Map<String, Value>> {
    match value {
        Value::Object(object) => Some(object),
        other => {
            problems.push(
                path,
                format!("must be an object, found {}", describe(other)),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(
        document: &Value,
        reader: impl FnOnce(&Map<String, Value>, &mut Problems),
    ) -> Vec<String> {
        let mut problems = Problems::default();
        reader(document.as_object().unwrap(), &mut problems);
        problems
            .into_vec()
            .into_iter()
            .map(|problem| problem.to_string())
            .collect()
    }

    #[test]
    fn text_reports_absence_type_and_emptiness() {
        let document = json!({"a": "x", "b": 1, "c": "", "d": null});
        assert!(
            read(&document, |object, problems| {
                assert_eq!(
                    text(object, "spec", "a", Presence::Required, problems),
                    Some("x")
                );
                assert_eq!(
                    text(object, "spec", "z", Presence::Optional, problems),
                    None
                );
            })
            .is_empty()
        );
        let found = read(&document, |object, problems| {
            text(object, "spec", "b", Presence::Required, problems);
            text(object, "spec", "c", Presence::Required, problems);
            text(object, "spec", "d", Presence::Optional, problems);
            text(object, "spec", "z", Presence::Required, problems);
        });
        assert_eq!(
            found,
            [
                "spec.b: must be a string, found a number",
                "spec.c: must not be empty",
                "spec.d: must be a string, found null",
                "spec.z: is required",
            ]
        );
    }

    #[test]
    fn text_list_reports_bad_items_by_index() {
        let document = json!({"list": ["a", 2, ""], "scalar": "a"});
        let found = read(&document, |object, problems| {
            let texts = text_list(object, "spec", "list", Presence::Required, problems).unwrap();
            assert_eq!(texts, [("spec.list[0]".to_owned(), "a")]);
            assert!(text_list(object, "spec", "scalar", Presence::Required, problems).is_none());
        });
        assert_eq!(
            found,
            [
                "spec.list[1]: must be a string, found a number",
                "spec.list[2]: must not be empty",
                "spec.scalar: must be an array, found a string",
            ]
        );
    }

    #[test]
    fn condition_accepts_strings_and_booleans() {
        let found = read(&json!({"if": 1}), |object, problems| {
            condition(object, "spec.steps[0]", problems)
        });
        assert_eq!(
            found,
            ["spec.steps[0].if: must be a string or a boolean, found a number"]
        );
        assert!(
            read(&json!({"if": true}), |object, problems| condition(
                object, "x", problems
            ))
            .is_empty()
        );
    }
}
