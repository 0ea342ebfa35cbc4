//! [`validate`]: turns a parsed document into an [`Entity`], or lists every
//! rule it breaks. The envelope rules (root fields, `apiVersion`, `kind`) live
//! here; metadata and spec rules in their own modules.

use serde_json::{Map, Value};

use crate::check::{self, Presence};
use crate::entity::Entity;
use crate::format;
use crate::kind::{Classification, classify};
use crate::metadata;
use crate::problem::{DOCUMENT_PATH, EntityProblem, Problems, describe, item};
use crate::spec;

/// The top-level fields an entity may have (Backstage's
/// `NoForeignRootFieldsEntityPolicy`; `Entity.schema.json` has
/// `additionalProperties: false`). `relations` and `status` are output-only but
/// appear in documents read back from the API.
const ROOT_FIELDS: [&str; 6] = [
    "apiVersion",
    "kind",
    "metadata",
    "spec",
    "relations",
    "status",
];

const STATUS_LEVELS: [&str; 3] = ["info", "warning", "error"];

/// What a caller accepts beyond the model's own rules.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    /// The kinds accepted, compared case-insensitively; `None` accepts every
    /// kind (the default). Backstage's `catalog.rules` allow-lists are the
    /// model for this.
    pub allowed_kinds: Option<Vec<String>>,
}

impl Rules {
    /// Rules accepting only the given kinds.
    pub fn allowing<I, S>(kinds: I) -> Rules
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Rules {
            allowed_kinds: Some(kinds.into_iter().map(Into::into).collect()),
        }
    }

    /// Whether an entity of this kind is accepted.
    pub fn allows_kind(&self, kind: &str) -> bool {
        match &self.allowed_kinds {
            None => true,
            Some(allowed) => allowed
                .iter()
                .any(|allowed| allowed.eq_ignore_ascii_case(kind)),
        }
    }
}

/// Validates an entity document (already parsed from YAML or JSON, with
/// `$text`/`$json`/`$yaml` placeholders already substituted) and returns the
/// typed entity, or every problem found.
///
/// Checks: the envelope and metadata rules for every entity; for the built-in
/// kinds at their apiVersions (`backstage.io/v1alpha1` or `v1beta1`, and
/// `scaffolder.backstage.io/v1beta3` for Template), the spec rules of their
/// JSON schemas and that every reference-valued field parses. Other kinds and
/// apiVersions are accepted with envelope and metadata rules only, when
/// `rules` allows their kind.
pub fn validate(document: &Value, rules: &Rules) -> Result<Entity, Vec<EntityProblem>> {
    let Some(root) = document.as_object() else {
        return Err(vec![EntityProblem {
            path: DOCUMENT_PATH.to_owned(),
            message: format!(
                "must be an object with apiVersion, kind and metadata, found {}",
                describe(document)
            ),
        }]);
    };
    let mut problems = Problems::default();
    check_root_fields(root, &mut problems);
    let api_version = read_api_version(root, &mut problems);
    let kind = read_kind(root, rules, &mut problems);
    let metadata = metadata::read(root.get("metadata"), &mut problems);
    let spec = root.get("spec");
    match (api_version, kind) {
        (Some(api_version), Some(kind)) => match classify(api_version, kind) {
            Classification::Builtin(builtin) => {
                spec::check(builtin, spec, &metadata.namespace, &mut problems);
            }
            Classification::Miscased { builtin } => {
                problems.push(
                    "kind",
                    format!("`{kind}` is not a known kind: kind names are case-sensitive; write `{builtin}`"),
                );
                check_generic_spec(spec, &mut problems);
            }
            Classification::Generic => check_generic_spec(spec, &mut problems),
        },
        _ => check_generic_spec(spec, &mut problems),
    }
    if !problems.is_empty() {
        return Err(problems.into_vec());
    }
    Ok(Entity {
        api_version: api_version.unwrap_or_default().to_owned(),
        kind: kind.unwrap_or_default().to_owned(),
        metadata,
        spec: spec.cloned().unwrap_or(Value::Null),
        raw: document.clone(),
    })
}

fn check_root_fields(root: &Map<String, Value>, problems: &mut Problems) {
    for key in root.keys() {
        if !ROOT_FIELDS.contains(&key.as_str()) {
            problems.push(
                key.as_str(),
                "is not a known top-level field: expected only apiVersion, kind, metadata, spec, relations and status",
            );
        }
    }
    if let Some(relations) = check::array(root, "", "relations", Presence::Optional, problems) {
        for (index, relation) in relations.iter().enumerate() {
            let path = item("relations", index);
            if let Some(relation) = check::as_object(relation, &path, problems) {
                check::text(relation, &path, "type", Presence::Required, problems);
                check::text(relation, &path, "targetRef", Presence::Required, problems);
            }
        }
    }
    if let Some(status) = check::object(root, "", "status", Presence::Optional, problems) {
        let items = check::array(status, "status", "items", Presence::Optional, problems);
        for (index, status_item) in items.unwrap_or_default().iter().enumerate() {
            let path = item("status.items", index);
            let Some(status_item) = check::as_object(status_item, &path, problems) else {
                continue;
            };
            check::text(status_item, &path, "type", Presence::Required, problems);
            check::any_string(status_item, &path, "message", Presence::Required, problems);
            let level =
                check::any_string(status_item, &path, "level", Presence::Required, problems);
            if let Some(level) = level.filter(|level| !STATUS_LEVELS.contains(level)) {
                problems.push(
                    format!("{path}.level"),
                    format!("`{level}` is not a status level: expected info, warning or error"),
                );
            }
        }
    }
}

fn read_api_version<'a>(root: &'a Map<String, Value>, problems: &mut Problems) -> Option<&'a str> {
    let api_version = check::any_string(root, "", "apiVersion", Presence::Required, problems)?;
    if !format::is_valid_api_version(api_version) {
        problems.push(
            "apiVersion",
            format!("`{api_version}` is not a valid apiVersion: expected an optional lower-case DNS subdomain and `/`, then 1-63 letters and digits, e.g. backstage.io/v1alpha1"),
        );
        return None;
    }
    Some(api_version)
}

fn read_kind<'a>(
    root: &'a Map<String, Value>,
    rules: &Rules,
    problems: &mut Problems,
) -> Option<&'a str> {
    let kind = check::any_string(root, "", "kind", Presence::Required, problems)?;
    if !format::is_valid_kind(kind) {
        problems.push(
            "kind",
            format!("`{kind}` is not a valid kind: expected a letter followed by letters and digits, at most 63 characters, e.g. Component"),
        );
        return None;
    }
    if !rules.allows_kind(kind) {
        let allowed = match rules.allowed_kinds.as_deref().unwrap_or_default() {
            [] => "none".to_owned(),
            kinds => kinds.join(", "),
        };
        problems.push(
            "kind",
            format!("kind `{kind}` is not allowed here; allowed kinds: {allowed}"),
        );
    }
    Some(kind)
}

/// Kinds without spec rules may have any spec, but it must be an object.
fn check_generic_spec(spec: Option<&Value>, problems: &mut Problems) {
    if let Some(spec) = spec {
        check::as_object(spec, "spec", problems);
    }
}

#[cfg(test)]
mod tests;
