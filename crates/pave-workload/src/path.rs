//! Rendering of field paths such as `containers.web.variables.PORT`.

use serde_json::Value;

/// Appends one map key to a dotted field path.
///
/// Keys made only of letters, digits, `_` and `-` are joined with a dot; any
/// other key (a file path such as `/etc/app.conf`, a key with a dot) is written
/// as `["..."]` so that the path stays unambiguous.
pub(crate) fn push_key(path: &mut String, key: &str) {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
    } else {
        path.push('[');
        // A JSON string literal is a readable, escaped quoting of any key.
        path.push_str(&Value::String(key.to_owned()).to_string());
        path.push(']');
    }
}

/// Appends an array index to a field path.
pub(crate) fn push_index(path: &mut String, index: usize) {
    path.push('[');
    path.push_str(&index.to_string());
    path.push(']');
}

/// Builds a path from a list of keys.
pub(crate) fn join(keys: &[&str]) -> String {
    let mut path = String::new();
    for key in keys {
        push_key(&mut path, key);
    }
    path
}

/// Converts a JSON pointer (`/containers/web/ports/0`) into a field path,
/// walking `document` to tell array indexes from map keys.
pub(crate) fn from_pointer(pointer: &str, document: &Value) -> String {
    let mut path = String::new();
    let mut current = Some(document);
    for raw in pointer.split('/').skip(1) {
        let segment = raw.replace("~1", "/").replace("~0", "~");
        match current {
            Some(Value::Array(items)) => match segment.parse::<usize>() {
                Ok(index) => {
                    push_index(&mut path, index);
                    current = items.get(index);
                }
                Err(_) => {
                    push_key(&mut path, &segment);
                    current = None;
                }
            },
            Some(Value::Object(map)) => {
                push_key(&mut path, &segment);
                current = map.get(&segment);
            }
            _ => {
                push_key(&mut path, &segment);
                current = None;
            }
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plain_keys_are_dotted() {
        assert_eq!(
            join(&["containers", "web", "variables", "PORT"]),
            "containers.web.variables.PORT"
        );
    }

    #[test]
    fn other_keys_are_quoted() {
        assert_eq!(
            join(&["containers", "web", "files", "/etc/a.conf", "content"]),
            r#"containers.web.files["/etc/a.conf"].content"#
        );
        assert_eq!(join(&["a", ""]), r#"a[""]"#);
    }

    #[test]
    fn pointers_use_the_document_for_indexes() {
        let document = json!({"containers": {"a": {"args": ["x"]}, "0": {}}});
        assert_eq!(
            from_pointer("/containers/a/args/0", &document),
            "containers.a.args[0]"
        );
        assert_eq!(from_pointer("/containers/0", &document), "containers.0");
        assert_eq!(from_pointer("", &document), "");
        assert_eq!(from_pointer("/a~1b/c~0d", &json!({})), r#"["a/b"]["c~d"]"#);
    }
}
