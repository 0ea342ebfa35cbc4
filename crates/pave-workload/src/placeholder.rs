//! Score placeholders: `${metadata.…}` and `${resources.<name>.<output>…}`.
//!
//! The rules follow Score's reference implementation (`score-go`,
//! `framework/substitution.go`):
//! - `$$` is a literal `$`, so `$${x}` renders as `${x}`;
//! - a `$` followed by anything else is kept as is;
//! - inside `${…}` the path is split on `.`, and `\.` is a dot inside a key;
//! - a value that is not a string is written as JSON;
//! - `${resources.<name>}` alone renders the resource's name (a Score legacy
//!   form used for volume sources).
//!
//! Unlike score-go, an unterminated `${` is an error rather than literal text.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde_json::Value;

use crate::model::{FileContent, Workload};
use crate::path;

/// Supplies the outputs of provisioned resources (`${resources.db.host}`).
pub trait ResourceOutputs {
    /// Looks up `keys` (possibly empty) in the outputs of resource `resource`.
    ///
    /// With no keys, return the resource's name as a string (Score's legacy
    /// `${resources.<name>}` form).
    fn output(&self, resource: &str, keys: &[String]) -> Result<Value, OutputError>;
}

/// Why a [`ResourceOutputs`] lookup failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutputError {
    /// No outputs are known for this resource.
    #[error(
        "no outputs are known for resource `{0}`; declare it under `resources` and make sure it is provisioned"
    )]
    UnknownResource(String),
    /// The resource has no output of this name.
    #[error("resource `{resource}` has no output `{key}`; check the outputs its type provides")]
    MissingOutput {
        /// The resource name.
        resource: String,
        /// The first key that was not found.
        key: String,
    },
    /// A key was looked up inside a value that is not a map.
    #[error("cannot look up `{key}`: the value before it is not a map")]
    NotAMap {
        /// The key that could not be looked up.
        key: String,
    },
}

/// Outputs as JSON, one object per resource name.
impl ResourceOutputs for BTreeMap<String, Value> {
    fn output(&self, resource: &str, keys: &[String]) -> Result<Value, OutputError> {
        map_output(self.get(resource), resource, keys)
    }
}

/// Outputs as JSON, one object per resource name.
impl<S: std::hash::BuildHasher> ResourceOutputs for HashMap<String, Value, S> {
    fn output(&self, resource: &str, keys: &[String]) -> Result<Value, OutputError> {
        map_output(self.get(resource), resource, keys)
    }
}

fn map_output(
    outputs: Option<&Value>,
    resource: &str,
    keys: &[String],
) -> Result<Value, OutputError> {
    let outputs = outputs.ok_or_else(|| OutputError::UnknownResource(resource.to_owned()))?;
    if keys.is_empty() {
        return Ok(Value::String(resource.to_owned()));
    }
    walk(outputs, keys).map_err(|failure| match failure {
        WalkFailure::Missing(key) => OutputError::MissingOutput {
            resource: resource.to_owned(),
            key,
        },
        WalkFailure::NotAMap(key) => OutputError::NotAMap { key },
    })
}

enum WalkFailure {
    Missing(String),
    NotAMap(String),
}

fn walk(mut value: &Value, keys: &[String]) -> Result<Value, WalkFailure> {
    for key in keys {
        let Value::Object(map) = value else {
            return Err(WalkFailure::NotAMap(key.clone()));
        };
        value = map
            .get(key)
            .ok_or_else(|| WalkFailure::Missing(key.clone()))?;
    }
    Ok(value.clone())
}

/// What placeholders resolve against: the workload's metadata and the outputs
/// of its resources.
pub struct Context<'a> {
    metadata: Value,
    resources: &'a dyn ResourceOutputs,
}

impl<'a> Context<'a> {
    /// A context from metadata given as JSON (an object) and resource outputs.
    pub fn new(metadata: Value, resources: &'a dyn ResourceOutputs) -> Self {
        Context {
            metadata,
            resources,
        }
    }

    /// A context with the metadata of `workload`.
    pub fn for_workload(workload: &Workload, resources: &'a dyn ResourceOutputs) -> Self {
        Context::new(workload.metadata_json(), resources)
    }
}

impl fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("metadata", &self.metadata)
            .finish_non_exhaustive()
    }
}

/// What is wrong with a placeholder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlaceholderErrorKind {
    /// `${` without a closing `}`.
    #[error("it has no closing `}}`; close it, or write `$$` for a literal `$`")]
    Unterminated,
    /// `${}`.
    #[error(
        "it is empty; write `${{metadata.<key>}}` or `${{resources.<name>.<output>}}`, or `$${{}}` for literal text"
    )]
    Empty,
    /// The path starts with something other than `metadata` or `resources`.
    #[error(
        "unknown section `{0}`; a placeholder starts with `metadata.` or `resources.` (write `$${{` for a literal `${{`)"
    )]
    UnknownSection(String),
    /// `${metadata}` without a key.
    #[error("it needs a metadata key, for example `${{metadata.name}}`")]
    MetadataKeyNeeded,
    /// `${resources}` without a resource name.
    #[error("it needs a resource name, for example `${{resources.db.host}}`")]
    ResourceNameNeeded,
    /// The metadata has no such key.
    #[error("the metadata has no key `{0}`; add it under `metadata` or fix the placeholder")]
    MissingMetadataKey(String),
    /// A key was looked up inside a metadata value that is not a map.
    #[error("cannot look up `{0}` in the metadata: the value before it is not a map")]
    MetadataNotAMap(String),
    /// The resource lookup failed.
    #[error(transparent)]
    Output(#[from] OutputError),
}

/// A placeholder that could not be substituted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{}placeholder `{placeholder}` is invalid: {kind}",
    location(file, field)
)]
pub struct PlaceholderError {
    /// The file the text came from, when known.
    pub file: Option<String>,
    /// The field path, such as `containers.web.variables.PORT`, when known.
    pub field: Option<String>,
    /// The placeholder as written, such as `${resources.db.host}` (cut short
    /// when unterminated).
    pub placeholder: String,
    /// What is wrong.
    pub kind: PlaceholderErrorKind,
}

fn location(file: &Option<String>, field: &Option<String>) -> String {
    match (file, field) {
        (Some(file), Some(field)) => format!("{file}: {field}: "),
        (Some(file), None) => format!("{file}: "),
        (None, Some(field)) => format!("{field}: "),
        (None, None) => String::new(),
    }
}

/// Every placeholder error found in a workload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render(.0))]
pub struct SubstitutionErrors(pub Vec<PlaceholderError>);

fn render(errors: &[PlaceholderError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Longest placeholder text quoted in an unterminated-placeholder error.
const QUOTE_LIMIT: usize = 40;

/// Substitutes every placeholder in `text`.
///
/// The error names the placeholder; its `file` and `field` are `None` (set them
/// when you know where the text came from, as [`substitute_workload`] does).
pub fn substitute(text: &str, context: &Context<'_>) -> Result<String, PlaceholderError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('{') {
            let Some(close) = inner.find('}') else {
                return Err(error(
                    quote(&rest[dollar..]),
                    PlaceholderErrorKind::Unterminated,
                ));
            };
            let reference = &inner[..close];
            let value = resolve(reference, context)
                .map_err(|kind| error(format!("${{{reference}}}"), kind))?;
            out.push_str(&value);
            rest = &inner[close + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn error(placeholder: String, kind: PlaceholderErrorKind) -> PlaceholderError {
    PlaceholderError {
        file: None,
        field: None,
        placeholder,
        kind,
    }
}

fn quote(text: &str) -> String {
    match text.char_indices().nth(QUOTE_LIMIT) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// Splits a placeholder path on `.`, where `\.` is a dot inside a key.
fn split_path(reference: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = reference.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'.') => {
                chars.next();
                if let Some(last) = parts.last_mut() {
                    last.push('.');
                }
            }
            '.' => parts.push(String::new()),
            _ => {
                if let Some(last) = parts.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    parts
}

fn resolve(reference: &str, context: &Context<'_>) -> Result<String, PlaceholderErrorKind> {
    if reference.is_empty() {
        return Err(PlaceholderErrorKind::Empty);
    }
    let parts = split_path(reference);
    let (section, keys) = parts.split_first().ok_or(PlaceholderErrorKind::Empty)?;
    let value = match section.as_str() {
        "metadata" => {
            if keys.is_empty() {
                return Err(PlaceholderErrorKind::MetadataKeyNeeded);
            }
            walk(&context.metadata, keys).map_err(|failure| match failure {
                WalkFailure::Missing(key) => PlaceholderErrorKind::MissingMetadataKey(key),
                WalkFailure::NotAMap(key) => PlaceholderErrorKind::MetadataNotAMap(key),
            })?
        }
        "resources" => {
            let (resource, output) = keys
                .split_first()
                .ok_or(PlaceholderErrorKind::ResourceNameNeeded)?;
            context.resources.output(resource, output)?
        }
        other => return Err(PlaceholderErrorKind::UnknownSection(other.to_owned())),
    };
    Ok(match value {
        Value::String(text) => text,
        other => other.to_string(),
    })
}

/// Returns a copy of `workload` with placeholders substituted in every
/// container variable, every inline file content (unless the file sets
/// `noExpand`) and every volume source.
///
/// Commands, arguments, binary file content and resource params are left alone
/// (params are resolved when resources are provisioned). All errors are
/// collected; each names `file`, the field path and the placeholder.
pub fn substitute_workload(
    workload: &Workload,
    file: &str,
    context: &Context<'_>,
) -> Result<Workload, SubstitutionErrors> {
    let mut result = workload.clone();
    let mut errors = Vec::new();
    let mut apply = |text: &mut String, field: String| match substitute(text, context) {
        Ok(value) => *text = value,
        Err(mut error) => {
            error.file = Some(file.to_owned());
            error.field = Some(field);
            errors.push(error);
        }
    };
    for (name, container) in &mut result.containers {
        for (variable, value) in &mut container.variables {
            apply(
                value,
                path::join(&["containers", name, "variables", variable]),
            );
        }
        for (target, mounted) in &mut container.files {
            if mounted.no_expand {
                continue;
            }
            if let FileContent::Inline(content) = &mut mounted.content {
                apply(
                    content,
                    path::join(&["containers", name, "files", target, "content"]),
                );
            }
        }
        for (target, volume) in &mut container.volumes {
            apply(
                &mut volume.source,
                path::join(&["containers", name, "volumes", target, "source"]),
            );
        }
    }
    if errors.is_empty() {
        Ok(result)
    } else {
        Err(SubstitutionErrors(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn split_path_handles_escaped_dots() {
        assert_eq!(
            split_path(r"metadata.annotations.my\.key"),
            ["metadata", "annotations", "my.key"]
        );
        assert_eq!(split_path(r"a\b.c"), [r"a\b", "c"]);
        assert_eq!(split_path("a..b"), ["a", "", "b"]);
        assert_eq!(split_path(r"a\"), [r"a\"]);
    }

    #[test]
    fn quote_cuts_long_text_on_a_char_boundary() {
        let long = format!("${{{}", "é".repeat(100));
        let quoted = quote(&long);
        assert!(quoted.ends_with('…'));
        assert_eq!(quoted.chars().count(), QUOTE_LIMIT + 1);
    }

    #[test]
    fn non_string_values_are_json() {
        let outputs = BTreeMap::from([("db".to_owned(), json!({"port": 5432, "tls": true}))]);
        let context = Context::new(json!({"name": "x", "list": [1, 2]}), &outputs);
        assert_eq!(
            substitute("${resources.db.port}", &context).unwrap(),
            "5432"
        );
        assert_eq!(substitute("${resources.db.tls}", &context).unwrap(), "true");
        assert_eq!(substitute("${metadata.list}", &context).unwrap(), "[1,2]");
    }
}
