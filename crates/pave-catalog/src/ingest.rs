//! Processing one root location: read its target, follow Location entities
//! to theirs, substitute placeholders, validate every document. Nothing is
//! written here; `persist` applies the result in one transaction.

use std::collections::{BTreeSet, HashSet, VecDeque};

use pave_catalog_model::{Entity, EntityRef, Rules, validate};
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::reader::{Base, LocationSpec, Reader, Source};
use crate::yaml::{self, parse_documents};

/// The most files one root location may pull in (through nested Locations).
pub const MAX_SOURCES: usize = 20_000;

/// A problem found while processing, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// The source it is in (`file:/…` or `url:…`), or the location target.
    pub location: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u64>,
    pub message: String,
    /// The entity it is about, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity_ref: Option<String>,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = self
            .location
            .strip_prefix("file:")
            .unwrap_or(&self.location);
        match (self.line, self.column) {
            (Some(line), Some(column)) => {
                write!(formatter, "{path}:{line}:{column}: {}", self.message)
            }
            _ => write!(formatter, "{path}: {}", self.message),
        }
    }
}

/// One valid entity and where it came from.
#[derive(Debug, Clone)]
pub struct Processed {
    pub entity: Entity,
    /// The source key (`file:/…`): Backstage's location key.
    pub location_key: String,
    /// A hash of the document; an entity whose hash is unchanged is not rewritten.
    pub hash: String,
}

/// Everything one root location produced.
#[derive(Debug, Default)]
pub struct Outcome {
    pub entities: Vec<Processed>,
    pub problems: Vec<Problem>,
    /// Sources that could not be read or parsed: their entities keep their
    /// last good version.
    pub failed_sources: BTreeSet<String>,
    /// Entities whose document failed validation: kept, marked with errors.
    pub broken_refs: BTreeSet<String>,
}

/// Processes a root location, keeping every entity in the outcome.
pub async fn process(reader: &Reader, root: &LocationSpec, rules: &Rules) -> Outcome {
    process_into(reader, root, rules, None).await
}

/// Processes a root location. With `sink`, valid entities are sent there as
/// they are read instead of being kept in the outcome.
pub async fn process_into(
    reader: &Reader,
    root: &LocationSpec,
    rules: &Rules,
    sink: Option<&tokio::sync::mpsc::Sender<Processed>>,
) -> Outcome {
    let mut outcome = Outcome::default();
    let mut queue: VecDeque<(LocationSpec, Option<Base>)> = VecDeque::from([(root.clone(), None)]);
    let mut seen: HashSet<String> = HashSet::new();
    let mut read = 0usize;
    while let Some((spec, parent)) = queue.pop_front() {
        let sources = match reader.read(&spec, parent.as_ref()).await {
            Ok(sources) => sources,
            Err(error) => {
                outcome.problems.push(Problem {
                    location: format!("{}:{}", spec.r#type, spec.target),
                    line: None,
                    column: None,
                    message: error.message,
                    entity_ref: None,
                });
                outcome
                    .failed_sources
                    .insert(format!("{}:{}", spec.r#type, spec.target));
                continue;
            }
        };
        for source in sources {
            if !seen.insert(source.key.clone()) {
                continue;
            }
            read += 1;
            if read > MAX_SOURCES {
                outcome.problems.push(Problem {
                    location: source.key.clone(),
                    line: None,
                    column: None,
                    message: format!(
                        "the location pulls in more than {MAX_SOURCES} files; the rest were skipped"
                    ),
                    entity_ref: None,
                });
                return outcome;
            }
            process_source(
                reader,
                &source,
                &spec,
                rules,
                &mut outcome,
                &mut queue,
                sink,
            )
            .await;
        }
    }
    outcome
}

async fn process_source(
    reader: &Reader,
    source: &Source,
    spec: &LocationSpec,
    rules: &Rules,
    outcome: &mut Outcome,
    queue: &mut VecDeque<(LocationSpec, Option<Base>)>,
    sink: Option<&tokio::sync::mpsc::Sender<Processed>>,
) {
    let documents = match parse_documents(&source.text) {
        Ok(documents) => documents,
        Err(error) => {
            outcome.problems.push(Problem {
                location: source.key.clone(),
                line: error.line,
                column: error.column,
                message: error.message,
                entity_ref: None,
            });
            outcome.failed_sources.insert(source.key.clone());
            return;
        }
    };
    for document in documents {
        let value = match substitute(reader, &source.base, document.value).await {
            Ok(value) => value,
            Err(message) => {
                let reference = raw_ref(&document_ref_source(&source.text, document.line));
                outcome.problems.push(Problem {
                    location: source.key.clone(),
                    line: Some(document.line),
                    column: Some(document.column),
                    message,
                    entity_ref: reference.clone(),
                });
                if let Some(reference) = reference {
                    outcome.broken_refs.insert(reference);
                }
                continue;
            }
        };
        match validate(&value, rules) {
            Ok(entity) => {
                if entity.kind.eq_ignore_ascii_case("location") {
                    follow(&entity, spec, &source.base, queue);
                }
                let hash = hex::encode(Sha256::digest(value.to_string().as_bytes()));
                let processed = Processed {
                    entity,
                    location_key: source.key.clone(),
                    hash,
                };
                match sink {
                    // A closed sink means the writer failed; it reports why.
                    Some(sink) => {
                        let _ = sink.send(processed).await;
                    }
                    None => outcome.entities.push(processed),
                }
            }
            Err(problems) => {
                let reference = raw_ref(&value);
                for problem in problems {
                    let key = problem
                        .path
                        .rsplit('.')
                        .next()
                        .unwrap_or(&problem.path)
                        .split('[')
                        .next()
                        .unwrap_or("")
                        .to_string();
                    let line = yaml::line_of_key(&source.text, document.line, &key)
                        .unwrap_or(document.line);
                    outcome.problems.push(Problem {
                        location: source.key.clone(),
                        line: Some(line),
                        column: Some(if line == document.line {
                            document.column
                        } else {
                            1
                        }),
                        message: problem.to_string(),
                        entity_ref: reference.clone(),
                    });
                }
                if let Some(reference) = reference {
                    outcome.broken_refs.insert(reference);
                }
            }
        }
    }
}

/// A document's own ref when its envelope is readable enough (for marking
/// the last good version of a broken entity).
fn raw_ref(value: &Value) -> Option<String> {
    let kind = value.get("kind")?.as_str()?;
    let metadata = value.get("metadata")?;
    let name = metadata.get("name")?.as_str()?;
    let namespace = metadata
        .get("namespace")
        .and_then(Value::as_str)
        .unwrap_or("default");
    Some(EntityRef::new(kind, namespace, name).to_string())
}

/// Reparses the one document starting at `line`, to recover its ref when a
/// placeholder failed (the value itself is already consumed).
fn document_ref_source(text: &str, line: u64) -> Value {
    let rest: String = text
        .lines()
        .skip(line.saturating_sub(1) as usize)
        .take_while(|line| !line.starts_with("---"))
        .collect::<Vec<_>>()
        .join("\n");
    yaml::parse_value(&rest).unwrap_or(Value::Null)
}

/// Queues the targets a Location entity names.
fn follow(
    entity: &Entity,
    spec: &LocationSpec,
    base: &Base,
    queue: &mut VecDeque<(LocationSpec, Option<Base>)>,
) {
    let location_type = entity
        .spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or(&spec.r#type)
        .to_string();
    let mut targets: Vec<String> = Vec::new();
    if let Some(target) = entity.spec.get("target").and_then(Value::as_str) {
        targets.push(target.to_string());
    }
    if let Some(list) = entity.spec.get("targets").and_then(Value::as_array) {
        targets.extend(list.iter().filter_map(Value::as_str).map(str::to_string));
    }
    for target in targets {
        queue.push_back((
            LocationSpec {
                r#type: location_type.clone(),
                target,
            },
            Some(base.clone()),
        ));
    }
}

/// Replaces `{$text: path}`, `{$json: path}` and `{$yaml: path}` anywhere in
/// the document with what the file holds.
async fn substitute(reader: &Reader, base: &Base, value: Value) -> Result<Value, String> {
    // Iterative, so a deep document cannot overflow the stack.
    enum Frame {
        Visit(Value),
        Array(usize),
        Object(Vec<String>),
    }
    let mut stack = vec![Frame::Visit(value)];
    let mut results: Vec<Value> = Vec::new();
    while let Some(frame) = stack.pop() {
        match frame {
            Frame::Visit(Value::Object(map)) => {
                if map.len() == 1
                    && let Some((key, target)) = map.iter().next()
                    && matches!(key.as_str(), "$text" | "$json" | "$yaml")
                {
                    let target = target
                        .as_str()
                        .ok_or_else(|| format!("{key} needs a path or URL as a string"))?;
                    let text = reader
                        .read_relative(base, target)
                        .await
                        .map_err(|error| format!("{key}: {}", error.message))?;
                    let replaced = match key.as_str() {
                        "$text" => Value::String(text),
                        "$json" => serde_json::from_str(&text)
                            .map_err(|error| format!("$json `{target}`: {error}"))?,
                        _ => yaml::parse_value(&text)
                            .map_err(|error| format!("$yaml `{target}`: {error}"))?,
                    };
                    results.push(replaced);
                    continue;
                }
                let keys: Vec<String> = map.keys().cloned().collect();
                stack.push(Frame::Object(keys));
                for (_, child) in map.into_iter().rev() {
                    stack.push(Frame::Visit(child));
                }
            }
            Frame::Visit(Value::Array(items)) => {
                stack.push(Frame::Array(items.len()));
                for child in items.into_iter().rev() {
                    stack.push(Frame::Visit(child));
                }
            }
            Frame::Visit(other) => results.push(other),
            Frame::Array(count) => {
                let items = results.split_off(results.len().saturating_sub(count));
                results.push(Value::Array(items));
            }
            Frame::Object(keys) => {
                let values = results.split_off(results.len().saturating_sub(keys.len()));
                let map: Map<String, Value> = keys.into_iter().zip(values).collect();
                results.push(Value::Object(map));
            }
        }
    }
    Ok(results.pop().unwrap_or(Value::Null))
}
