//! Parsing and schema validation of Score files.

use std::fmt;
use std::sync::LazyLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{JsonType, ValidationError};
use serde_json::{Map, Value};

use crate::model::Workload;
use crate::path;

/// The only Score API version this crate understands.
pub const API_VERSION: &str = "score.dev/v1b1";

/// The Score v1b1 JSON schema, copied unchanged from the Score specification
/// repository (`score-spec/spec`, file `score-v1b1.json`, as mirrored in
/// `shared/corpus/score/spec/score-v1b1.json`).
const SCHEMA_TEXT: &str = include_str!("../schema/score-v1b1.json");

/// The compiled schema, built once. The schema only uses local `$ref`s, so no
/// retriever (and no network or file access) is involved.
static VALIDATOR: LazyLock<Result<jsonschema::Validator, String>> = LazyLock::new(|| {
    let schema: Value = serde_json::from_str(SCHEMA_TEXT).map_err(|error| error.to_string())?;
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&schema)
        .map_err(|error| error.to_string())
});

/// Bounds on the input that [`parse_with_limits`] accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted input, in bytes.
    pub max_bytes: usize,
    /// Deepest accepted nesting of maps and lists.
    pub max_depth: usize,
    /// Most YAML nodes (maps, lists and scalars) accepted.
    pub max_nodes: usize,
}

impl Default for Limits {
    /// 1 MiB, depth 32, 100 000 nodes: far above any real Score file.
    fn default() -> Self {
        Limits {
            max_bytes: 1024 * 1024,
            max_depth: 32,
            max_nodes: 100_000,
        }
    }
}

/// One problem found in a workload: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The field path, such as `containers.web.variables.PORT`; empty for the
    /// document root.
    pub path: String,
    /// What is wrong and, where it helps, how to fix it.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "(document root): {}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Why a Score file could not be read as a workload.
#[derive(Debug, thiserror::Error)]
pub enum WorkloadError {
    /// The text is not valid YAML.
    #[error(
        "{file}:{line}:{column}: invalid YAML: {message}; fix the syntax at line {line}, column {column}"
    )]
    Syntax {
        /// The file name given to [`parse`].
        file: String,
        /// 1-based line of the problem (0 if the parser gave none).
        line: u64,
        /// 1-based column of the problem (0 if the parser gave none).
        column: u64,
        /// The parser's description.
        message: String,
    },
    /// The input is larger or deeper than [`Limits`] allow.
    #[error(
        "{file}: refused: {message}; a Score file is small and shallow, so check that this is the right file"
    )]
    TooLarge {
        /// The file name given to [`parse`].
        file: String,
        /// Which limit was exceeded.
        message: String,
    },
    /// The file holds no document, or more than one.
    #[error("{file}: {message}")]
    Documents {
        /// The file name given to [`parse`].
        file: String,
        /// What was found and what is expected.
        message: String,
    },
    /// The document is YAML but not a valid Score workload.
    #[error(
        "{file}: not a valid Score workload ({count} problem{plural}):\n{list}",
        count = problems.len(),
        plural = if problems.len() == 1 { "" } else { "s" },
        list = render_problems(problems)
    )]
    Invalid {
        /// The file name given to [`parse`].
        file: String,
        /// Every problem found, in document order.
        problems: Vec<Problem>,
    },
    /// The embedded schema failed to compile: a bug in this crate.
    #[error("the embedded Score schema failed to compile ({0}); this is a bug in pave-workload")]
    Schema(String),
}

fn render_problems(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|problem| format!("  - {problem}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Parses and validates a Score workload with the default [`Limits`].
///
/// `text` is YAML or JSON; `file` names its origin in error messages (it is not
/// read).
pub fn parse(text: &str, file: &str) -> Result<Workload, WorkloadError> {
    parse_with_limits(text, file, &Limits::default())
}

/// Parses and validates a Score workload within the given [`Limits`].
pub fn parse_with_limits(
    text: &str,
    file: &str,
    limits: &Limits,
) -> Result<Workload, WorkloadError> {
    let document = read_yaml(text, file, limits)?;
    validate_schema(&document, file)?;
    let document = normalize_legacy_arrays(document, file)?;
    serde_json::from_value(document).map_err(|error| WorkloadError::Invalid {
        file: file.to_owned(),
        problems: vec![Problem {
            path: String::new(),
            message: format!("{error} (the schema accepted it; please report this)"),
        }],
    })
}

fn read_yaml(text: &str, file: &str, limits: &Limits) -> Result<Value, WorkloadError> {
    if text.len() > limits.max_bytes {
        return Err(WorkloadError::TooLarge {
            file: file.to_owned(),
            message: format!(
                "the input is {} bytes, more than the limit of {} bytes",
                text.len(),
                limits.max_bytes
            ),
        });
    }
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: limits.max_depth,
            flow_nesting_limit: limits.max_depth,
            max_nodes: limits.max_nodes,
            max_documents: 1,
            max_total_scalar_bytes: limits.max_bytes,
        },
        // YAML 1.2 booleans only, as Score's Go tooling reads them: `yes`, `on`
        // and `y` stay strings.
        strict_booleans: true,
    };
    let documents: Vec<Value> = serde_saphyr::from_multiple_with_options(text, options)
        .map_err(|error| yaml_error(&error, file, limits))?;
    let mut documents = documents.into_iter().filter(|document| !document.is_null());
    match (documents.next(), documents.next()) {
        (Some(document), None) => Ok(document),
        (None, _) => Err(WorkloadError::Documents {
            file: file.to_owned(),
            message: "the file holds no YAML document; write a Score workload starting with `apiVersion: score.dev/v1b1`".to_owned(),
        }),
        (Some(_), Some(_)) => Err(WorkloadError::Documents {
            file: file.to_owned(),
            message: "the file holds more than one YAML document; put one workload per file".to_owned(),
        }),
    }
}

fn yaml_error(error: &serde_saphyr::Error, file: &str, limits: &Limits) -> WorkloadError {
    // Alias and snippet wrappers carry the original error inside.
    let mut inner = error;
    while let serde_saphyr::Error::AliasError { error, .. }
    | serde_saphyr::Error::WithSnippet { error, .. } = inner
    {
        inner = error;
    }
    let too_large = |message: String| WorkloadError::TooLarge {
        file: file.to_owned(),
        message,
    };
    if let serde_saphyr::Error::Budget { breach, .. } = inner {
        if matches!(breach, serde_saphyr::budget::BudgetBreach::Documents { .. }) {
            return WorkloadError::Documents {
                file: file.to_owned(),
                message: "the file holds more than one YAML document; put one workload per file"
                    .to_owned(),
            };
        }
        return too_large(format!("the YAML exceeds a parser limit ({breach:?})"));
    }
    let (line, column) = error
        .location()
        .or_else(|| inner.location())
        .map(|location| (location.line(), location.column()))
        .unwrap_or((0, 0));
    let message = inner.to_string();
    let mut message = message.lines().next().unwrap_or_default().trim().to_owned();
    // The line and column are reported separately.
    if let Some(end) = message.find(" at line ") {
        message.truncate(end);
    }
    // The YAML parser reports nesting beyond `flow_nesting_limit` this way.
    if message.starts_with("recursion limit exceeded") {
        return too_large(format!(
            "the YAML is nested more than {} levels deep (line {line}, column {column})",
            limits.max_depth
        ));
    }
    WorkloadError::Syntax {
        file: file.to_owned(),
        line,
        column,
        message,
    }
}

fn validate_schema(document: &Value, file: &str) -> Result<(), WorkloadError> {
    let validator = VALIDATOR
        .as_ref()
        .map_err(|error| WorkloadError::Schema(error.clone()))?;
    let mut problems: Vec<Problem> = Vec::new();
    for error in validator.iter_errors(document) {
        describe(&error, document, &mut problems);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(WorkloadError::Invalid {
            file: file.to_owned(),
            problems,
        })
    }
}

/// Turns one schema error into [`Problem`]s, with friendlier wording for the
/// common cases.
fn describe(error: &ValidationError<'_>, document: &Value, problems: &mut Vec<Problem>) {
    let pointer = error.instance_path().as_str();
    let at = path::from_pointer(pointer, document);
    let schema_path = error.schema_path().as_str();
    let instance: &Value = error.instance();
    let problem = match error.kind() {
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            let mut field = at;
            path::push_key(&mut field, name);
            let hint = match name {
                "apiVersion" => " (add `apiVersion: score.dev/v1b1`)",
                "image" => " (add `image: <image:tag>`, or `image: .` for the locally built image)",
                _ => "",
            };
            Problem {
                path: field,
                message: format!("required field `{name}` is missing{hint}"),
            }
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let names = unexpected
                .iter()
                .map(|name| format!("`{name}`"))
                .collect::<Vec<_>>()
                .join(", ");
            let (plural, pronoun) = if unexpected.len() == 1 {
                ("", "it")
            } else {
                ("s", "them")
            };
            Problem {
                path: at,
                message: format!(
                    "unknown field{plural} {names}; remove {pronoun} or check the spelling against the Score specification"
                ),
            }
        }
        ValidationErrorKind::Pattern { .. } if at == "apiVersion" => Problem {
            path: at,
            message: format!("{error}; this crate reads only `apiVersion: {API_VERSION}`"),
        },
        ValidationErrorKind::PropertyNames { error: inner } => {
            let mut message = format!("the name {} is invalid: {inner}", inner.instance());
            if let ValidationErrorKind::Pattern { pattern } = inner.kind()
                && pattern == LABEL_PATTERN
            {
                message.push_str(LABEL_HINT);
            }
            Problem { path: at, message }
        }
        ValidationErrorKind::Pattern { pattern } if pattern == LABEL_PATTERN => Problem {
            path: at,
            message: format!("{error}{LABEL_HINT}"),
        },
        ValidationErrorKind::Type { kind }
            if type_includes_string(kind) && (instance.is_number() || instance.is_boolean()) =>
        {
            Problem {
                path: at,
                message: format!("{error}; quote the value (\"{instance}\") to make it a string"),
            }
        }
        ValidationErrorKind::Not { .. } if instance.get("target").is_some() => Problem {
            path: at,
            message: "`target` belongs only to the deprecated list form; remove it (the map key is the target path)".to_owned(),
        },
        ValidationErrorKind::OneOfNotValid { context } | ValidationErrorKind::AnyOf { context } => {
            // Keep only the alternatives written for this kind of value (for
            // `files`: the map form or the list form). If one is left, its
            // errors say more than "not valid under any of the schemas".
            let fitting: Vec<_> = context
                .iter()
                .filter(|branch| {
                    !branch.iter().any(|inner| {
                        inner.instance_path().as_str() == pointer
                            && matches!(inner.kind(), ValidationErrorKind::Type { .. })
                    })
                })
                .collect();
            if let [branch] = fitting.as_slice()
                && !branch.is_empty()
            {
                for inner in branch.iter() {
                    describe(inner, document, problems);
                }
                return;
            }
            Problem {
                path: at,
                message: alternatives_hint(schema_path).unwrap_or_else(|| error.to_string()),
            }
        }
        ValidationErrorKind::OneOfMultipleValid { .. } => Problem {
            path: at,
            message: alternatives_hint(schema_path).unwrap_or_else(|| error.to_string()),
        },
        _ => Problem {
            path: at,
            message: error.to_string(),
        },
    };
    if !problems.contains(&problem) {
        problems.push(problem);
    }
}

/// The schema's RFC 1123 label pattern for workload, container, port and
/// resource names.
const LABEL_PATTERN: &str = "^[a-z0-9][a-z0-9-]{0,61}[a-z0-9]$";

const LABEL_HINT: &str = "; a name must be 2 to 63 lowercase letters, digits and `-`, starting and ending with a letter or digit";

fn type_includes_string(kind: &TypeKind) -> bool {
    match kind {
        TypeKind::Single(single) => *single == JsonType::String,
        TypeKind::Multiple(set) => set.contains(JsonType::String),
    }
}

/// Plain words for the schema's `oneOf`/`anyOf` choices.
fn alternatives_hint(schema_path: &str) -> Option<String> {
    if schema_path.contains("containerFile") {
        Some("a file needs exactly one of `source`, `content` and `binaryContent`".to_owned())
    } else if schema_path.contains("containerProbe") {
        Some("a probe needs `httpGet` or `exec`".to_owned())
    } else {
        None
    }
}

/// Rewrites the deprecated array forms of `files` and `volumes` (entries with
/// a `target`) into the map form keyed by target path.
fn normalize_legacy_arrays(mut document: Value, file: &str) -> Result<Value, WorkloadError> {
    let mut problems = Vec::new();
    if let Some(containers) = document
        .get_mut("containers")
        .and_then(Value::as_object_mut)
    {
        for (name, container) in containers.iter_mut() {
            for field in ["files", "volumes"] {
                let Some(slot) = container.get_mut(field) else {
                    continue;
                };
                let Value::Array(items) = slot else {
                    continue;
                };
                let mut map = Map::new();
                for (index, item) in std::mem::take(items).into_iter().enumerate() {
                    let mut at = path::join(&["containers", name, field]);
                    path::push_index(&mut at, index);
                    let Value::Object(mut entry) = item else {
                        continue;
                    };
                    match entry.remove("target") {
                        Some(Value::String(target)) => {
                            if map.contains_key(&target) {
                                problems.push(Problem {
                                    path: at,
                                    message: format!(
                                        "target `{target}` appears twice; give each entry its own target"
                                    ),
                                });
                            } else {
                                map.insert(target, Value::Object(entry));
                            }
                        }
                        _ => problems.push(Problem {
                            path: at,
                            message: format!(
                                "an entry of the (deprecated) `{field}` list needs a `target`; better, use the map form `{field}: {{ <target>: {{ ... }} }}`"
                            ),
                        }),
                    }
                }
                *slot = Value::Object(map);
            }
        }
    }
    if problems.is_empty() {
        Ok(document)
    } else {
        Err(WorkloadError::Invalid {
            file: file.to_owned(),
            problems,
        })
    }
}
