//! Test helpers: reading corpus YAML, resolving `$text`/`$json`/`$yaml`
//! placeholders (the catalog's job, done here in the test only, since the
//! model does no IO), and judging documents with Backstage's JSON schemas.

pub mod crafted;

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jsonschema::{Draft, Retrieve, Uri, Validator};
use serde_json::Value;

/// The Backstage part of the shared corpus, relative to this crate.
pub fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/backstage")
}

/// Every `.yaml` file under `directory`, sorted, skipping paths for which
/// `skip` is true.
pub fn yaml_files(directory: &Path, skip: &dyn Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![directory.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            if skip(&path) {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
            } else if path
                .extension()
                .is_some_and(|extension| extension == "yaml")
            {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The documents of a multi-document YAML file, placeholders resolved.
/// Empty documents (a trailing `---`) are left out.
pub fn documents(path: &Path) -> Vec<Value> {
    let text = fs::read_to_string(path).unwrap();
    documents_from(&text, path)
}

/// Like [`documents`], for text already read (e.g. a rendered skeleton).
pub fn documents_from(text: &str, path: &Path) -> Vec<Value> {
    let parsed: Vec<Value> = serde_saphyr::from_multiple(text)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let directory = path.parent().unwrap();
    parsed
        .into_iter()
        .filter(|document| !document.is_null())
        .map(|document| resolve_placeholders(document, directory))
        .collect()
}

/// Replaces `{$text: target}`, `{$json: target}` and `{$yaml: target}` with
/// the target's content, as Backstage's `PlaceholderProcessor` does before
/// validation. Relative targets are read beside the document. Remote targets
/// cannot be fetched here (no network in tests), so they become a stand-in of
/// the right type: the URL itself for `$text`, an empty object otherwise.
pub fn resolve_placeholders(value: Value, directory: &Path) -> Value {
    match value {
        Value::Object(object) => {
            if object.len() == 1 {
                let (key, target) = object.iter().next().unwrap();
                if let (Some(kind), Some(target)) = (placeholder_kind(key), target.as_str()) {
                    return substitute(kind, target, directory);
                }
            }
            Value::Object(
                object
                    .into_iter()
                    .map(|(key, value)| (key, resolve_placeholders(value, directory)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|item| resolve_placeholders(item, directory))
                .collect(),
        ),
        other => other,
    }
}

fn placeholder_kind(key: &str) -> Option<&str> {
    key.strip_prefix('$')
        .filter(|kind| matches!(*kind, "text" | "json" | "yaml"))
}

fn substitute(kind: &str, target: &str, directory: &Path) -> Value {
    if target.starts_with("http://") || target.starts_with("https://") {
        return match kind {
            "text" => Value::String(format!("(not fetched in tests: {target})")),
            _ => Value::Object(serde_json::Map::new()),
        };
    }
    let text = fs::read_to_string(directory.join(target)).unwrap();
    match kind {
        "text" => Value::String(text),
        "json" => serde_json::from_str(&text).unwrap(),
        _ => serde_saphyr::from_str(&text).unwrap(),
    }
}

/// Backstage's released JSON schemas, compiled, keyed by file stem
/// (`Entity`, `Component.v1alpha1`, `Template.v1beta3`, ...).
pub struct Schemas {
    validators: HashMap<String, Validator>,
}

/// Serves the corpus schemas by their `$id` (`Entity`, `EntityMeta`,
/// `common`, ...): the schemas reference each other by those relative ids,
/// which resolve to `json-schema:///<id>`. Nothing is fetched remotely.
struct CorpusRetriever {
    by_id: Arc<HashMap<String, Value>>,
}

impl Retrieve for CorpusRetriever {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let text = uri.as_str();
        let without_fragment = text.split('#').next().unwrap_or(text);
        let id = without_fragment
            .rsplit('/')
            .next()
            .unwrap_or(without_fragment);
        self.by_id
            .get(id)
            .cloned()
            .ok_or_else(|| format!("no corpus schema has the $id of {text}").into())
    }
}

impl Schemas {
    /// Loads and compiles every schema under `schema/`.
    pub fn load() -> Schemas {
        let directory = corpus().join("schema");
        let mut files = Vec::new();
        for sub in ["", "kinds", "shared"] {
            for entry in fs::read_dir(directory.join(sub)).unwrap() {
                let path = entry.unwrap().path();
                if path.to_string_lossy().ends_with(".schema.json") {
                    files.push(path);
                }
            }
        }
        let mut by_id = HashMap::new();
        let mut by_stem = HashMap::new();
        for path in files {
            let schema: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
            let id = schema["$id"].as_str().unwrap().to_owned();
            let name = path.file_name().unwrap().to_string_lossy();
            let stem = name.trim_end_matches(".schema.json").to_owned();
            by_id.insert(id, schema.clone());
            by_stem.insert(stem, schema);
        }
        let by_id = Arc::new(by_id);
        let validators = by_stem
            .into_iter()
            .map(|(stem, schema)| {
                let validator = jsonschema::options()
                    .with_draft(Draft::Draft7)
                    .with_retriever(CorpusRetriever {
                        by_id: Arc::clone(&by_id),
                    })
                    .build(&schema)
                    .unwrap_or_else(|error| panic!("schema {stem}: {error}"));
                (stem, validator)
            })
            .collect();
        Schemas { validators }
    }

    /// The schemas Backstage would check this document against: the kind's
    /// schema (which includes `Entity`) for known kinds, otherwise `Entity`
    /// alone. Kind names are matched case-insensitively so that a miscased
    /// built-in kind meets its schema's `enum` and is rejected there.
    pub fn names_for(&self, document: &Value) -> Vec<String> {
        let kind = document["kind"]
            .as_str()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let api_version = document["apiVersion"].as_str().unwrap_or_default();
        let spec_type = document["spec"]["type"].as_str().unwrap_or_default();
        let names: Vec<String> = match kind.as_str() {
            "template" if api_version == "scaffolder.backstage.io/v1beta3" => {
                vec!["Template.v1beta3".to_owned()]
            }
            // Legacy templates (v1alpha1, v1beta2) have no released schema.
            "template" => vec!["Entity".to_owned()],
            "api" if spec_type == "mcp-server" => vec!["API.v1alpha1.mcp-server".to_owned()],
            "airesource" => {
                let mut names = vec!["AiResource.v1alpha1".to_owned()];
                let specific = format!("AiResource.v1alpha1.{spec_type}");
                if self.validators.contains_key(&specific) {
                    names.push(specific);
                }
                names
            }
            _ => {
                let kind_schema = self
                    .validators
                    .keys()
                    .find(|stem| stem.to_ascii_lowercase() == format!("{kind}.v1alpha1"));
                vec![kind_schema.cloned().unwrap_or_else(|| "Entity".to_owned())]
            }
        };
        names
    }

    /// Whether the document passes every schema that applies to it; the
    /// errors when it does not.
    pub fn judge(&self, document: &Value) -> Result<(), Vec<String>> {
        let mut errors = Vec::new();
        for name in self.names_for(document) {
            let validator = &self.validators[&name];
            for error in validator.iter_errors(document) {
                errors.push(format!("{name}: {} at {}", error, error.instance_path()));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}
