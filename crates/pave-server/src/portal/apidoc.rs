//! What the developer portal shows for a Backstage API entity's
//! `spec.definition`.
//!
//! Two pure helpers, with no IO and no network:
//!
//! - [`summarize_openapi`] reads an OpenAPI 3.0/3.1 or Swagger 2.0 definition
//!   (YAML or JSON) into an [`ApiSummary`]: its operations, their parameters,
//!   request bodies and responses, with schemas flattened into one-line
//!   [`Field`] rows.
//! - [`highlight`] turns any other definition (AsyncAPI YAML, GraphQL SDL,
//!   protobuf, plain text) into HTML-escaped text wrapped in
//!   `<span class="tok-...">` elements, for a `<pre>` block.
//!
//! Definitions come from catalog entities that anyone with write access to a
//! repository can author, so both helpers treat their input as hostile: the
//! parser runs under a budget, only `$ref`s inside the document are followed
//! (a remote one shows as `external: <ref>` and is never fetched), recursion
//! through `$ref`s is cut, and every list in the summary is capped. The
//! highlighter is a single linear pass whose spans never nest and never cross
//! a line break.

use std::collections::HashSet;

use serde_json::{Map, Value};
use serde_saphyr::{Budget, Options};

/// The largest definition summarized, in bytes.
pub const MAX_DEFINITION_BYTES: usize = 4 * 1024 * 1024;
/// The most operations (and, separately, webhooks) a summary lists.
pub const MAX_OPERATIONS: usize = 500;
/// The most rows one schema flattens into, before a "more fields" row.
pub const MAX_FIELDS_PER_SCHEMA: usize = 200;
/// How many levels of nested objects and arrays a schema is flattened to.
pub const MAX_FIELD_DEPTH: usize = 6;

/// The most rows in the whole summary: with many operations sharing large
/// schemas, the per-schema cap alone would still allow millions of rows.
const MAX_TOTAL_FIELDS: usize = 20_000;
const MAX_PARAMETERS: usize = 100;
const MAX_RESPONSES: usize = 50;
const MAX_SERVERS: usize = 20;
const MAX_CONTENT_TYPES: usize = 20;
const MAX_TAGS: usize = 20;
/// How many `$ref` hops one lookup follows, so that `A -> B -> A` ends.
const MAX_REF_HOPS: usize = 16;
/// How many `allOf` parts are merged into one object, across all levels.
const MAX_ALL_OF_PARTS: usize = 32;
/// How deep a one-line schema summary nests (`array of one of: ...`).
const MAX_SUMMARY_DEPTH: usize = 4;
const MAX_SUMMARY_CHARS: usize = 200;
const MAX_ENUM_VALUES: usize = 10;
const MAX_ENUM_VALUE_CHARS: usize = 40;
const MAX_ALTERNATIVES: usize = 8;
/// Descriptions of fields, parameters and responses.
const MAX_TEXT_CHARS: usize = 2_000;
/// Descriptions of the API and of operations, which are often long Markdown.
const MAX_LONG_TEXT_CHARS: usize = 20_000;
const MAX_NAME_CHARS: usize = 500;
/// The YAML nesting the parser accepts; real definitions stay far below it.
const MAX_YAML_DEPTH: usize = 64;
/// The YAML nodes the parser accepts (a 4 MiB definition has fewer).
const MAX_YAML_NODES: usize = 500_000;
/// Events replayed for YAML aliases: bounds "billion laughs" expansion.
const MAX_ALIAS_REPLAY_EVENTS: usize = 100_000;

/// The path of the row that stands for a whole body when it is not an object
/// with properties (an array, a map, a scalar, a `oneOf`).
pub const ROOT_FIELD_PATH: &str = "";
/// The path of the row that says a schema had more rows than are shown.
pub const MORE_FIELDS_PATH: &str = "…";

/// A definition's summary, ready for a template.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApiSummary {
    pub title: Option<String>,
    pub version: Option<String>,
    pub description: Option<String>,
    /// Base URLs: OpenAPI 3 `servers[].url`, or Swagger 2 scheme + host + basePath.
    pub servers: Vec<String>,
    /// Sorted by path, then by method (GET, POST, PUT, PATCH, DELETE, HEAD,
    /// OPTIONS, TRACE).
    pub operations: Vec<Operation>,
    /// OpenAPI 3.1 webhooks; `path` holds the webhook's name.
    pub webhooks: Vec<Operation>,
    /// Operations and webhooks past [`MAX_OPERATIONS`] that were left out.
    pub omitted_operations: usize,
}

/// One method on one path.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Operation {
    /// Upper-case: `GET`, `POST`, ...
    pub method: String,
    pub path: String,
    pub operation_id: Option<String>,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub tags: Vec<String>,
    pub deprecated: bool,
    /// Path-level parameters merged with the operation's own, in declaration
    /// order; the operation's wins on the same name and location.
    pub parameters: Vec<Parameter>,
    /// OpenAPI 3 `requestBody`; for Swagger 2, built from the `body`
    /// parameter or from the `formData` parameters (which also stay in
    /// `parameters`).
    pub request_body: Option<Body>,
    /// Sorted by status, `default` last.
    pub responses: Vec<Response>,
}

/// One parameter of an operation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Parameter {
    pub name: String,
    /// `path`, `query`, `header`, `cookie`, or Swagger 2's `body` and
    /// `formData`; empty when the parameter is an unresolved `$ref`.
    pub location: String,
    pub required: bool,
    pub description: Option<String>,
    /// A one-line summary such as `string (uuid)` or `array of Pet`.
    pub schema: String,
}

/// A request body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Body {
    pub description: Option<String>,
    pub content_types: Vec<String>,
    pub required: bool,
    /// The schema of the preferred content type (JSON if offered),
    /// flattened; see [`Field`].
    pub schema: Vec<Field>,
}

/// One response of an operation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Response {
    /// `200`, `4XX`, `default`, ...
    pub status: String,
    pub description: Option<String>,
    pub content_types: Vec<String>,
    pub schema: Vec<Field>,
}

/// One row of a flattened schema.
///
/// Paths join property names with `.`, mark array items with `[]` and map
/// values with `*`: `name`, `tags[].id`, `owner.id`, `labels.*`. A schema
/// that is not an object with properties starts with a row whose path is
/// [`ROOT_FIELD_PATH`] (empty) describing the whole thing, e.g.
/// `array of Pet`, followed by the rows of its items (`[].id`). A schema cut
/// at [`MAX_FIELDS_PER_SCHEMA`] ends with a [`MORE_FIELDS_PATH`] row.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Field {
    pub path: String,
    /// A one-line summary; `Node (recursive)` where a schema contains itself.
    pub schema: String,
    /// Listed in its parent object's `required`.
    pub required: bool,
    pub description: Option<String>,
}

/// Why a definition could not be summarized.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiDocError {
    /// The text is not valid YAML or JSON (or breaks the parser's limits).
    #[error("{}{message}", place(*line, *column))]
    Parse {
        /// 1-based, when the parser knows where.
        line: Option<u64>,
        column: Option<u64>,
        message: String,
    },
    #[error("the definition is {bytes} bytes; at most {limit} bytes are summarized")]
    TooLarge { bytes: usize, limit: usize },
    /// Valid YAML, but not an OpenAPI 3 or Swagger 2.0 document.
    #[error("not an OpenAPI 3 or Swagger 2.0 definition: {0}")]
    NotOpenApi(String),
}

fn place(line: Option<u64>, column: Option<u64>) -> String {
    match (line, column) {
        (Some(line), Some(column)) => format!("line {line}, column {column}: "),
        (Some(line), None) => format!("line {line}: "),
        _ => String::new(),
    }
}

/// How to color a definition in [`highlight`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    Yaml,
    Json,
    GraphQl,
    Protobuf,
    Plain,
}

/// The language to highlight an entity's definition in, from its
/// `spec.type`: OpenAPI and AsyncAPI are YAML unless the text opens with
/// `{`, in which case they are JSON.
pub fn language_for(api_type: &str, definition: &str) -> Language {
    match api_type.trim().to_ascii_lowercase().as_str() {
        "openapi" | "asyncapi" => {
            // A byte-order mark is invisible in an editor but would hide the brace.
            if definition
                .trim_start_matches('\u{feff}')
                .trim_start()
                .starts_with('{')
            {
                Language::Json
            } else {
                Language::Yaml
            }
        }
        "graphql" => Language::GraphQl,
        "grpc" => Language::Protobuf,
        _ => Language::Plain,
    }
}

// ---------------------------------------------------------------------------
// OpenAPI summary
// ---------------------------------------------------------------------------

/// Summarizes an OpenAPI 3.0/3.1 or Swagger 2.0 definition, YAML or JSON.
pub fn summarize_openapi(definition: &str) -> Result<ApiSummary, ApiDocError> {
    let root = parse(definition)?;
    let Some(document) = root.as_object() else {
        return Err(ApiDocError::NotOpenApi(match root {
            Value::Null => "the definition is empty".to_string(),
            _ => "the definition is not a mapping".to_string(),
        }));
    };
    let dialect = dialect(document)?;
    let mut summarizer = Summarizer {
        root: &root,
        fields_left: MAX_TOTAL_FIELDS,
    };
    let info = document.get("info");
    let (operations, omitted_paths) = summarizer.operations(document.get("paths"));
    let (webhooks, omitted_webhooks) = summarizer.operations(document.get("webhooks"));
    Ok(ApiSummary {
        title: info.and_then(|info| text(info.get("title"), MAX_NAME_CHARS)),
        version: info.and_then(|info| text(info.get("version"), MAX_NAME_CHARS)),
        description: info.and_then(|info| text(info.get("description"), MAX_LONG_TEXT_CHARS)),
        servers: match dialect {
            Dialect::OpenApi3 => openapi_servers(document),
            Dialect::Swagger2 => swagger_servers(document),
        },
        operations,
        webhooks,
        omitted_operations: omitted_paths.saturating_add(omitted_webhooks),
    })
}

fn parse(definition: &str) -> Result<Value, ApiDocError> {
    if definition.len() > MAX_DEFINITION_BYTES {
        return Err(ApiDocError::TooLarge {
            bytes: definition.len(),
            limit: MAX_DEFINITION_BYTES,
        });
    }
    let mut budget = Budget::default();
    budget.max_depth = MAX_YAML_DEPTH;
    budget.max_nodes = MAX_YAML_NODES;
    budget.max_documents = 1;
    let mut options = Options::default();
    options.budget = Some(budget);
    options.alias_limits.max_total_replayed_events = MAX_ALIAS_REPLAY_EVENTS;
    // YAML 1.2 booleans, as Backstage reads them: `name: y` stays a string.
    options.strict_booleans = true;
    // The message goes into one line of HTML, not a terminal.
    options.with_snippet = false;
    serde_saphyr::from_str_with_options::<Value>(definition, options).map_err(|error| {
        let location = error.location();
        let line = location.as_ref().map(|location| location.line());
        let column = location.as_ref().map(|location| location.column());
        let rendered = error.to_string();
        let first = rendered.lines().next().unwrap_or_default().trim();
        let first = first.strip_prefix("error: ").unwrap_or(first);
        // The location fields carry the place; drop it from the prose.
        let message = match (line, column) {
            (Some(line), Some(column)) => first
                .strip_suffix(&format!(" at line {line}, column {column}"))
                .unwrap_or(first),
            _ => first,
        };
        ApiDocError::Parse {
            line,
            column,
            message: message.to_string(),
        }
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    OpenApi3,
    Swagger2,
}

fn dialect(document: &Map<String, Value>) -> Result<Dialect, ApiDocError> {
    if let Some(version) = document.get("openapi") {
        let version = scalar_text(version);
        // `openapi: 3.0` unquoted is a YAML number; `scalar_text` spells it back.
        return if version == "3" || version.starts_with("3.") {
            Ok(Dialect::OpenApi3)
        } else {
            Err(ApiDocError::NotOpenApi(format!(
                "unsupported OpenAPI version {}",
                truncate_chars(&version, MAX_NAME_CHARS)
            )))
        };
    }
    if let Some(version) = document.get("swagger") {
        let version = scalar_text(version);
        return if version == "2" || version == "2.0" {
            Ok(Dialect::Swagger2)
        } else {
            Err(ApiDocError::NotOpenApi(format!(
                "unsupported Swagger version {}",
                truncate_chars(&version, MAX_NAME_CHARS)
            )))
        };
    }
    let reason = if document.contains_key("asyncapi") {
        "it is an AsyncAPI document"
    } else {
        "it has neither an `openapi` nor a `swagger` field"
    };
    Err(ApiDocError::NotOpenApi(reason.to_string()))
}

fn openapi_servers(document: &Map<String, Value>) -> Vec<String> {
    document
        .get("servers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|server| text(server.get("url"), MAX_NAME_CHARS))
        .take(MAX_SERVERS)
        .collect()
}

fn swagger_servers(document: &Map<String, Value>) -> Vec<String> {
    let host = document.get("host").and_then(Value::as_str).unwrap_or("");
    let base_path = document
        .get("basePath")
        .and_then(Value::as_str)
        .unwrap_or("");
    if host.is_empty() && base_path.is_empty() {
        return Vec::new();
    }
    let location = truncate_chars(&format!("{host}{base_path}"), MAX_NAME_CHARS);
    let schemes = strings(document.get("schemes"), MAX_SERVERS);
    // Without schemes, Swagger 2 means "the scheme the definition was served
    // with", which a summary cannot know: show the location bare.
    if schemes.is_empty() || host.is_empty() {
        return vec![location];
    }
    schemes
        .into_iter()
        .map(|scheme| format!("{scheme}://{location}"))
        .collect()
}

/// The HTTP methods of a path item, in display order.
const METHODS: [&str; 8] = [
    "get", "post", "put", "patch", "delete", "head", "options", "trace",
];

/// What a `$ref` leads to.
enum Resolved<'a> {
    Found(&'a Value),
    /// Another file or a URL: shown, never fetched.
    External(&'a str),
    /// A local pointer to nothing, or a chain of `$ref`s that loops.
    Unresolved(&'a str),
}

/// Where a parameter came from, before its view model is built.
enum ParameterSource<'a> {
    Found(&'a Map<String, Value>),
    Unresolved { reference: &'a str, external: bool },
}

impl ParameterSource<'_> {
    /// The identity that an operation-level parameter overrides.
    fn key(&self) -> (&str, &str) {
        match self {
            ParameterSource::Found(parameter) => (
                parameter.get("name").and_then(Value::as_str).unwrap_or(""),
                parameter.get("in").and_then(Value::as_str).unwrap_or(""),
            ),
            ParameterSource::Unresolved { reference, .. } => (reference, ""),
        }
    }
}

/// Rows of one schema being flattened.
struct FieldList {
    rows: Vec<Field>,
    full: bool,
}

struct Summarizer<'a> {
    root: &'a Value,
    /// Rows the whole summary may still hold; see [`MAX_TOTAL_FIELDS`].
    fields_left: usize,
}

impl<'a> Summarizer<'a> {
    /// Looks up one local `$ref` without following further ones.
    fn lookup(&self, reference: &'a str) -> Resolved<'a> {
        let Some(pointer) = reference.strip_prefix('#') else {
            return Resolved::External(reference);
        };
        if pointer.is_empty() {
            return Resolved::Found(self.root);
        }
        match self.root.pointer(pointer) {
            Some(value) => Resolved::Found(value),
            None => Resolved::Unresolved(reference),
        }
    }

    /// Follows `$ref`s from `value` to something that is not one.
    fn resolve(&self, value: &'a Value) -> Resolved<'a> {
        let mut current = value;
        let mut last = "";
        for _ in 0..MAX_REF_HOPS {
            let Some(reference) = reference_of(current) else {
                return Resolved::Found(current);
            };
            last = reference;
            match self.lookup(reference) {
                Resolved::Found(next) => current = next,
                other => return other,
            }
        }
        Resolved::Unresolved(last)
    }

    fn operations(&mut self, paths: Option<&'a Value>) -> (Vec<Operation>, usize) {
        let Some(paths) = paths.and_then(Value::as_object) else {
            return (Vec::new(), 0);
        };
        // Gather everything first so that the cap keeps the first operations
        // in display order, not whichever the map happened to yield.
        let mut found: Vec<(&'a str, usize, &'a Map<String, Value>, &'a Value)> = Vec::new();
        for (path, item) in paths {
            if path.starts_with("x-") {
                continue;
            }
            let Resolved::Found(item) = self.resolve(item) else {
                continue;
            };
            let Some(item) = item.as_object() else {
                continue;
            };
            for (rank, method) in METHODS.iter().enumerate() {
                if let Some(operation) = item.get(*method).filter(|value| value.is_object()) {
                    found.push((path.as_str(), rank, item, operation));
                }
            }
        }
        found.sort_by(|left, right| left.0.cmp(right.0).then(left.1.cmp(&right.1)));
        let omitted = found.len().saturating_sub(MAX_OPERATIONS);
        found.truncate(MAX_OPERATIONS);
        let operations = found
            .into_iter()
            .map(|(path, rank, item, operation)| {
                let method = METHODS.get(rank).copied().unwrap_or("get");
                self.operation(path, method, item, operation)
            })
            .collect();
        (operations, omitted)
    }

    fn operation(
        &mut self,
        path: &str,
        method: &str,
        item: &'a Map<String, Value>,
        operation: &'a Value,
    ) -> Operation {
        let sources = self.parameter_sources(item.get("parameters"), operation.get("parameters"));
        let parameters = sources
            .iter()
            .map(|source| self.parameter(source))
            .collect();
        let document = self.root;
        // Swagger 2 declares media types per operation, falling back to the document's.
        let consumes = strings(
            operation
                .get("consumes")
                .or_else(|| document.get("consumes")),
            MAX_CONTENT_TYPES,
        );
        let produces = strings(
            operation
                .get("produces")
                .or_else(|| document.get("produces")),
            MAX_CONTENT_TYPES,
        );
        let request_body = match operation.get("requestBody") {
            Some(body) => Some(self.request_body(body)),
            None => self.swagger_body(&sources, consumes),
        };
        Operation {
            method: method.to_ascii_uppercase(),
            path: truncate_chars(path, MAX_NAME_CHARS),
            operation_id: text(operation.get("operationId"), MAX_NAME_CHARS),
            summary: text(operation.get("summary"), MAX_TEXT_CHARS),
            description: text(operation.get("description"), MAX_LONG_TEXT_CHARS),
            tags: strings(operation.get("tags"), MAX_TAGS),
            deprecated: flag(operation, "deprecated"),
            parameters,
            request_body,
            responses: self.responses(operation.get("responses"), &produces),
        }
    }

    fn parameter_sources(
        &self,
        path_level: Option<&'a Value>,
        operation_level: Option<&'a Value>,
    ) -> Vec<ParameterSource<'a>> {
        let mut merged: Vec<ParameterSource<'a>> = Vec::new();
        for (level, list) in [path_level, operation_level].into_iter().enumerate() {
            let Some(list) = list.and_then(Value::as_array) else {
                continue;
            };
            for value in list.iter().take(MAX_PARAMETERS) {
                let source = match self.resolve(value) {
                    Resolved::Found(found) => match found.as_object() {
                        Some(parameter) => ParameterSource::Found(parameter),
                        None => continue,
                    },
                    Resolved::External(reference) => ParameterSource::Unresolved {
                        reference,
                        external: true,
                    },
                    Resolved::Unresolved(reference) => ParameterSource::Unresolved {
                        reference,
                        external: false,
                    },
                };
                // Only the operation's list overrides; duplicates within one
                // list are the author's, and are shown as written.
                let existing = if level == 1 {
                    merged.iter().position(|other| other.key() == source.key())
                } else {
                    None
                };
                match existing {
                    Some(index) => {
                        if let Some(slot) = merged.get_mut(index) {
                            *slot = source;
                        }
                    }
                    None if merged.len() < MAX_PARAMETERS => merged.push(source),
                    None => {}
                }
            }
        }
        merged
    }

    fn parameter(&self, source: &ParameterSource<'a>) -> Parameter {
        let parameter = match source {
            ParameterSource::Found(parameter) => *parameter,
            ParameterSource::Unresolved {
                reference,
                external,
            } => {
                return Parameter {
                    name: truncate_chars(&ref_name(reference), MAX_NAME_CHARS),
                    location: String::new(),
                    required: false,
                    description: None,
                    schema: unresolved_text(reference, *external),
                };
            }
        };
        let location = parameter.get("in").and_then(Value::as_str).unwrap_or("");
        let schema = if let Some(schema) = parameter.get("schema") {
            self.summarize(schema, &[])
        } else if let Some(schema) = parameter.get("content").and_then(preferred_media_schema) {
            self.summarize(schema, &[])
        } else {
            // Swagger 2 puts `type`, `format`, `items` and `enum` on the
            // parameter itself, which reads as a schema.
            self.summarize_map(parameter, &[], 0)
        };
        Parameter {
            name: truncate_chars(
                parameter.get("name").and_then(Value::as_str).unwrap_or(""),
                MAX_NAME_CHARS,
            ),
            location: truncate_chars(location, MAX_NAME_CHARS),
            // Path parameters are required by definition, whatever is written.
            required: location == "path" || flag_in(parameter, "required"),
            description: text(parameter.get("description"), MAX_TEXT_CHARS),
            schema,
        }
    }

    fn request_body(&mut self, body: &'a Value) -> Body {
        let body = match self.resolve(body) {
            Resolved::Found(body) => body,
            Resolved::External(reference) => return unresolved_body(reference, true),
            Resolved::Unresolved(reference) => return unresolved_body(reference, false),
        };
        let content = body.get("content");
        Body {
            description: text(body.get("description"), MAX_TEXT_CHARS),
            content_types: media_types(content),
            required: flag(body, "required"),
            schema: match content.and_then(preferred_media_schema) {
                Some(schema) => self.fields(schema),
                None => Vec::new(),
            },
        }
    }

    /// Swagger 2 has no `requestBody`: a `body` parameter, or the
    /// `formData` parameters together, stand for it.
    fn swagger_body(
        &mut self,
        sources: &[ParameterSource<'a>],
        consumes: Vec<String>,
    ) -> Option<Body> {
        let found = sources.iter().filter_map(|source| match source {
            ParameterSource::Found(parameter) => Some(*parameter),
            ParameterSource::Unresolved { .. } => None,
        });
        let located = |parameter: &&Map<String, Value>, location: &str| {
            parameter.get("in").and_then(Value::as_str) == Some(location)
        };
        if let Some(body) = found.clone().find(|parameter| located(parameter, "body")) {
            return Some(Body {
                description: text(body.get("description"), MAX_TEXT_CHARS),
                content_types: consumes,
                required: flag_in(body, "required"),
                schema: match body.get("schema") {
                    Some(schema) => self.fields(schema),
                    None => Vec::new(),
                },
            });
        }
        let form: Vec<&Map<String, Value>> = found
            .filter(|parameter| located(parameter, "formData"))
            .collect();
        if form.is_empty() {
            return None;
        }
        let mut list = FieldList {
            rows: Vec::new(),
            full: false,
        };
        for parameter in &form {
            let row = Field {
                path: truncate_chars(
                    parameter.get("name").and_then(Value::as_str).unwrap_or(""),
                    MAX_NAME_CHARS,
                ),
                schema: self.summarize_map(parameter, &[], 0),
                required: flag_in(parameter, "required"),
                description: text(parameter.get("description"), MAX_TEXT_CHARS),
            };
            if !self.push_row(&mut list, row) {
                break;
            }
        }
        Some(Body {
            description: None,
            content_types: consumes,
            required: form.iter().any(|parameter| flag_in(parameter, "required")),
            schema: list.rows,
        })
    }

    fn responses(&mut self, responses: Option<&'a Value>, produces: &[String]) -> Vec<Response> {
        let Some(responses) = responses.and_then(Value::as_object) else {
            return Vec::new();
        };
        let mut entries: Vec<(&'a str, &'a Value)> = responses
            .iter()
            .filter(|(status, _)| !status.starts_with("x-"))
            .map(|(status, response)| (status.as_str(), response))
            .collect();
        // Numeric codes read in order; `default` is the catch-all, so last.
        entries.sort_by_key(|(status, _)| (*status == "default", *status));
        entries.truncate(MAX_RESPONSES);
        entries
            .into_iter()
            .map(|(status, response)| self.response(status, response, produces))
            .collect()
    }

    fn response(&mut self, status: &str, response: &'a Value, produces: &[String]) -> Response {
        let status = truncate_chars(status, MAX_NAME_CHARS);
        let response = match self.resolve(response) {
            Resolved::Found(response) => response,
            Resolved::External(reference) | Resolved::Unresolved(reference) => {
                let external = !reference.starts_with('#');
                return Response {
                    status,
                    description: None,
                    content_types: Vec::new(),
                    schema: vec![root_row(unresolved_text(reference, external))],
                };
            }
        };
        let description = text(response.get("description"), MAX_TEXT_CHARS);
        if let Some(content) = response.get("content") {
            return Response {
                status,
                description,
                content_types: media_types(Some(content)),
                schema: match preferred_media_schema(content) {
                    Some(schema) => self.fields(schema),
                    None => Vec::new(),
                },
            };
        }
        // Swagger 2: the schema sits on the response, the media types on the
        // operation.
        match response.get("schema") {
            Some(schema) => Response {
                status,
                description,
                content_types: produces.to_vec(),
                schema: self.fields(schema),
            },
            None => Response {
                status,
                description,
                content_types: Vec::new(),
                schema: Vec::new(),
            },
        }
    }

    /// Flattens a schema into rows; see [`Field`].
    fn fields(&mut self, schema: &'a Value) -> Vec<Field> {
        let mut list = FieldList {
            rows: Vec::new(),
            full: false,
        };
        let mut stack: Vec<&'a str> = Vec::new();
        let is_plain_object = match self.resolve(schema) {
            Resolved::Found(resolved) => self.has_properties(resolved),
            Resolved::External(_) | Resolved::Unresolved(_) => false,
        };
        if !is_plain_object {
            let row = root_row(self.summarize(schema, &stack));
            self.push_row(&mut list, row);
        }
        self.expand(schema, "", 1, &mut stack, &mut list);
        list.rows
    }

    /// Whether a schema has properties of its own or through `allOf`.
    fn has_properties(&self, schema: &'a Value) -> bool {
        let own = schema
            .get("properties")
            .and_then(Value::as_object)
            .is_some_and(|properties| !properties.is_empty());
        own || schema
            .get("allOf")
            .and_then(Value::as_array)
            .is_some_and(|parts| {
                parts.iter().take(MAX_ALL_OF_PARTS).any(|part| {
                    matches!(self.resolve(part), Resolved::Found(part)
                        if part.get("properties").and_then(Value::as_object).is_some_and(|properties| !properties.is_empty()))
                })
            })
    }

    /// Adds the rows below `schema` (its properties, its items' or its map
    /// values' properties) under `prefix`.
    fn expand(
        &mut self,
        schema: &'a Value,
        prefix: &str,
        depth: usize,
        stack: &mut Vec<&'a str>,
        list: &mut FieldList,
    ) {
        if depth > MAX_FIELD_DEPTH || list.full {
            return;
        }
        // Enter every `$ref` on the way, so that a schema met again inside
        // itself is recognised and not expanded a second time.
        let entered = stack.len();
        let mut current = schema;
        let mut hops = 0;
        while let Some(reference) = reference_of(current) {
            hops += 1;
            if hops > MAX_REF_HOPS || stack.contains(&reference) {
                stack.truncate(entered);
                return;
            }
            match self.lookup(reference) {
                Resolved::Found(next) => {
                    stack.push(reference);
                    current = next;
                }
                Resolved::External(_) | Resolved::Unresolved(_) => {
                    stack.truncate(entered);
                    return;
                }
            }
        }
        if self.has_properties(current) {
            let mut properties = Vec::new();
            let mut seen = HashSet::new();
            let mut required = HashSet::new();
            let mut parts_left = MAX_ALL_OF_PARTS;
            self.collect_properties(
                current,
                stack,
                &mut properties,
                &mut seen,
                &mut required,
                &mut parts_left,
            );
            for (name, property) in properties {
                if list.full {
                    break;
                }
                let path = if prefix.is_empty() {
                    truncate_chars(name, MAX_NAME_CHARS)
                } else {
                    format!("{prefix}.{}", truncate_chars(name, MAX_NAME_CHARS))
                };
                let description = text(property.get("description"), MAX_TEXT_CHARS).or_else(|| {
                    match self.resolve(property) {
                        Resolved::Found(target) => text(target.get("description"), MAX_TEXT_CHARS),
                        Resolved::External(_) | Resolved::Unresolved(_) => None,
                    }
                });
                let row = Field {
                    schema: self.summarize(property, stack),
                    required: required.contains(name),
                    description,
                    path: path.clone(),
                };
                if !self.push_row(list, row) {
                    break;
                }
                self.expand(property, &path, depth + 1, stack, list);
            }
        } else if let Some(items) = current.get("items") {
            self.expand(items, &format!("{prefix}[]"), depth + 1, stack, list);
        } else if let Some(values) = current
            .get("additionalProperties")
            .filter(|values| values.is_object())
        {
            let path = if prefix.is_empty() {
                "*".to_string()
            } else {
                format!("{prefix}.*")
            };
            self.expand(values, &path, depth + 1, stack, list);
        }
        stack.truncate(entered);
    }

    /// Gathers an object's properties and required names, merging `allOf`
    /// parts (each entered on the stack, so a part that includes its
    /// parent stops there).
    fn collect_properties(
        &self,
        schema: &'a Value,
        stack: &mut Vec<&'a str>,
        properties: &mut Vec<(&'a str, &'a Value)>,
        seen: &mut HashSet<&'a str>,
        required: &mut HashSet<&'a str>,
        parts_left: &mut usize,
    ) {
        if let Some(own) = schema.get("properties").and_then(Value::as_object) {
            for (name, property) in own {
                // One past the cap is enough to know the list is cut.
                if properties.len() > MAX_FIELDS_PER_SCHEMA {
                    break;
                }
                if seen.insert(name.as_str()) {
                    properties.push((name.as_str(), property));
                }
            }
        }
        for name in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            required.insert(name);
        }
        let Some(parts) = schema.get("allOf").and_then(Value::as_array) else {
            return;
        };
        for part in parts {
            if *parts_left == 0 {
                return;
            }
            *parts_left -= 1;
            let entered = stack.len();
            let mut current = part;
            let mut usable = true;
            while let Some(reference) = reference_of(current) {
                if stack.contains(&reference) || stack.len() - entered >= MAX_REF_HOPS {
                    usable = false;
                    break;
                }
                match self.lookup(reference) {
                    Resolved::Found(next) => {
                        stack.push(reference);
                        current = next;
                    }
                    Resolved::External(_) | Resolved::Unresolved(_) => {
                        usable = false;
                        break;
                    }
                }
            }
            if usable {
                self.collect_properties(current, stack, properties, seen, required, parts_left);
            }
            stack.truncate(entered);
        }
    }

    /// Adds a row unless a cap is reached, in which case the list ends with
    /// one "more fields" row. Returns whether more rows may follow.
    fn push_row(&mut self, list: &mut FieldList, row: Field) -> bool {
        if list.full {
            return false;
        }
        if list.rows.len() >= MAX_FIELDS_PER_SCHEMA || self.fields_left == 0 {
            list.rows.push(Field {
                path: MORE_FIELDS_PATH.to_string(),
                schema: "more fields not shown".to_string(),
                required: false,
                description: None,
            });
            list.full = true;
            return false;
        }
        self.fields_left -= 1;
        list.rows.push(row);
        true
    }

    /// A one-line summary of a schema: `string (uuid)`, `array of Pet`,
    /// `integer, enum: 1 | 2 | 3`, `one of: Cat | Dog`, `map of string`.
    /// `stack` holds the `$ref`s being expanded, to mark recursion.
    fn summarize(&self, schema: &Value, stack: &[&str]) -> String {
        let mut out = String::new();
        self.summary_into(schema, stack, 0, &mut out);
        truncate_chars(&out, MAX_SUMMARY_CHARS)
    }

    fn summarize_map(&self, schema: &Map<String, Value>, stack: &[&str], depth: usize) -> String {
        let mut out = String::new();
        self.summary_map_into(schema, stack, depth, &mut out);
        truncate_chars(&out, MAX_SUMMARY_CHARS)
    }

    fn summary_into(&self, schema: &Value, stack: &[&str], depth: usize, out: &mut String) {
        match schema {
            Value::Object(map) => self.summary_map_into(map, stack, depth, out),
            // OpenAPI 3.1 allows `true` (anything) and `false` (nothing) as schemas.
            Value::Bool(false) => out.push_str("nothing"),
            _ => out.push_str("any"),
        }
    }

    fn summary_map_into(
        &self,
        schema: &Map<String, Value>,
        stack: &[&str],
        depth: usize,
        out: &mut String,
    ) {
        // Past either limit the rest would be cut anyway; stopping here keeps
        // the work per summary small however the schema nests.
        if depth > MAX_SUMMARY_DEPTH || out.len() > MAX_SUMMARY_CHARS {
            out.push('…');
            return;
        }
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            match self.lookup_static(reference) {
                Some(true) => {
                    out.push_str(&ref_name(reference));
                    if stack.contains(&reference) {
                        out.push_str(" (recursive)");
                    }
                }
                Some(false) => out.push_str(&unresolved_text(reference, false)),
                None => out.push_str(&unresolved_text(reference, true)),
            }
            return;
        }
        let mut types: Vec<&str> = match schema.get("type") {
            Some(Value::String(name)) => vec![name.as_str()],
            Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).take(8).collect(),
            _ => Vec::new(),
        };
        let null_type = types.contains(&"null");
        types.retain(|name| *name != "null");
        let nullable = null_type || flag_in(schema, "nullable") || flag_in(schema, "x-nullable");
        let has_properties = schema
            .get("properties")
            .and_then(Value::as_object)
            .is_some_and(|properties| !properties.is_empty());
        let composition = [
            ("oneOf", "one of: ", " | "),
            ("anyOf", "any of: ", " | "),
            ("allOf", "all of: ", " & "),
        ]
        .into_iter()
        .find_map(|(key, label, separator)| {
            schema
                .get(key)
                .and_then(Value::as_array)
                .filter(|parts| !parts.is_empty())
                .map(|parts| (parts, label, separator))
        });
        match composition {
            Some((parts, label, separator))
                if !has_properties && (types.is_empty() || types == ["object"]) =>
            {
                if let [only] = parts.as_slice() {
                    self.summary_into(only, stack, depth + 1, out);
                } else {
                    out.push_str(label);
                    for (index, part) in parts.iter().take(MAX_ALTERNATIVES).enumerate() {
                        if index > 0 {
                            out.push_str(separator);
                        }
                        self.summary_into(part, stack, depth + 1, out);
                    }
                    if parts.len() > MAX_ALTERNATIVES {
                        out.push_str(separator);
                        out.push('…');
                    }
                }
            }
            _ if types.len() > 1 => {
                out.push_str(&truncate_chars(&types.join(" | "), MAX_SUMMARY_CHARS))
            }
            _ => {
                let inferred = types.first().copied().or_else(|| {
                    if has_properties {
                        Some("object")
                    } else if schema.contains_key("items") {
                        Some("array")
                    } else if schema
                        .get("additionalProperties")
                        .is_some_and(|values| values.is_object())
                    {
                        Some("object")
                    } else {
                        None
                    }
                });
                match inferred {
                    Some("array") => {
                        out.push_str("array");
                        if let Some(items) = schema.get("items") {
                            out.push_str(" of ");
                            self.summary_into(items, stack, depth + 1, out);
                        }
                    }
                    Some("object") => match schema.get("additionalProperties") {
                        Some(values @ Value::Object(_)) if !has_properties => {
                            out.push_str("map of ");
                            self.summary_into(values, stack, depth + 1, out);
                        }
                        Some(Value::Bool(true)) if !has_properties => out.push_str("map of any"),
                        _ => out.push_str("object"),
                    },
                    Some(other) => out.push_str(&truncate_chars(other, MAX_NAME_CHARS)),
                    None if schema.contains_key("enum") || schema.contains_key("const") => {
                        out.push_str("value");
                    }
                    None => out.push_str("any"),
                }
                if let Some(format) = schema.get("format").and_then(Value::as_str) {
                    out.push_str(" (");
                    out.push_str(&truncate_chars(format, MAX_NAME_CHARS));
                    out.push(')');
                }
            }
        }
        if nullable {
            out.push_str(", nullable");
        }
        if flag_in(schema, "readOnly") {
            out.push_str(", read-only");
        }
        if flag_in(schema, "writeOnly") {
            out.push_str(", write-only");
        }
        if flag_in(schema, "deprecated") {
            out.push_str(", deprecated");
        }
        if let Some(values) = schema.get("enum").and_then(Value::as_array) {
            out.push_str(", enum: ");
            for (index, value) in values.iter().enumerate() {
                if index >= MAX_ENUM_VALUES || out.len() > MAX_SUMMARY_CHARS {
                    out.push_str(" | …");
                    break;
                }
                if index > 0 {
                    out.push_str(" | ");
                }
                out.push_str(&enum_text(value));
            }
        }
        if let Some(value) = schema.get("const") {
            out.push_str(", const: ");
            out.push_str(&enum_text(value));
        }
    }

    /// Whether a `$ref` points inside the document (`Some(found)`) or
    /// elsewhere (`None`).
    fn lookup_static(&self, reference: &str) -> Option<bool> {
        let pointer = reference.strip_prefix('#')?;
        Some(pointer.is_empty() || self.root.pointer(pointer).is_some())
    }
}

fn reference_of(value: &Value) -> Option<&str> {
    value.get("$ref").and_then(Value::as_str)
}

/// The display name of a `$ref`: its last pointer segment, unescaped.
fn ref_name(reference: &str) -> String {
    let last = reference.rsplit('/').next().unwrap_or(reference);
    let name = if last.is_empty() { reference } else { last };
    name.replace("~1", "/").replace("~0", "~")
}

fn unresolved_text(reference: &str, external: bool) -> String {
    let label = if external { "external" } else { "unresolved" };
    format!("{label}: {}", truncate_chars(reference, MAX_NAME_CHARS))
}

fn unresolved_body(reference: &str, external: bool) -> Body {
    Body {
        description: None,
        content_types: Vec::new(),
        required: false,
        schema: vec![root_row(unresolved_text(reference, external))],
    }
}

fn root_row(schema: String) -> Field {
    Field {
        path: ROOT_FIELD_PATH.to_string(),
        schema,
        required: false,
        description: None,
    }
}

fn media_types(content: Option<&Value>) -> Vec<String> {
    content
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|content| content.keys())
        .take(MAX_CONTENT_TYPES)
        .map(|name| truncate_chars(name, MAX_NAME_CHARS))
        .collect()
}

/// The schema shown for a `content` map: JSON's when offered, since that is
/// what most readers will send, else the first that has one.
fn preferred_media_schema(content: &Value) -> Option<&Value> {
    let content = content.as_object()?;
    let with_schema = || {
        content
            .iter()
            .take(MAX_CONTENT_TYPES)
            .filter_map(|(name, media)| media.get("schema").map(|schema| (name, schema)))
    };
    with_schema()
        .find(|(name, _)| name.contains("json"))
        .or_else(|| with_schema().next())
        .map(|(_, schema)| schema)
}

fn flag(value: &Value, key: &str) -> bool {
    value.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn flag_in(map: &Map<String, Value>, key: &str) -> bool {
    map.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// A scalar as text (YAML turns `version: 1.0` into a number); nothing for
/// empty strings, mappings and lists.
fn text(value: Option<&Value>, max_chars: usize) -> Option<String> {
    let value = value?;
    if value.is_object() || value.is_array() || value.is_null() {
        return None;
    }
    let text = scalar_text(value);
    let trimmed = text.trim();
    (!trimmed.is_empty()).then(|| truncate_chars(trimmed, max_chars))
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        Value::Bool(flag) => flag.to_string(),
        Value::Null | Value::Array(_) | Value::Object(_) => String::new(),
    }
}

fn enum_text(value: &Value) -> String {
    let text = match value {
        Value::Null => "null".to_string(),
        Value::Array(_) => "[…]".to_string(),
        Value::Object(_) => "{…}".to_string(),
        other => scalar_text(other),
    };
    truncate_chars(&text, MAX_ENUM_VALUE_CHARS)
}

fn strings(value: Option<&Value>, max: usize) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .take(max)
        .map(|text| truncate_chars(text, MAX_NAME_CHARS))
        .collect()
}

/// Cuts `text` to at most `max_chars` characters, marking the cut with `…`.
fn truncate_chars(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text.to_string(),
        Some((cut, _)) => {
            let kept: String = text
                .get(..cut)
                .unwrap_or_default()
                .chars()
                .take(max_chars.saturating_sub(1))
                .collect();
            kept + "…"
        }
    }
}

// ---------------------------------------------------------------------------
// Highlighter
// ---------------------------------------------------------------------------

const KEY: &str = "tok-key";
const STRING: &str = "tok-string";
const NUMBER: &str = "tok-number";
const COMMENT: &str = "tok-comment";
const KEYWORD: &str = "tok-keyword";
const LITERAL: &str = "tok-literal";
const PUNCT: &str = "tok-punct";

const GRAPHQL_KEYWORDS: &[&str] = &[
    "type",
    "query",
    "mutation",
    "schema",
    "enum",
    "input",
    "interface",
    "union",
    "scalar",
    "fragment",
    "directive",
    "extend",
    "implements",
    "subscription",
    "on",
    "repeatable",
];

const PROTOBUF_KEYWORDS: &[&str] = &[
    "syntax",
    "edition",
    "package",
    "import",
    "public",
    "weak",
    "message",
    "service",
    "rpc",
    "returns",
    "enum",
    "option",
    "repeated",
    "optional",
    "required",
    "map",
    "oneof",
    "stream",
    "reserved",
    "extend",
    "extensions",
    "to",
    "max",
    "group",
    // Scalar types read as part of the language, like keywords.
    "double",
    "float",
    "int32",
    "int64",
    "uint32",
    "uint64",
    "sint32",
    "sint64",
    "fixed32",
    "fixed64",
    "sfixed32",
    "sfixed64",
    "bool",
    "string",
    "bytes",
];

/// Highlights a definition as HTML: every character escaped, tokens wrapped
/// in `<span class="tok-...">`. Spans never nest and never cross a line
/// break, so the output can be split into lines safely.
pub fn highlight(definition: &str, language: Language) -> String {
    let mut html = Html {
        out: String::with_capacity(definition.len().saturating_add(definition.len() / 2)),
    };
    match language {
        Language::Yaml => highlight_yaml(definition, &mut html),
        Language::Json => highlight_json(definition, &mut html),
        Language::GraphQl => highlight_graphql(definition, &mut html),
        Language::Protobuf => highlight_protobuf(definition, &mut html),
        Language::Plain => html.plain(definition),
    }
    html.out
}

struct Html {
    out: String,
}

impl Html {
    fn plain(&mut self, text: &str) {
        escape_into(&mut self.out, text);
    }

    /// Writes one token, one span per line so that no span crosses a line
    /// break (block comments and block strings span lines).
    fn token(&mut self, class: &str, text: &str) {
        for (index, line) in text.split('\n').enumerate() {
            if index > 0 {
                self.out.push('\n');
            }
            if line.is_empty() {
                continue;
            }
            self.out.push_str("<span class=\"");
            self.out.push_str(class);
            self.out.push_str("\">");
            escape_into(&mut self.out, line);
            self.out.push_str("</span>");
        }
    }
}

fn escape_into(out: &mut String, text: &str) {
    let mut start = 0;
    for (index, byte) in text.bytes().enumerate() {
        let entity = match byte {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        // The escaped bytes are ASCII, so these cuts are on char boundaries.
        out.push_str(text.get(start..index).unwrap_or_default());
        out.push_str(entity);
        start = index + 1;
    }
    out.push_str(text.get(start..).unwrap_or_default());
}

/// A position in one piece of text, with the untokenized run before it
/// pending as plain text.
struct Cursor<'t, 'h> {
    text: &'t str,
    bytes: &'t [u8],
    position: usize,
    plain_start: usize,
    html: &'h mut Html,
}

impl<'t, 'h> Cursor<'t, 'h> {
    fn new(text: &'t str, html: &'h mut Html) -> Self {
        Cursor {
            text,
            bytes: text.as_bytes(),
            position: 0,
            plain_start: 0,
            html,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.position).copied()
    }

    fn at(&self, index: usize) -> Option<u8> {
        self.bytes.get(index).copied()
    }

    fn slice(&self, start: usize, end: usize) -> &'t str {
        self.text.get(start..end).unwrap_or_default()
    }

    /// Leaves the next character as plain text.
    fn skip_char(&mut self) {
        self.position = char_end(self.bytes, self.position);
    }

    /// Emits the text from here to `end` as a token of `class`.
    fn emit(&mut self, class: &str, end: usize) {
        let end = end.clamp(self.position, self.bytes.len());
        if end == self.position {
            return;
        }
        self.flush();
        self.html.token(class, self.slice(self.position, end));
        self.position = end;
        self.plain_start = end;
    }

    fn flush(&mut self) {
        if self.plain_start < self.position {
            self.html.plain(self.slice(self.plain_start, self.position));
            self.plain_start = self.position;
        }
    }

    fn finish(&mut self) {
        self.position = self.bytes.len();
        self.flush();
    }
}

/// The index after the character starting at `index` (which is always a
/// char boundary, as every cut is made at an ASCII byte or after a whole
/// character).
fn char_end(bytes: &[u8], index: usize) -> usize {
    let width = match bytes.get(index) {
        None => 0,
        Some(byte) if *byte < 0x80 => 1,
        Some(byte) if *byte >= 0xF0 => 4,
        Some(byte) if *byte >= 0xE0 => 3,
        Some(_) => 2,
    };
    (index + width).min(bytes.len())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Escapes {
    /// `\"` escapes the quote (JSON, YAML double quotes, GraphQL, protobuf).
    Backslash,
    /// `''` stands for one quote (YAML single quotes).
    Doubled,
}

/// The index after a quoted string opening at `start`; at the line's end
/// (or the text's) when it is not closed there.
fn quoted_end(bytes: &[u8], start: usize, quote: u8, escapes: Escapes) -> usize {
    let mut index = start + 1;
    while let Some(&byte) = bytes.get(index) {
        if byte == b'\n' {
            return index;
        }
        if escapes == Escapes::Backslash && byte == b'\\' {
            // Never step past a line break, so a string cannot swallow lines.
            index += if bytes.get(index + 1) == Some(&b'\n') {
                1
            } else {
                2
            };
            continue;
        }
        if byte == quote {
            if escapes == Escapes::Doubled && bytes.get(index + 1) == Some(&quote) {
                index += 2;
                continue;
            }
            return index + 1;
        }
        index += 1;
    }
    bytes.len()
}

fn skip_blanks(bytes: &[u8], mut index: usize) -> usize {
    while matches!(bytes.get(index), Some(b' ' | b'\t')) {
        index += 1;
    }
    index
}

fn skip_whitespace(bytes: &[u8], mut index: usize) -> usize {
    while bytes.get(index).is_some_and(u8::is_ascii_whitespace) {
        index += 1;
    }
    index
}

fn identifier_end(bytes: &[u8], mut index: usize) -> usize {
    while bytes
        .get(index)
        .is_some_and(|byte| byte.is_ascii_alphanumeric() || *byte == b'_')
    {
        index += 1;
    }
    index
}

fn number_end(bytes: &[u8], mut index: usize) -> usize {
    while bytes.get(index).is_some_and(|byte| {
        byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'+' | b'-' | b'_')
    }) {
        index += 1;
    }
    index
}

fn line_end(bytes: &[u8], index: usize) -> usize {
    bytes
        .get(index..)
        .and_then(|rest| rest.iter().position(|byte| *byte == b'\n'))
        .map_or(bytes.len(), |offset| index + offset)
}

/// Whether `text` is a number in YAML 1.2's core schema (JSON numbers
/// included), so that `1.0.0` stays a string.
fn is_number(text: &str) -> bool {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    if matches!(
        unsigned,
        ".inf" | ".Inf" | ".INF" | ".nan" | ".NaN" | ".NAN"
    ) {
        return true;
    }
    if let Some(hex) = unsigned.strip_prefix("0x") {
        return !hex.is_empty() && hex.bytes().all(|byte| byte.is_ascii_hexdigit());
    }
    if let Some(octal) = unsigned.strip_prefix("0o") {
        return !octal.is_empty() && octal.bytes().all(|byte| matches!(byte, b'0'..=b'7'));
    }
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (
            unsigned.get(..at).unwrap_or_default(),
            Some(unsigned.get(at + 1..).unwrap_or_default()),
        ),
        None => (unsigned, None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    let mantissa_ok =
        (!whole.is_empty() || !fraction.is_empty()) && digits(whole) && digits(fraction);
    let exponent_ok = exponent.is_none_or(|exponent| {
        let exponent = exponent.strip_prefix(['-', '+']).unwrap_or(exponent);
        !exponent.is_empty() && digits(exponent)
    });
    mantissa_ok && exponent_ok
}

fn is_yaml_literal(text: &str) -> bool {
    matches!(
        text,
        "true" | "True" | "TRUE" | "false" | "False" | "FALSE" | "null" | "Null" | "NULL" | "~"
    )
}

// --- JSON ---

fn highlight_json(text: &str, html: &mut Html) {
    let mut cursor = Cursor::new(text, html);
    while let Some(byte) = cursor.peek() {
        let start = cursor.position;
        match byte {
            b'"' => {
                let end = quoted_end(cursor.bytes, start, b'"', Escapes::Backslash);
                let after = skip_whitespace(cursor.bytes, end);
                let class = if cursor.at(after) == Some(b':') {
                    KEY
                } else {
                    STRING
                };
                cursor.emit(class, end);
            }
            b'{' | b'}' | b'[' | b']' | b',' | b':' => cursor.emit(PUNCT, start + 1),
            b'-' | b'0'..=b'9' => {
                let end = number_end(cursor.bytes, start);
                if is_number(cursor.slice(start, end)) {
                    cursor.emit(NUMBER, end);
                } else {
                    cursor.position = end;
                }
            }
            b'a'..=b'z' | b'A'..=b'Z' => {
                let end = identifier_end(cursor.bytes, start);
                if matches!(cursor.slice(start, end), "true" | "false" | "null") {
                    cursor.emit(LITERAL, end);
                } else {
                    cursor.position = end;
                }
            }
            _ => cursor.skip_char(),
        }
    }
    cursor.finish();
}

// --- YAML ---

/// What carries over from one YAML line to the next.
#[derive(Default)]
struct YamlState {
    /// Inside a `|` or `>` block scalar: lines indented deeper than this
    /// column are its text.
    block_parent: Option<usize>,
    /// Open `[` and `{` of a flow collection that spans lines.
    flow_depth: usize,
}

fn highlight_yaml(text: &str, html: &mut Html) {
    let mut state = YamlState::default();
    for line in text.split_inclusive('\n') {
        let content = line.strip_suffix('\n').unwrap_or(line);
        let content_end = content.strip_suffix('\r').unwrap_or(content).len();
        yaml_line(
            content.get(..content_end).unwrap_or_default(),
            &mut state,
            html,
        );
        html.plain(line.get(content_end..).unwrap_or_default());
    }
}

fn yaml_line(line: &str, state: &mut YamlState, html: &mut Html) {
    let bytes = line.as_bytes();
    let indent = bytes.iter().take_while(|byte| **byte == b' ').count();
    if let Some(parent) = state.block_parent {
        if line.trim().is_empty() {
            html.plain(line);
            return;
        }
        if indent > parent {
            html.plain(line.get(..indent).unwrap_or_default());
            html.token(STRING, line.get(indent..).unwrap_or_default());
            return;
        }
        state.block_parent = None;
    }
    let mut cursor = Cursor::new(line, html);
    cursor.position = indent;
    let mut parent = indent;
    if state.flow_depth == 0 {
        let rest = cursor.slice(indent, bytes.len());
        if (rest.starts_with("---") || rest.starts_with("..."))
            && matches!(cursor.at(indent + 3), None | Some(b' ' | b'\t'))
        {
            cursor.emit(PUNCT, indent + 3);
        }
        // Sequence entries (`- `, possibly nested as `- - `) and explicit keys.
        while matches!(cursor.peek(), Some(b'-' | b'?'))
            && matches!(cursor.at(cursor.position + 1), None | Some(b' ' | b'\t'))
        {
            // A block scalar entry (`- |`) is indented relative to its dash.
            parent = cursor.position;
            cursor.emit(PUNCT, cursor.position + 1);
            cursor.position = skip_blanks(bytes, cursor.position);
        }
        if let Some((key_end, colon)) = yaml_key(bytes, cursor.position) {
            parent = cursor.position;
            cursor.emit(KEY, key_end);
            cursor.position = colon;
            cursor.emit(PUNCT, colon + 1);
        }
    }
    yaml_value(&mut cursor, state, parent);
    cursor.finish();
}

/// Where a block mapping key starting at `start` ends, and where its colon
/// is, if the line has one.
fn yaml_key(bytes: &[u8], start: usize) -> Option<(usize, usize)> {
    let first = *bytes.get(start)?;
    if first == b'"' || first == b'\'' {
        let escapes = if first == b'"' {
            Escapes::Backslash
        } else {
            Escapes::Doubled
        };
        let end = quoted_end(bytes, start, first, escapes);
        let colon = skip_blanks(bytes, end);
        return (end > start + 1
            && bytes.get(end - 1) == Some(&first)
            && is_mapping_colon(bytes, colon))
        .then_some((end, colon));
    }
    if b"[]{},#&*!|>%@`".contains(&first) {
        return None;
    }
    let mut index = start;
    while let Some(&byte) = bytes.get(index) {
        if byte == b'#' && index > start && matches!(bytes.get(index - 1), Some(b' ' | b'\t')) {
            return None;
        }
        if is_mapping_colon(bytes, index) {
            let mut key_end = index;
            while key_end > start && matches!(bytes.get(key_end - 1), Some(b' ' | b'\t')) {
                key_end -= 1;
            }
            return Some((key_end, index));
        }
        index += 1;
    }
    None
}

/// A `:` that separates a key from its value: followed by a blank or the end.
fn is_mapping_colon(bytes: &[u8], index: usize) -> bool {
    bytes.get(index) == Some(&b':') && matches!(bytes.get(index + 1), None | Some(b' ' | b'\t'))
}

fn yaml_value(cursor: &mut Cursor<'_, '_>, state: &mut YamlState, parent: usize) {
    let bytes = cursor.bytes;
    // Block scalar indicators count only before any other content.
    let mut at_value_start = true;
    while let Some(byte) = cursor.peek() {
        let start = cursor.position;
        let in_flow = state.flow_depth > 0;
        let after_blank = start == 0 || matches!(cursor.at(start - 1), Some(b' ' | b'\t'));
        match byte {
            b' ' | b'\t' => {
                cursor.position = skip_blanks(bytes, start);
                continue;
            }
            b'#' if after_blank => {
                cursor.emit(COMMENT, bytes.len());
                break;
            }
            b'"' | b'\'' => {
                let escapes = if byte == b'"' {
                    Escapes::Backslash
                } else {
                    Escapes::Doubled
                };
                let end = quoted_end(bytes, start, byte, escapes);
                let class = if in_flow && cursor.at(skip_blanks(bytes, end)) == Some(b':') {
                    KEY
                } else {
                    STRING
                };
                cursor.emit(class, end);
            }
            b'[' | b'{' => {
                state.flow_depth = state.flow_depth.saturating_add(1);
                cursor.emit(PUNCT, start + 1);
            }
            b']' | b'}' => {
                state.flow_depth = state.flow_depth.saturating_sub(1);
                cursor.emit(PUNCT, start + 1);
            }
            b',' if in_flow => cursor.emit(PUNCT, start + 1),
            b':' if in_flow => cursor.emit(PUNCT, start + 1),
            b'|' | b'>' if !in_flow && at_value_start => {
                let mut end = start + 1;
                while matches!(cursor.at(end), Some(b'+' | b'-' | b'0'..=b'9')) {
                    end += 1;
                }
                cursor.emit(PUNCT, end);
                state.block_parent = Some(parent);
            }
            b'&' | b'*' | b'!' if after_blank || in_flow => {
                let mut end = start + 1;
                while cursor.at(end).is_some_and(|byte| {
                    !matches!(byte, b' ' | b'\t' | b',' | b'[' | b']' | b'{' | b'}')
                }) {
                    end = char_end(bytes, end);
                }
                cursor.emit(PUNCT, end);
                // An anchor or tag may precede a block scalar; an alias is the value.
                if byte == b'*' {
                    at_value_start = false;
                }
                continue;
            }
            _ => {
                let end = yaml_plain_end(bytes, start, in_flow);
                let mut trimmed = end;
                while trimmed > start && matches!(cursor.at(trimmed - 1), Some(b' ' | b'\t')) {
                    trimmed -= 1;
                }
                let word = cursor.slice(start, trimmed);
                let class = if in_flow && cursor.at(skip_blanks(bytes, trimmed)) == Some(b':') {
                    KEY
                } else if is_yaml_literal(word) {
                    LITERAL
                } else if is_number(word) {
                    NUMBER
                } else {
                    STRING
                };
                cursor.emit(class, trimmed);
                cursor.position = end;
            }
        }
        at_value_start = false;
    }
}

/// Where an unquoted scalar starting at `start` ends: at a comment, and
/// inside a flow collection also at `,[]{}` and a `: `.
fn yaml_plain_end(bytes: &[u8], start: usize, in_flow: bool) -> usize {
    let mut index = start;
    while let Some(&byte) = bytes.get(index) {
        if index > start {
            if byte == b'#' && matches!(bytes.get(index - 1), Some(b' ' | b'\t')) {
                break;
            }
            if in_flow
                && (matches!(byte, b',' | b'[' | b']' | b'{' | b'}')
                    || (byte == b':'
                        && matches!(
                            bytes.get(index + 1),
                            None | Some(b' ' | b'\t' | b',' | b']' | b'}')
                        )))
            {
                break;
            }
        }
        index = char_end(bytes, index);
    }
    index
}

// --- GraphQL ---

fn highlight_graphql(text: &str, html: &mut Html) {
    let mut cursor = Cursor::new(text, html);
    let bytes = cursor.bytes;
    while let Some(byte) = cursor.peek() {
        let start = cursor.position;
        match byte {
            b'#' => cursor.emit(COMMENT, line_end(bytes, start)),
            b'"' if bytes.get(start..start + 3) == Some(b"\"\"\"".as_slice()) => {
                cursor.emit(STRING, block_string_end(bytes, start + 3));
            }
            b'"' => cursor.emit(STRING, quoted_end(bytes, start, b'"', Escapes::Backslash)),
            b'@' if cursor.at(start + 1).is_some_and(is_identifier_start) => {
                cursor.emit(KEYWORD, identifier_end(bytes, start + 1));
            }
            b'.' if bytes.get(start..start + 3) == Some(b"...".as_slice()) => {
                cursor.emit(PUNCT, start + 3);
            }
            b'{' | b'}' | b'(' | b')' | b'[' | b']' | b':' | b'!' | b'=' | b'|' | b'&' | b'$'
            | b',' => cursor.emit(PUNCT, start + 1),
            b'-' | b'0'..=b'9' => {
                let end = number_end(bytes, start);
                if is_number(cursor.slice(start, end)) {
                    cursor.emit(NUMBER, end);
                } else {
                    cursor.position = end;
                }
            }
            _ if is_identifier_start(byte) => {
                let end = identifier_end(bytes, start);
                let word = cursor.slice(start, end);
                let next = cursor.at(skip_whitespace(bytes, end));
                // A name before `:` or `(` is a field or an argument: even
                // `type` is a common field name.
                let class = if matches!(next, Some(b':' | b'(')) {
                    Some(KEY)
                } else if GRAPHQL_KEYWORDS.contains(&word) {
                    Some(KEYWORD)
                } else if matches!(word, "true" | "false" | "null") {
                    Some(LITERAL)
                } else {
                    None
                };
                match class {
                    Some(class) => cursor.emit(class, end),
                    None => cursor.position = end,
                }
            }
            _ => cursor.skip_char(),
        }
    }
    cursor.finish();
}

/// The index after the `"""` closing a block string whose text starts at
/// `index`; the text's end when it is never closed.
fn block_string_end(bytes: &[u8], mut index: usize) -> usize {
    while let Some(&byte) = bytes.get(index) {
        if byte == b'\\' && bytes.get(index + 1..index + 4) == Some(b"\"\"\"".as_slice()) {
            index += 4;
            continue;
        }
        if bytes.get(index..index + 3) == Some(b"\"\"\"".as_slice()) {
            return index + 3;
        }
        index += 1;
    }
    bytes.len()
}

fn is_identifier_start(byte: u8) -> bool {
    byte.is_ascii_alphabetic() || byte == b'_'
}

// --- Protobuf ---

fn highlight_protobuf(text: &str, html: &mut Html) {
    let mut cursor = Cursor::new(text, html);
    let bytes = cursor.bytes;
    while let Some(byte) = cursor.peek() {
        let start = cursor.position;
        match byte {
            b'/' if cursor.at(start + 1) == Some(b'/') => {
                cursor.emit(COMMENT, line_end(bytes, start));
            }
            b'/' if cursor.at(start + 1) == Some(b'*') => {
                let end = bytes
                    .get(start + 2..)
                    .and_then(|rest| rest.windows(2).position(|pair| pair == b"*/"))
                    .map_or(bytes.len(), |offset| start + 2 + offset + 2);
                cursor.emit(COMMENT, end);
            }
            b'"' | b'\'' => cursor.emit(STRING, quoted_end(bytes, start, byte, Escapes::Backslash)),
            b'{' | b'}' | b'(' | b')' | b'[' | b']' | b'<' | b'>' | b';' | b'=' | b',' | b'.' => {
                cursor.emit(PUNCT, start + 1);
            }
            b'-' | b'0'..=b'9' => {
                let end = number_end(bytes, start);
                if is_number(cursor.slice(start, end)) {
                    cursor.emit(NUMBER, end);
                } else if byte == b'-' {
                    cursor.emit(PUNCT, start + 1);
                } else {
                    cursor.position = end;
                }
            }
            _ if is_identifier_start(byte) => {
                let end = identifier_end(bytes, start);
                let word = cursor.slice(start, end);
                let class = if PROTOBUF_KEYWORDS.contains(&word) {
                    Some(KEYWORD)
                } else if matches!(word, "true" | "false") {
                    Some(LITERAL)
                } else if cursor.at(skip_whitespace(bytes, end)) == Some(b'=') {
                    // A field, enum value or option name: `string name = 1;`.
                    Some(KEY)
                } else {
                    None
                };
                match class {
                    Some(class) => cursor.emit(class, end),
                    None => cursor.position = end,
                }
            }
            _ => cursor.skip_char(),
        }
    }
    cursor.finish();
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;

    const CLASSES: [&str; 7] = [KEY, STRING, NUMBER, COMMENT, KEYWORD, LITERAL, PUNCT];

    /// The Backstage examples corpus, which sits beside the repository.
    fn corpus(relative: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/corpus/backstage")
            .join(relative)
    }

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path)
            .unwrap_or_else(|error| panic!("cannot read corpus file {}: {error}", path.display()))
    }

    /// An API entity's `spec.definition`, inline or through `$text` to a
    /// file beside the entity.
    fn definition_of(entity: &str) -> String {
        let path = corpus(entity);
        let entity: Value = serde_saphyr::from_str(&read(&path)).expect("entity parses");
        match entity.pointer("/spec/definition") {
            Some(Value::String(text)) => text.clone(),
            Some(definition) => {
                let file = definition["$text"].as_str().expect("a $text placeholder");
                let directory = path.parent().expect("entity has a directory");
                read(&directory.join(file))
            }
            None => panic!("{} has no spec.definition", path.display()),
        }
    }

    fn find<'a>(summary: &'a ApiSummary, method: &str, path: &str) -> &'a Operation {
        summary
            .operations
            .iter()
            .find(|operation| operation.method == method && operation.path == path)
            .unwrap_or_else(|| panic!("no {method} {path}"))
    }

    fn field<'a>(fields: &'a [Field], path: &str) -> &'a Field {
        fields
            .iter()
            .find(|field| field.path == path)
            .unwrap_or_else(|| panic!("no field {path:?} in {fields:#?}"))
    }

    fn response<'a>(operation: &'a Operation, status: &str) -> &'a Response {
        operation
            .responses
            .iter()
            .find(|response| response.status == status)
            .unwrap_or_else(|| panic!("no response {status}"))
    }

    #[test]
    fn corpus_petstore_inline_definition() {
        let summary = summarize_openapi(&definition_of(
            "catalog-model-examples/apis/petstore-api.yaml",
        ))
        .expect("petstore summarizes");
        assert_eq!(summary.title.as_deref(), Some("Swagger Petstore"));
        assert_eq!(summary.version.as_deref(), Some("1.0.0"));
        assert_eq!(summary.servers, ["http://petstore.swagger.io/v1"]);
        let pairs: Vec<(&str, &str)> = summary
            .operations
            .iter()
            .map(|operation| (operation.method.as_str(), operation.path.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("GET", "/pets"),
                ("POST", "/pets"),
                ("GET", "/pets/{petId}")
            ]
        );

        let list = find(&summary, "GET", "/pets");
        assert_eq!(list.operation_id.as_deref(), Some("listPets"));
        assert_eq!(list.tags, ["pets"]);
        let limit = &list.parameters[0];
        assert_eq!(limit.name, "limit");
        assert_eq!(limit.location, "query");
        assert!(!limit.required);
        assert_eq!(limit.schema, "integer (int32)");
        let ok = response(list, "200");
        assert_eq!(ok.content_types, ["application/json"]);
        // The root row names the `$ref`; its items' rows show it is an array.
        assert_eq!(field(&ok.schema, ROOT_FIELD_PATH).schema, "Pets");
        let id = field(&ok.schema, "[].id");
        assert_eq!(id.schema, "integer (int64)");
        assert!(id.required);
        assert!(!field(&ok.schema, "[].tag").required);
        // `default` sorts after the numeric statuses.
        assert_eq!(
            list.responses
                .last()
                .map(|response| response.status.as_str()),
            Some("default")
        );
        let error = response(list, "default");
        assert_eq!(field(&error.schema, "code").schema, "integer (int32)");

        let show = find(&summary, "GET", "/pets/{petId}");
        let pet_id = &show.parameters[0];
        assert_eq!((pet_id.location.as_str(), pet_id.required), ("path", true));
        assert_eq!(
            pet_id.description.as_deref(),
            Some("The id of the pet to retrieve")
        );
        assert!(find(&summary, "POST", "/pets").request_body.is_none());
    }

    #[test]
    fn corpus_petstore_31_definition() {
        let summary = summarize_openapi(&read(&corpus(
            "catalog-model-examples/apis/petstore.oas.yaml",
        )))
        .expect("petstore 3.1 summarizes");
        assert_eq!(
            summary.title.as_deref(),
            Some("Swagger Petstore - OpenAPI 3.1")
        );
        assert_eq!(summary.operations.len(), 19);
        // Sorted by path, then POST before PUT.
        let first: Vec<(&str, &str)> = summary
            .operations
            .iter()
            .take(3)
            .map(|operation| (operation.method.as_str(), operation.path.as_str()))
            .collect();
        assert_eq!(
            first,
            [
                ("POST", "/pet"),
                ("PUT", "/pet"),
                ("GET", "/pet/findByStatus")
            ]
        );
        let update = find(&summary, "PUT", "/pet");
        let body = update.request_body.as_ref().expect("a request body");
        assert!(body.required);
        let mut content_types = body.content_types.clone();
        content_types.sort();
        assert_eq!(
            content_types,
            [
                "application/json",
                "application/x-www-form-urlencoded",
                "application/xml"
            ]
        );
        assert!(field(&body.schema, "name").required);
        assert_eq!(field(&body.schema, "category").schema, "Category");
        assert_eq!(field(&body.schema, "category.id").schema, "integer (int64)");
        assert_eq!(field(&body.schema, "photoUrls").schema, "array of string");
        assert_eq!(field(&body.schema, "tags").schema, "array of Tag");
        assert_eq!(field(&body.schema, "tags[].name").schema, "string");
        assert_eq!(
            field(&body.schema, "status").schema,
            "string, enum: available | pending | sold"
        );
        assert_eq!(
            field(&body.schema, "status").description.as_deref(),
            Some("pet status in the store")
        );
        let statuses: Vec<&str> = update
            .responses
            .iter()
            .map(|response| response.status.as_str())
            .collect();
        assert_eq!(statuses, ["200", "400", "404", "405"]);

        let delete = find(&summary, "DELETE", "/pet/{petId}");
        let locations: Vec<&str> = delete
            .parameters
            .iter()
            .map(|parameter| parameter.location.as_str())
            .collect();
        assert!(locations.contains(&"header") && locations.contains(&"path"));
    }

    #[test]
    fn corpus_webhooks_through_text_placeholder() {
        let summary = summarize_openapi(&definition_of(
            "catalog-model-examples/apis/petstore-webhook-api.yaml",
        ))
        .expect("webhook example summarizes");
        assert!(summary.operations.is_empty());
        let [hook] = summary.webhooks.as_slice() else {
            panic!("one webhook expected: {:?}", summary.webhooks);
        };
        assert_eq!(
            (hook.method.as_str(), hook.path.as_str()),
            ("POST", "newPet")
        );
        let body = hook.request_body.as_ref().expect("a body");
        assert_eq!(
            body.description.as_deref(),
            Some("Information about a new pet in the system")
        );
        assert!(field(&body.schema, "id").required);
        assert_eq!(field(&body.schema, "id").schema, "integer (int64)");
    }

    const SWAGGER: &str = r##"
swagger: "2.0"
info: {title: Legacy Pets, version: 2.1}
host: pets.example.com
basePath: /v2
schemes: [https, http]
consumes: [application/json]
produces: [application/json]
paths:
  /pets/{petId}:
    parameters:
      - {name: petId, in: path, type: string, format: uuid}
      - {name: verbose, in: query, type: boolean, description: path level}
    get:
      operationId: getPet
      parameters:
        - {name: verbose, in: query, type: boolean, description: operation level}
        - name: fields
          in: query
          type: array
          items: {type: string, enum: [name, tag]}
      responses:
        200:
          description: The pet
          schema: {$ref: '#/definitions/Pet'}
        404: {$ref: '#/responses/NotFound'}
    post:
      parameters:
        - $ref: '#/parameters/Pet'
      responses:
        default: {description: Anything}
  /pets/{petId}/photo:
    put:
      consumes: [multipart/form-data]
      parameters:
        - {name: petId, in: path, type: string, required: true}
        - {name: file, in: formData, type: file, required: true}
        - {name: caption, in: formData, type: string}
      responses:
        204: {description: Stored}
parameters:
  Pet:
    name: pet
    in: body
    required: true
    schema: {$ref: '#/definitions/Pet'}
responses:
  NotFound:
    description: No such pet
    schema: {$ref: '#/definitions/Error'}
definitions:
  Pet:
    type: object
    required: [name]
    properties:
      name: {type: string}
      age: {type: integer, x-nullable: true}
      labels:
        type: object
        additionalProperties: {type: string}
  Error:
    properties:
      message: {type: string}
"##;

    #[test]
    fn swagger_2_definition() {
        let summary = summarize_openapi(SWAGGER).expect("swagger summarizes");
        assert_eq!(summary.version.as_deref(), Some("2.1"));
        assert_eq!(
            summary.servers,
            ["https://pets.example.com/v2", "http://pets.example.com/v2"]
        );
        let get = find(&summary, "GET", "/pets/{petId}");
        let names: Vec<(&str, &str)> = get
            .parameters
            .iter()
            .map(|parameter| (parameter.name.as_str(), parameter.location.as_str()))
            .collect();
        assert_eq!(
            names,
            [("petId", "path"), ("verbose", "query"), ("fields", "query")]
        );
        // Path parameters are required even when the definition forgets to say so.
        assert!(get.parameters[0].required);
        assert_eq!(get.parameters[0].schema, "string (uuid)");
        assert_eq!(
            get.parameters[1].description.as_deref(),
            Some("operation level")
        );
        assert_eq!(
            get.parameters[2].schema,
            "array of string, enum: name | tag"
        );
        // Unquoted `200:` keys are statuses too.
        let ok = response(get, "200");
        assert_eq!(ok.content_types, ["application/json"]);
        assert!(field(&ok.schema, "name").required);
        assert_eq!(field(&ok.schema, "age").schema, "integer, nullable");
        assert_eq!(field(&ok.schema, "labels").schema, "map of string");
        let missing = response(get, "404");
        assert_eq!(missing.description.as_deref(), Some("No such pet"));
        assert_eq!(field(&missing.schema, "message").schema, "string");

        let post = find(&summary, "POST", "/pets/{petId}");
        assert_eq!(post.parameters[2].location, "body");
        let body = post
            .request_body
            .as_ref()
            .expect("body parameter becomes the body");
        assert!(body.required);
        assert_eq!(body.content_types, ["application/json"]);
        assert!(field(&body.schema, "name").required);

        let upload = find(&summary, "PUT", "/pets/{petId}/photo");
        let form = upload
            .request_body
            .as_ref()
            .expect("form data becomes the body");
        assert_eq!(form.content_types, ["multipart/form-data"]);
        assert_eq!(field(&form.schema, "file").schema, "file");
        assert!(field(&form.schema, "file").required);
        assert!(!field(&form.schema, "caption").required);
    }

    #[test]
    fn path_level_parameters_merge_with_operation_ones() {
        let definition = r#"
openapi: 3.0.3
info: {title: Merge, version: "1"}
paths:
  /items/{id}:
    parameters:
      - {name: id, in: path, schema: {type: integer}}
      - {name: expand, in: query, schema: {type: boolean}}
      - {name: expand, in: header, schema: {type: string}}
    delete:
      parameters:
        - {name: expand, in: query, required: true, description: mine, schema: {type: string}}
        - {name: dry-run, in: query, schema: {type: boolean}}
      responses: {'204': {description: Gone}}
"#;
        let summary = summarize_openapi(definition).expect("summarizes");
        let delete = find(&summary, "DELETE", "/items/{id}");
        let seen: Vec<(&str, &str, &str)> = delete
            .parameters
            .iter()
            .map(|parameter| {
                (
                    parameter.name.as_str(),
                    parameter.location.as_str(),
                    parameter.schema.as_str(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("id", "path", "integer"),
                ("expand", "query", "string"),
                ("expand", "header", "string"),
                ("dry-run", "query", "boolean"),
            ]
        );
        assert!(delete.parameters[1].required);
        assert_eq!(delete.parameters[1].description.as_deref(), Some("mine"));
    }

    #[test]
    fn schema_summaries() {
        let definition = r##"
openapi: 3.1.0
info: {title: Shapes, version: "1"}
paths:
  /shapes:
    post:
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                id: {type: string, format: uuid, readOnly: true}
                note: {type: [string, "null"]}
                legacy: {type: string, nullable: true, deprecated: true}
                level: {type: integer, enum: [1, 2, 3]}
                many: {type: string, enum: [a, b, c, d, e, f, g, h, i, j, k, l]}
                pet: {oneOf: [{$ref: '#/components/schemas/Cat'}, {$ref: '#/components/schemas/Dog'}]}
                either: {anyOf: [{type: string}, {type: integer}]}
                both: {allOf: [{$ref: '#/components/schemas/Cat'}, {$ref: '#/components/schemas/Dog'}]}
                alias: {allOf: [{$ref: '#/components/schemas/Cat'}]}
                attributes: {type: object, additionalProperties: {type: array, items: {type: number}}}
                free: {type: object, additionalProperties: true}
                mixed: {type: [string, integer]}
                anything: {}
                fixed: {const: on}
                grid: {type: array, items: {type: array, items: {$ref: '#/components/schemas/Cat'}}}
                missing: {$ref: '#/components/schemas/Nope'}
      responses:
        '200': {description: OK}
components:
  schemas:
    Cat: {type: object, properties: {meow: {type: boolean}}}
    Dog: {type: object, properties: {bark: {type: boolean}}}
"##;
        let summary = summarize_openapi(definition).expect("summarizes");
        let body = find(&summary, "POST", "/shapes")
            .request_body
            .as_ref()
            .expect("a body");
        let expect = |path: &str, schema: &str| {
            assert_eq!(field(&body.schema, path).schema, schema, "field {path}");
        };
        expect("id", "string (uuid), read-only");
        expect("note", "string, nullable");
        expect("legacy", "string, nullable, deprecated");
        expect("level", "integer, enum: 1 | 2 | 3");
        expect(
            "many",
            "string, enum: a | b | c | d | e | f | g | h | i | j | …",
        );
        expect("pet", "one of: Cat | Dog");
        expect("either", "any of: string | integer");
        expect("both", "all of: Cat & Dog");
        expect("alias", "Cat");
        expect("attributes", "map of array of number");
        expect("free", "map of any");
        expect("mixed", "string | integer");
        expect("anything", "any");
        expect("fixed", "value, const: on");
        expect("grid", "array of array of Cat");
        expect("grid[][].meow", "boolean");
        expect("missing", "unresolved: #/components/schemas/Nope");
        // allOf parts merge into the fields of the composed object.
        expect("both.meow", "boolean");
        expect("both.bark", "boolean");
    }

    #[test]
    fn recursive_refs_terminate() {
        let definition = r##"
openapi: 3.0.0
info: {title: Trees, version: "1"}
paths:
  /tree:
    get:
      responses:
        '200':
          description: A tree
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Node'}
        '201':
          description: Ping-pong
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Ping'}
        '202':
          description: A loop of bare refs
          content:
            application/json:
              schema: {$ref: '#/components/schemas/LoopA'}
        '203':
          description: Extends itself
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Derived'}
components:
  schemas:
    Node:
      type: object
      properties:
        name: {type: string}
        parent: {$ref: '#/components/schemas/Node'}
        children: {type: array, items: {$ref: '#/components/schemas/Node'}}
    Ping:
      properties:
        pong: {$ref: '#/components/schemas/Pong'}
    Pong:
      properties:
        ping: {$ref: '#/components/schemas/Ping'}
    LoopA: {$ref: '#/components/schemas/LoopB'}
    LoopB: {$ref: '#/components/schemas/LoopA'}
    Derived:
      allOf:
        - $ref: '#/components/schemas/Derived'
        - properties:
            own: {type: string}
"##;
        let summary = summarize_openapi(definition).expect("summarizes");
        let get = find(&summary, "GET", "/tree");
        let tree = &response(get, "200").schema;
        assert_eq!(field(tree, "parent").schema, "Node (recursive)");
        assert_eq!(field(tree, "children").schema, "array of Node (recursive)");
        assert!(tree.iter().all(|row| !row.path.starts_with("parent.")));
        assert!(tree.iter().all(|row| !row.path.starts_with("children[]")));

        let ping = &response(get, "201").schema;
        assert_eq!(field(ping, "pong").schema, "Pong");
        assert_eq!(field(ping, "pong.ping").schema, "Ping (recursive)");
        assert!(ping.iter().all(|row| row.path.split('.').count() <= 2));

        let looping = &response(get, "202").schema;
        assert_eq!(looping.len(), 1);
        assert_eq!(field(looping, ROOT_FIELD_PATH).schema, "LoopA");

        let derived = &response(get, "203").schema;
        assert_eq!(field(derived, "own").schema, "string");
    }

    #[test]
    fn deep_nesting_stops_at_the_depth_limit() {
        // 20 levels of inline objects: `a.a.a...`.
        let mut schema = String::from("{type: string}");
        for _ in 0..20 {
            schema = format!("{{type: object, properties: {{a: {schema}}}}}");
        }
        let definition = format!(
            "openapi: 3.0.0\ninfo: {{title: Deep, version: '1'}}\npaths:\n  /deep:\n    get:\n      responses:\n        '200':\n          description: deep\n          content:\n            application/json:\n              schema: {schema}\n"
        );
        let summary = summarize_openapi(&definition).expect("summarizes");
        let rows = &summary.operations[0].responses[0].schema;
        let deepest = rows
            .iter()
            .map(|row| row.path.split('.').count())
            .max()
            .expect("rows");
        assert_eq!(deepest, MAX_FIELD_DEPTH);
    }

    #[test]
    fn remote_refs_are_shown_not_fetched() {
        let definition = r##"
openapi: 3.0.0
info: {title: Remote, version: "1"}
paths:
  /remote:
    post:
      parameters:
        - $ref: 'https://schemas.example.com/params.yaml#/Limit'
        - $ref: '#/components/parameters/Missing'
      requestBody: {$ref: 'bodies.yaml#/Pet'}
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema:
                properties:
                  owner: {$ref: 'https://schemas.example.com/owner.json'}
                  pet: {$ref: './pet.yaml#/Pet'}
        '500': {$ref: 'http://errors.example.com/error.yaml'}
"##;
        let summary = summarize_openapi(definition).expect("summarizes");
        let post = find(&summary, "POST", "/remote");
        assert_eq!(
            post.parameters[0].schema,
            "external: https://schemas.example.com/params.yaml#/Limit"
        );
        assert_eq!(
            post.parameters[1].schema,
            "unresolved: #/components/parameters/Missing"
        );
        let body = post.request_body.as_ref().expect("body");
        assert_eq!(body.schema[0].schema, "external: bodies.yaml#/Pet");
        let ok = &response(post, "200").schema;
        assert_eq!(
            field(ok, "owner").schema,
            "external: https://schemas.example.com/owner.json"
        );
        assert_eq!(field(ok, "pet").schema, "external: ./pet.yaml#/Pet");
        assert_eq!(ok.len(), 2);
        assert_eq!(
            response(post, "500").schema[0].schema,
            "external: http://errors.example.com/error.yaml"
        );
    }

    #[test]
    fn malformed_yaml_is_a_parse_error_with_a_line() {
        let error = summarize_openapi("openapi: 3.0.0\ninfo:\n  title: [unclosed\npaths: {}\n")
            .expect_err("malformed");
        let ApiDocError::Parse {
            line: Some(line), ..
        } = &error
        else {
            panic!("expected a parse error with a line, got {error:?}");
        };
        assert!(*line >= 3, "line {line}");
        assert!(error.to_string().starts_with("line "), "{error}");

        let error = summarize_openapi("openapi: 3.0.0\n  bad: indentation\n").expect_err("bad");
        assert!(
            matches!(error, ApiDocError::Parse { line: Some(_), .. }),
            "{error:?}"
        );
    }

    #[test]
    fn documents_that_are_not_openapi() {
        let asyncapi = definition_of("catalog-model-examples/apis/streetlights-api.yaml");
        let error = summarize_openapi(&asyncapi).expect_err("AsyncAPI is not OpenAPI");
        assert_eq!(
            error,
            ApiDocError::NotOpenApi("it is an AsyncAPI document".to_string())
        );
        for text in [
            "",
            "- a\n- b\n",
            "just text",
            "name: x\n",
            "openapi: 2.0\n",
            "swagger: '1.2'\n",
        ] {
            assert!(
                matches!(summarize_openapi(text), Err(ApiDocError::NotOpenApi(_))),
                "{text:?}"
            );
        }
        // JSON is YAML, and an unquoted version is a number.
        let summary = summarize_openapi(r#"{"openapi": 3.0, "info": {"title": "J"}}"#)
            .expect("JSON summarizes");
        assert_eq!(summary.title.as_deref(), Some("J"));
        let too_large = "#".repeat(MAX_DEFINITION_BYTES + 1);
        assert!(matches!(
            summarize_openapi(&too_large),
            Err(ApiDocError::TooLarge { .. })
        ));
    }

    #[test]
    fn yaml_bombs_are_refused() {
        // "Billion laughs": each level repeats the previous one ten times.
        let mut bomb = String::from(
            "openapi: 3.0.0\nl0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
        );
        for level in 1..10 {
            let previous = format!("*l{}", level - 1);
            let items = [previous.as_str(); 10].join(", ");
            bomb.push_str(&format!("l{level}: &l{level} [{items}]\n"));
        }
        assert!(matches!(
            summarize_openapi(&bomb),
            Err(ApiDocError::Parse { .. })
        ));

        let deep = format!(
            "openapi: 3.0.0\ninfo: {}{}\n",
            "[".repeat(200),
            "]".repeat(200)
        );
        assert!(matches!(
            summarize_openapi(&deep),
            Err(ApiDocError::Parse { .. })
        ));
    }

    #[test]
    fn output_is_capped() {
        let mut definition =
            String::from("openapi: 3.0.0\ninfo: {title: Big, version: '1'}\npaths:\n");
        for index in 0..(MAX_OPERATIONS + 100) {
            definition.push_str(&format!(
                "  /p{index:04}:\n    get:\n      responses:\n        '200': {{$ref: '#/components/responses/Wide'}}\n"
            ));
        }
        definition.push_str("components:\n  responses:\n    Wide:\n      description: wide\n      content:\n        application/json:\n          schema:\n            properties:\n");
        for index in 0..300 {
            definition.push_str(&format!("              f{index:03}: {{type: string}}\n"));
        }
        let summary = summarize_openapi(&definition).expect("summarizes");
        assert_eq!(summary.operations.len(), MAX_OPERATIONS);
        assert_eq!(summary.omitted_operations, 100);
        assert_eq!(summary.operations[0].path, "/p0000");
        let first = &summary.operations[0].responses[0].schema;
        assert_eq!(first.len(), MAX_FIELDS_PER_SCHEMA + 1);
        assert_eq!(
            first.last().map(|row| row.path.as_str()),
            Some(MORE_FIELDS_PATH)
        );
        let total: usize = summary
            .operations
            .iter()
            .map(|operation| operation.responses[0].schema.len())
            .sum();
        // The whole-summary cap, plus one "more" row per schema.
        assert!(total <= MAX_TOTAL_FIELDS + MAX_OPERATIONS, "{total}");
        let last = &summary.operations[MAX_OPERATIONS - 1].responses[0].schema;
        assert_eq!(last.len(), 1);
        assert_eq!(last[0].path, MORE_FIELDS_PATH);
    }

    #[test]
    fn odd_shapes_do_not_panic() {
        let documents = [
            "openapi: 3.0.0\npaths: [1, 2]\n",
            "openapi: 3.0.0\npaths:\n  /a: 5\n  /b: {get: 7, post: [x]}\n",
            "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      parameters: {a: 1}\n      responses: [1]\n      tags: [1, {a: b}, ok]\n",
            "openapi: 3.0.0\npaths:\n  /a:\n    $ref: '#/paths/~1a'\n",
            "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      parameters: [{$ref: 5}, 7, {name: [x], in: {}}]\n      requestBody: {$ref: '#'}\n      responses: {'200': {$ref: '#/paths'}}\n",
            "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      responses:\n        '200':\n          content:\n            app/json: {schema: {$ref: '#'}}\n",
            "openapi: 3.0.0\ninfo: {title: [a], version: {b: c}, description: 12}\nservers: [{url: 5}, 'x']\n",
            "swagger: 2.0\nhost: [x]\nschemes: 4\npaths:\n  /a:\n    get:\n      parameters: [{in: body, schema: 7}, {in: formData}]\n",
            "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      responses:\n        '200':\n          content:\n            app/json:\n              schema: {type: array, items: {items: {items: {additionalProperties: {properties: {x: {enum: [[1], {a: 1}, null]}}}}}}}\n",
            "openapi: '3.1'\ncomponents: {}\n",
        ];
        for document in documents {
            let result = summarize_openapi(document);
            assert!(result.is_ok(), "{document:?}: {result:?}");
        }
        let summary = summarize_openapi(documents[3]).expect("self-referencing path item");
        assert!(summary.operations.is_empty());
        let summary = summarize_openapi(documents[6]).expect("odd info");
        assert_eq!(summary.description.as_deref(), Some("12"));
        assert_eq!(summary.title, None);
    }

    /// Random OpenAPI-flavoured trees, to shake out panics and runaway work.
    #[test]
    fn random_definitions_do_not_panic() {
        let mut random = Random(0x5eed);
        for _ in 0..300 {
            let mut root = Map::new();
            root.insert("openapi".into(), Value::from("3.0.0"));
            root.insert("paths".into(), random_value(&mut random, 0));
            root.insert("components".into(), random_value(&mut random, 0));
            let text = Value::Object(root).to_string();
            if let Ok(summary) = summarize_openapi(&text) {
                assert!(summary.operations.len() <= MAX_OPERATIONS);
            }
        }
    }

    struct Random(u64);

    impl Random {
        fn next(&mut self, bound: u64) -> u64 {
            // xorshift: deterministic and dependency-free.
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % bound.max(1)
        }

        fn pick<'a>(&mut self, choices: &[&'a str]) -> &'a str {
            choices[self.next(choices.len() as u64) as usize]
        }
    }

    fn random_value(random: &mut Random, depth: usize) -> Value {
        const KEYS: [&str; 22] = [
            "$ref",
            "properties",
            "items",
            "allOf",
            "oneOf",
            "anyOf",
            "type",
            "enum",
            "get",
            "post",
            "parameters",
            "responses",
            "content",
            "application/json",
            "schema",
            "required",
            "name",
            "in",
            "/a",
            "/b",
            "schemas",
            "additionalProperties",
        ];
        const REFS: [&str; 7] = [
            "#/components",
            "#/components/schemas",
            "#/paths",
            "#",
            "#/components/schemas/a",
            "https://x",
            "#/~0~1",
        ];
        match random.next(if depth > 5 { 3 } else { 6 }) {
            0 => Value::from(random.pick(&REFS)),
            1 => Value::from(random.next(5)),
            2 => Value::Bool(random.next(2) == 0),
            3 | 4 => {
                let mut map = Map::new();
                for _ in 0..random.next(5) {
                    let key = random.pick(&KEYS).to_string();
                    map.insert(key, random_value(random, depth + 1));
                }
                if random.next(3) == 0 {
                    map.insert("$ref".into(), Value::from(random.pick(&REFS)));
                }
                Value::Object(map)
            }
            _ => Value::Array(
                (0..random.next(4))
                    .map(|_| random_value(random, depth + 1))
                    .collect(),
            ),
        }
    }

    // --- highlighter ---

    /// Checks the highlighter's contract and returns the text it encodes:
    /// only well-formed, un-nested, single-line spans with known classes,
    /// and no character left unescaped.
    fn decode(html: &str) -> String {
        let mut text = String::new();
        let mut rest = html;
        let mut open = false;
        while let Some(at) = rest.find('<') {
            let plain = &rest[..at];
            assert!(
                !(open && plain.contains('\n')),
                "a span crosses a line: {html}"
            );
            text.push_str(plain);
            rest = &rest[at..];
            if let Some(after) = rest.strip_prefix("</span>") {
                assert!(open, "closing an unopened span: {html}");
                open = false;
                rest = after;
            } else if let Some(after) = rest.strip_prefix("<span class=\"") {
                assert!(!open, "nested span: {html}");
                let close = after.find("\">").expect("span opener closes");
                assert!(
                    CLASSES.contains(&&after[..close]),
                    "class {}",
                    &after[..close]
                );
                open = true;
                rest = &after[close + 2..];
            } else {
                panic!("unescaped '<' in {html}");
            }
        }
        assert!(!open, "unclosed span: {html}");
        text.push_str(rest);
        for raw in ['>', '"', '\''] {
            assert!(!text.contains(raw), "unescaped {raw:?} in {html}");
        }
        let mut decoded = String::new();
        let mut rest = text.as_str();
        while let Some(at) = rest.find('&') {
            decoded.push_str(&rest[..at]);
            rest = &rest[at..];
            let (entity, character) = [
                ("&amp;", '&'),
                ("&lt;", '<'),
                ("&gt;", '>'),
                ("&quot;", '"'),
                ("&#39;", '\''),
            ]
            .into_iter()
            .find(|(entity, _)| rest.starts_with(entity))
            .unwrap_or_else(|| panic!("unescaped '&' in {html}"));
            decoded.push(character);
            rest = &rest[entity.len()..];
        }
        decoded.push_str(rest);
        decoded
    }

    const LANGUAGES: [Language; 5] = [
        Language::Yaml,
        Language::Json,
        Language::GraphQl,
        Language::Protobuf,
        Language::Plain,
    ];

    #[test]
    fn highlighter_escapes_strings_and_comments() {
        let samples = [
            (
                Language::Yaml,
                "title: \"<script>alert('x') & co</script>\" # <b>&</b>\nplain: a<b & c\n",
            ),
            (
                Language::Json,
                "{\"<script>\": \"& <script>alert(1)</script>\"}",
            ),
            (
                Language::GraphQl,
                "# <script> & </script>\ntype A { \"\"\"<script>&\"\"\" f: String }",
            ),
            (
                Language::Protobuf,
                "// <script> & co\nmessage M { string s = 1; /* <b>&</b> */ } option x = \"<script>&\";",
            ),
            (Language::Plain, "<script>alert('&')</script>"),
        ];
        for (language, sample) in samples {
            let html = highlight(sample, language);
            assert!(!html.contains("<script"), "{language:?}: {html}");
            assert!(!html.contains("</b"), "{language:?}: {html}");
            assert!(html.contains("&lt;script&gt;"), "{language:?}: {html}");
            assert!(html.contains("&amp;"), "{language:?}: {html}");
            assert_eq!(decode(&html), sample, "{language:?}");
        }
        let html = highlight("a: \"<script>&\" # <i>&</i>", Language::Yaml);
        assert!(
            html.contains("<span class=\"tok-string\">&quot;&lt;script&gt;&amp;&quot;</span>"),
            "{html}"
        );
        assert!(
            html.contains("<span class=\"tok-comment\"># &lt;i&gt;&amp;&lt;/i&gt;</span>"),
            "{html}"
        );
    }

    fn classes(html: &str) -> Vec<&str> {
        let mut found: Vec<&str> = html
            .split("<span class=\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .collect();
        found.sort_unstable();
        found.dedup();
        found
    }

    /// The text of every span of `class`.
    fn tokens<'a>(html: &'a str, class: &str) -> Vec<&'a str> {
        let opener = format!("<span class=\"{class}\">");
        html.split(opener.as_str())
            .skip(1)
            .filter_map(|rest| rest.split("</span>").next())
            .collect()
    }

    #[test]
    fn yaml_tokens() {
        let sample = "# top\nopenapi: \"3.0.0\"\ncount: 12 # trailing\nratio: -1.5e3\nversion: 1.0.0\nenabled: true\nnothing: ~\nlist:\n  - item\n  - {a: 1, 'b': [x, y]}\n  - &anchor name: value\nurl: http://example.com/a#b\n";
        let html = highlight(sample, Language::Yaml);
        assert_eq!(decode(&html), sample);
        assert_eq!(
            classes(&html),
            [COMMENT, KEY, LITERAL, NUMBER, PUNCT, STRING]
        );
        let keys = tokens(&html, KEY);
        for key in [
            "openapi",
            "count",
            "enabled",
            "list",
            "a",
            "&#39;b&#39;",
            "url",
        ] {
            assert!(keys.contains(&key), "{key} in {keys:?}");
        }
        let numbers = tokens(&html, NUMBER);
        assert_eq!(numbers, ["12", "-1.5e3", "1"]);
        let strings = tokens(&html, STRING);
        for string in [
            "&quot;3.0.0&quot;",
            "1.0.0",
            "item",
            "x",
            "http://example.com/a#b",
        ] {
            assert!(strings.contains(&string), "{string} in {strings:?}");
        }
        assert_eq!(tokens(&html, LITERAL), ["true", "~"]);
        assert_eq!(tokens(&html, COMMENT), ["# top", "# trailing"]);
    }

    #[test]
    fn yaml_block_scalars_are_strings() {
        let sample = "description: |\n  key: not a key\n  # not a comment\n\n  more\nnext: 1\nitems:\n  - >-\n    folded: text\n  - done: yes\n";
        let html = highlight(sample, Language::Yaml);
        assert_eq!(decode(&html), sample);
        let strings = tokens(&html, STRING);
        assert!(strings.contains(&"key: not a key"), "{html}");
        assert!(strings.contains(&"# not a comment"), "{html}");
        assert!(strings.contains(&"folded: text"), "{html}");
        let keys = tokens(&html, KEY);
        assert_eq!(keys, ["description", "next", "items", "done"]);
    }

    #[test]
    fn json_tokens() {
        let sample = "{\"openapi\": \"3.0.0\", \"n\": -12.5e2, \"ok\": true, \"none\": null, \"list\": [1, \"two\"]}";
        let html = highlight(sample, Language::Json);
        assert_eq!(decode(&html), sample);
        assert_eq!(classes(&html), [KEY, LITERAL, NUMBER, PUNCT, STRING]);
        assert_eq!(
            tokens(&html, KEY),
            [
                "&quot;openapi&quot;",
                "&quot;n&quot;",
                "&quot;ok&quot;",
                "&quot;none&quot;",
                "&quot;list&quot;"
            ]
        );
        assert_eq!(tokens(&html, NUMBER), ["-12.5e2", "1"]);
        assert_eq!(tokens(&html, LITERAL), ["true", "null"]);
    }

    #[test]
    fn corpus_graphql_and_protobuf_tokens() {
        let sdl = definition_of("catalog-model-examples/apis/swapi-graphql.yaml");
        let html = highlight(&sdl, Language::GraphQl);
        assert_eq!(decode(&html), sdl);
        let keywords = tokens(&html, KEYWORD);
        for keyword in ["schema", "type", "interface", "implements"] {
            assert!(keywords.contains(&keyword), "{keyword}");
        }
        assert!(
            tokens(&html, STRING).contains(&"&quot;&quot;&quot;A single film.&quot;&quot;&quot;")
        );
        assert!(tokens(&html, KEY).contains(&"title"));

        let proto = definition_of("catalog-model-examples/apis/hello-world-api.yaml");
        let html = highlight(&proto, Language::Protobuf);
        assert_eq!(decode(&html), proto);
        let keywords = tokens(&html, KEYWORD);
        for keyword in [
            "syntax", "option", "package", "service", "rpc", "returns", "message", "string",
        ] {
            assert!(keywords.contains(&keyword), "{keyword}");
        }
        assert!(tokens(&html, STRING).contains(&"&quot;proto3&quot;"));
        assert!(tokens(&html, COMMENT).contains(&"// The greeting service definition."));
        assert!(tokens(&html, KEY).contains(&"name"));
        assert!(tokens(&html, NUMBER).contains(&"1"));

        let asyncapi = definition_of("catalog-model-examples/apis/streetlights-api.yaml");
        let html = highlight(&asyncapi, Language::Yaml);
        assert_eq!(decode(&html), asyncapi);
        assert!(tokens(&html, KEY).contains(&"asyncapi"));
        assert!(tokens(&html, STRING).contains(&"* Dim a specific streetlight 😎"));
    }

    #[test]
    fn graphql_and_protobuf_samples() {
        let sample = "# comment\nextend type Query implements Node @key(fields: \"id\") {\n  type: String! @deprecated\n  list(first: Int = 10, flag: Boolean = false): [Item!]!\n}\nunion U = A | B\nfragment F on Query { ...G }\n";
        let html = highlight(sample, Language::GraphQl);
        assert_eq!(decode(&html), sample);
        assert_eq!(
            classes(&html),
            [COMMENT, KEY, KEYWORD, LITERAL, NUMBER, PUNCT, STRING]
        );
        let keywords = tokens(&html, KEYWORD);
        for keyword in [
            "extend",
            "type",
            "implements",
            "@key",
            "@deprecated",
            "union",
            "fragment",
            "on",
        ] {
            assert!(keywords.contains(&keyword), "{keyword} in {keywords:?}");
        }
        // `type` the field name is a key, not a keyword.
        assert!(tokens(&html, KEY).contains(&"type"));

        let sample = "syntax = \"proto3\";\n/* block\n   comment */\nmessage M {\n  repeated int64 ids = 1 [packed = true];\n  map<string, bytes> blobs = 2;\n  oneof choice { string a = 3; }\n  reserved 4 to 6;\n}\nenum E { UNKNOWN = 0; NEG = -1; }\nservice S { rpc Watch (stream M) returns (stream M); }\n";
        let html = highlight(sample, Language::Protobuf);
        assert_eq!(decode(&html), sample);
        assert_eq!(
            classes(&html),
            [COMMENT, KEY, KEYWORD, LITERAL, NUMBER, PUNCT, STRING]
        );
        let keywords = tokens(&html, KEYWORD);
        for keyword in [
            "syntax", "message", "repeated", "map", "oneof", "enum", "service", "rpc", "stream",
            "returns",
        ] {
            assert!(keywords.contains(&keyword), "{keyword} in {keywords:?}");
        }
        // The block comment is one span per line.
        assert_eq!(tokens(&html, COMMENT), ["/* block", "   comment */"]);
        assert!(tokens(&html, NUMBER).contains(&"-1"));
        assert!(tokens(&html, KEY).contains(&"UNKNOWN"));
    }

    #[test]
    fn plain_text_has_no_spans() {
        let html = highlight("anything <at> all & more", Language::Plain);
        assert_eq!(html, "anything &lt;at&gt; all &amp; more");
    }

    #[test]
    fn random_text_round_trips_in_every_language() {
        const PIECES: [&str; 34] = [
            "\"", "'", "<", ">", "&", ":", ": ", "#", " #", "-", "- ", "|", ">-", "[", "]", "{",
            "}", ",", " ", "\n", "\r\n", "\t", "\\", "/", "*", "/*", "*/", "//", "\"\"\"", "é",
            "🙂", "key", "12", "true",
        ];
        let mut random = Random(42);
        for _ in 0..400 {
            let length = random.next(60);
            let text: String = (0..length).map(|_| random.pick(&PIECES)).collect();
            for language in LANGUAGES {
                assert_eq!(
                    decode(&highlight(&text, language)),
                    text,
                    "{language:?}: {text:?}"
                );
            }
        }
    }

    #[test]
    fn pathological_input_stays_linear() {
        let size = 200_000;
        let inputs = [
            "\"".repeat(size),
            "[".repeat(size),
            "a".repeat(size),
            "a ".repeat(size / 2) + ":",
            "\"\"\"".repeat(size / 3),
            "/*".repeat(size / 2),
            "- ".repeat(size / 2),
            "\\".repeat(size),
            format!("\"{}", " ".repeat(size)),
            "k: |\n".repeat(size / 5),
        ];
        for input in &inputs {
            for language in LANGUAGES {
                let html = highlight(input, language);
                assert!(html.len() < input.len() * 40, "{language:?}");
            }
        }
    }

    #[test]
    fn languages_for_api_types() {
        assert_eq!(language_for("openapi", "openapi: 3.0.0"), Language::Yaml);
        assert_eq!(
            language_for("openapi", "\u{feff}  {\"openapi\": \"3.0.0\"}"),
            Language::Json
        );
        assert_eq!(language_for("AsyncAPI", "{}"), Language::Json);
        assert_eq!(language_for("asyncapi", "asyncapi: 2.0.0"), Language::Yaml);
        assert_eq!(language_for("graphql", "type A"), Language::GraphQl);
        assert_eq!(language_for("grpc", "syntax"), Language::Protobuf);
        assert_eq!(language_for("trpc", "{"), Language::Plain);
        assert_eq!(language_for("", ""), Language::Plain);
    }

    #[test]
    fn errors_read_well() {
        let error = ApiDocError::Parse {
            line: Some(3),
            column: Some(9),
            message: "unclosed bracket '['".to_string(),
        };
        assert_eq!(error.to_string(), "line 3, column 9: unclosed bracket '['");
        assert_eq!(
            ApiDocError::NotOpenApi("it is an AsyncAPI document".to_string()).to_string(),
            "not an OpenAPI 3 or Swagger 2.0 definition: it is an AsyncAPI document"
        );
    }
}
