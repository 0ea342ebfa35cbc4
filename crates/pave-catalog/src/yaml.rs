//! Descriptor files: YAML documents with where each starts, read under
//! limits so that no file can exhaust the server.

use serde_json::Value;
use serde_saphyr::{Budget, Options, Spanned};

/// The most documents one file may hold.
pub const MAX_DOCUMENTS: usize = 1000;
/// The deepest nesting a document may have.
pub const MAX_DEPTH: usize = 64;
/// The largest descriptor file read, in bytes.
pub const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;

/// One YAML document and the line and column it starts at (1-based).
#[derive(Debug, Clone)]
pub struct Document {
    pub value: Value,
    pub line: u64,
    pub column: u64,
}

/// Why a file could not be read as YAML.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", place(*line, *column))]
pub struct YamlError {
    pub line: Option<u64>,
    pub column: Option<u64>,
    pub message: String,
}

fn place(line: Option<u64>, column: Option<u64>) -> String {
    match (line, column) {
        (Some(line), Some(column)) => format!("{line}:{column}: "),
        _ => String::new(),
    }
}

fn options() -> Options {
    let mut budget = Budget::default();
    budget.max_documents = MAX_DOCUMENTS;
    budget.max_depth = MAX_DEPTH;
    let mut options = Options::default();
    options.budget = Some(budget);
    // YAML 1.2 booleans, as Backstage reads them: `name: y` is a string.
    options.strict_booleans = true;
    options.with_snippet = false;
    options
}

/// Parses every document in `text`; empty documents are skipped.
pub fn parse_documents(text: &str) -> Result<Vec<Document>, YamlError> {
    if text.len() > MAX_FILE_BYTES {
        return Err(YamlError {
            line: None,
            column: None,
            message: format!(
                "the file is {} bytes; descriptor files may be at most {MAX_FILE_BYTES}",
                text.len()
            ),
        });
    }
    let documents: Vec<Spanned<Value>> = serde_saphyr::from_multiple_with_options(text, options())
        .map_err(|error| {
            let location = error.location();
            let message = error.to_string();
            let first = message.lines().next().unwrap_or(&message);
            let first = first.strip_prefix("error: ").unwrap_or(first);
            // Drop the "line L column C: " prefix; the location fields carry it.
            let message = match first.split_once(": ") {
                Some((prefix, rest)) if prefix.starts_with("line ") => rest,
                _ => first,
            };
            YamlError {
                line: location.as_ref().map(|location| location.line()),
                column: location.as_ref().map(|location| location.column()),
                message: if message.contains("recursion limit")
                    || message.contains("budget breached: Depth")
                {
                    format!("nested too deeply: documents may nest at most {MAX_DEPTH} levels")
                } else if message.contains("budget breached: Documents") {
                    format!("too many documents: a file may hold at most {MAX_DOCUMENTS}")
                } else {
                    message.to_string()
                },
            }
        })?;
    Ok(documents
        .into_iter()
        .filter(|document| !document.value.is_null())
        .map(|document| Document {
            line: document.referenced.line(),
            column: document.referenced.column(),
            value: document.value,
        })
        .collect())
}

/// Parses a single JSON or YAML value (for `$json` and `$yaml` placeholders).
pub fn parse_value(text: &str) -> Result<Value, YamlError> {
    let mut documents = parse_documents(text)?;
    match documents.len() {
        0 => Ok(Value::Null),
        1 => Ok(documents.remove(0).value),
        count => Err(YamlError {
            line: None,
            column: None,
            message: format!("expected one document, found {count}"),
        }),
    }
}

/// The 1-based line of the first `key:` at or after `from_line`, to point
/// a problem at the line it is about (best effort).
pub fn line_of_key(text: &str, from_line: u64, key: &str) -> Option<u64> {
    let needle = format!("{key}:");
    text.lines()
        .enumerate()
        .skip(from_line.saturating_sub(1) as usize)
        .find(|(_, line)| {
            let trimmed = line.trim_start().trim_start_matches("- ");
            trimmed.starts_with(&needle) || trimmed.starts_with(&format!("\"{key}\":"))
        })
        .map(|(index, _)| index as u64 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_know_where_they_start() {
        let documents = parse_documents("a: 1\n---\n# c\nkind: X\n---\n---\nb: 2\n").unwrap();
        let starts: Vec<u64> = documents.iter().map(|d| d.line).collect();
        assert_eq!(starts, vec![1, 4, 7]);
    }

    #[test]
    fn yaml_1_2_booleans_keep_names_as_strings() {
        let documents = parse_documents("name: y\nother: on\nreal: true\n").unwrap();
        assert_eq!(documents[0].value["name"], "y");
        assert_eq!(documents[0].value["other"], "on");
        assert_eq!(documents[0].value["real"], true);
    }

    #[test]
    fn limits_give_clear_errors() {
        let many = "a: 1\n---\n".repeat(MAX_DOCUMENTS + 5);
        let error = parse_documents(&many).unwrap_err();
        assert!(error.message.contains("too many documents"), "{error}");
        let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        let error = parse_documents(&deep).unwrap_err();
        assert!(error.message.contains("nested too deeply"), "{error}");
        let error = parse_documents("a: [\nb: c").unwrap_err();
        assert_eq!((error.line, error.column), (Some(1), Some(4)));
        assert!(error.to_string().starts_with("1:4: "), "{error}");
    }

    #[test]
    fn keys_are_found_from_a_document_start() {
        let text = "kind: A\nmetadata:\n  name: x\n---\nkind: B\nmetadata:\n  name: y\n";
        assert_eq!(line_of_key(text, 5, "name"), Some(7));
        assert_eq!(line_of_key(text, 1, "missing"), None);
    }
}
