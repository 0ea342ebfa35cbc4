//! Entity references: `[kind:][namespace/]name` strings and their compound
//! `{kind, namespace, name}` form (Backstage's `packages/catalog-model/src/entity/ref.ts`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// The namespace an entity lives in when its metadata names none.
pub const DEFAULT_NAMESPACE: &str = "default";

/// What a reference string must look like, for error messages.
const EXPECTED_FORM: &str = "expected [kind:][namespace/]name, where no part is empty and only the separators are `:` and `/`";

/// A fully qualified reference to an entity, in canonical (lower-case) form.
///
/// References compare case-insensitively in Backstage; storing them lower-cased
/// makes `==`, hashing and ordering do the same. It serializes as the string
/// `kind:namespace/name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntityRef {
    /// The entity kind, lower-cased (`component`).
    pub kind: String,
    /// The entity namespace, lower-cased (`default`).
    pub namespace: String,
    /// The entity name, lower-cased (`artist-web`).
    pub name: String,
}

impl EntityRef {
    /// Builds a reference from its three parts, lower-casing each.
    ///
    /// The parts are not checked: use [`parse_ref`] for text from a document.
    pub fn new(kind: &str, namespace: &str, name: &str) -> EntityRef {
        EntityRef {
            kind: kind.to_lowercase(),
            namespace: namespace.to_lowercase(),
            name: name.to_lowercase(),
        }
    }
}

impl fmt::Display for EntityRef {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}:{}/{}", self.kind, self.namespace, self.name)
    }
}

impl FromStr for EntityRef {
    type Err = RefError;

    /// Parses the full `kind:namespace/name` form; nothing may be left out,
    /// because there is no context to supply defaults.
    fn from_str(text: &str) -> Result<EntityRef, RefError> {
        let parts = split(text)?;
        let kind = parts.kind.ok_or_else(|| {
            RefError::new(
                text,
                "has no kind; expected the full form kind:namespace/name",
            )
        })?;
        let namespace = parts.namespace.ok_or_else(|| {
            RefError::new(
                text,
                "has no namespace; expected the full form kind:namespace/name",
            )
        })?;
        Ok(EntityRef::new(kind, namespace, parts.name))
    }
}

impl Serialize for EntityRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for EntityRef {
    /// Reads the string form written by `Serialize` (`kind:namespace/name`).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<EntityRef, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A text that is not an entity reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not an entity reference: {message}")]
pub struct RefError {
    /// The text as given (for the compound form, its JSON text).
    pub text: String,
    /// What is wrong with it, and what is expected.
    pub message: String,
}

impl RefError {
    fn new(text: &str, message: impl Into<String>) -> RefError {
        RefError {
            text: text.to_owned(),
            message: message.into(),
        }
    }
}

/// Parses Backstage's `[kind:][namespace/]name` reference form.
///
/// The rule is the regular expression `^([^:/]+:)?([^:/]+\/)?([^:/]+)$`: at
/// most one `:` (ending the kind), at most one `/` (ending the namespace), in
/// that order, and no empty part. Matching is case-insensitive, so the result
/// is lower-cased. A missing kind takes `default_kind` (an error when the field
/// has none, as for `dependsOn`); a missing namespace takes `default_namespace`,
/// which should be the namespace of the entity holding the reference. An empty
/// `default_namespace` means [`DEFAULT_NAMESPACE`], as in Backstage.
pub fn parse_ref(
    text: &str,
    default_kind: Option<&str>,
    default_namespace: &str,
) -> Result<EntityRef, RefError> {
    let parts = split(text)?;
    let kind = match (parts.kind, default_kind) {
        (Some(kind), _) => kind,
        (None, Some(kind)) if !kind.is_empty() => kind,
        (None, _) => {
            return Err(RefError::new(
                text,
                "has no kind and the field has no default kind; write it as kind:name, e.g. component:my-service",
            ));
        }
    };
    let namespace = parts
        .namespace
        .unwrap_or_else(|| fallback_namespace(default_namespace));
    Ok(EntityRef::new(kind, namespace, parts.name))
}

/// Parses a reference held in a JSON value: either the string form (see
/// [`parse_ref`]) or the compound form `{kind?, namespace?, name}`, whose
/// missing parts take the same defaults.
///
/// In the compound form each present part must be a non-empty string without
/// `:` or `/`, so that the canonical string form stays unambiguous. Other keys
/// are ignored, as Backstage does.
pub fn parse_ref_value(
    value: &Value,
    default_kind: Option<&str>,
    default_namespace: &str,
) -> Result<EntityRef, RefError> {
    let object = match value {
        Value::String(text) => return parse_ref(text, default_kind, default_namespace),
        Value::Object(object) => object,
        other => {
            return Err(RefError::new(
                &other.to_string(),
                "must be a string [kind:][namespace/]name or an object {kind, namespace, name}",
            ));
        }
    };
    let text = value.to_string();
    let part = |key: &str| -> Result<Option<&str>, RefError> {
        match object.get(key) {
            None => Ok(None),
            Some(Value::String(part)) if part.is_empty() => {
                Err(RefError::new(&text, format!("has an empty `{key}`")))
            }
            Some(Value::String(part)) if part.contains([':', '/']) => Err(RefError::new(
                &text,
                format!(
                    "`{key}` contains `:` or `/`, which only separate the parts of a reference"
                ),
            )),
            Some(Value::String(part)) => Ok(Some(part)),
            Some(_) => Err(RefError::new(&text, format!("`{key}` must be a string"))),
        }
    };
    let name = part("name")?.ok_or_else(|| RefError::new(&text, "has no `name`"))?;
    let kind = match (part("kind")?, default_kind) {
        (Some(kind), _) => kind,
        (None, Some(kind)) if !kind.is_empty() => kind,
        (None, _) => {
            return Err(RefError::new(
                &text,
                "has no kind and the field has no default kind; add a `kind` key",
            ));
        }
    };
    let namespace = part("namespace")?.unwrap_or_else(|| fallback_namespace(default_namespace));
    Ok(EntityRef::new(kind, namespace, name))
}

fn fallback_namespace(default_namespace: &str) -> &str {
    if default_namespace.is_empty() {
        DEFAULT_NAMESPACE
    } else {
        default_namespace
    }
}

/// The parts of a reference string as written, before defaults.
struct Parts<'a> {
    kind: Option<&'a str>,
    namespace: Option<&'a str>,
    name: &'a str,
}

fn split(text: &str) -> Result<Parts<'_>, RefError> {
    if text.is_empty() {
        return Err(RefError::new(text, format!("is empty; {EXPECTED_FORM}")));
    }
    if text.matches(':').count() > 1 {
        return Err(RefError::new(
            text,
            format!("has more than one `:`; {EXPECTED_FORM}"),
        ));
    }
    if text.matches('/').count() > 1 {
        return Err(RefError::new(
            text,
            format!("has more than one `/`; {EXPECTED_FORM}"),
        ));
    }
    let (kind, rest) = match text.split_once(':') {
        Some((kind, rest)) => (Some(kind), rest),
        None => (None, text),
    };
    if kind.is_some_and(|kind| kind.contains('/')) {
        return Err(RefError::new(
            text,
            format!("has the namespace `/` before the kind `:`; {EXPECTED_FORM}"),
        ));
    }
    let (namespace, name) = match rest.split_once('/') {
        Some((namespace, name)) => (Some(namespace), name),
        None => (None, rest),
    };
    for (part, label) in [
        (kind, "kind"),
        (namespace, "namespace"),
        (Some(name), "name"),
    ] {
        if part == Some("") {
            return Err(RefError::new(
                text,
                format!("has an empty {label}; {EXPECTED_FORM}"),
            ));
        }
    }
    Ok(Parts {
        kind,
        namespace,
        name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reference(text: &str) -> EntityRef {
        text.parse().unwrap()
    }

    #[test]
    fn full_form_round_trips() {
        let parsed = parse_ref("component:default/artist-web", None, "default").unwrap();
        assert_eq!(parsed, EntityRef::new("component", "default", "artist-web"));
        assert_eq!(parsed.to_string(), "component:default/artist-web");
        assert_eq!(reference("component:default/artist-web"), parsed);
    }

    #[test]
    fn defaults_fill_missing_parts() {
        assert_eq!(
            parse_ref("team-a", Some("Group"), "default").unwrap(),
            reference("group:default/team-a")
        );
        assert_eq!(
            parse_ref("user:guest", Some("Group"), "default").unwrap(),
            reference("user:default/guest")
        );
        assert_eq!(
            parse_ref("default/team-a", Some("Group"), "alternative").unwrap(),
            reference("group:default/team-a")
        );
        // The namespace default is the referring entity's namespace.
        assert_eq!(
            parse_ref("team-a", Some("Group"), "alternative").unwrap(),
            reference("group:alternative/team-a")
        );
        // An empty default namespace falls back to `default`, like Backstage.
        assert_eq!(
            parse_ref("team-a", Some("Group"), "").unwrap(),
            reference("group:default/team-a")
        );
    }

    #[test]
    fn matching_is_case_insensitive() {
        let parsed = parse_ref("Component:Default/Artist-Web", None, "default").unwrap();
        assert_eq!(parsed, reference("component:default/artist-web"));
        assert_eq!(
            parse_ref("Team-A", Some("Group"), "Default").unwrap(),
            reference("group:default/team-a")
        );
        assert_eq!(
            EntityRef::new("API", "NS", "Petstore"),
            reference("api:ns/petstore")
        );
    }

    #[test]
    fn missing_kind_without_default_is_an_error() {
        let error = parse_ref("artists-db", None, "default").unwrap_err();
        assert_eq!(error.text, "artists-db");
        assert!(
            error
                .message
                .contains("has no kind and the field has no default kind"),
            "{error}"
        );
        assert!(parse_ref("artists-db", Some(""), "default").is_err());
        assert_eq!(
            parse_ref("resource:artists-db", None, "default").unwrap(),
            reference("resource:default/artists-db")
        );
    }

    #[test]
    fn malformed_strings_are_errors() {
        for (text, fragment) in [
            ("", "is empty"),
            ("Foo:bar:baz", "more than one `:`"),
            ("a/b/c", "more than one `/`"),
            ("ns/kind:name", "before the kind"),
            (":name", "empty kind"),
            ("kind:/name", "empty namespace"),
            ("kind:ns/", "empty name"),
            ("/name", "empty namespace"),
            ("kind:", "empty name"),
        ] {
            let error = parse_ref(text, Some("Group"), "default").unwrap_err();
            assert!(error.message.contains(fragment), "{text}: {error}");
        }
        let error = parse_ref("Foo:bar:baz", None, "default").unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("`Foo:bar:baz` is not an entity reference: "),
            "{error}"
        );
    }

    #[test]
    fn from_str_requires_every_part() {
        assert!("component:default/x".parse::<EntityRef>().is_ok());
        assert!("component:x".parse::<EntityRef>().is_err());
        assert!("default/x".parse::<EntityRef>().is_err());
        assert!("x".parse::<EntityRef>().is_err());
    }

    #[test]
    fn compound_form() {
        let value = json!({"kind": "Group", "namespace": "Ops", "name": "Team-A"});
        assert_eq!(
            parse_ref_value(&value, None, "default").unwrap(),
            reference("group:ops/team-a")
        );
        let value = json!({"name": "team-a"});
        assert_eq!(
            parse_ref_value(&value, Some("Group"), "alternative").unwrap(),
            reference("group:alternative/team-a")
        );
        assert_eq!(
            parse_ref_value(&json!("api:petstore"), None, "default").unwrap(),
            reference("api:default/petstore")
        );
        for (value, fragment) in [
            (json!({"kind": "Group"}), "has no `name`"),
            (json!({"name": "x"}), "has no kind"),
            (json!({"kind": "Group", "name": ""}), "empty `name`"),
            (json!({"kind": "Group", "name": 3}), "must be a string"),
            (
                json!({"kind": "Group", "name": "a/b"}),
                "contains `:` or `/`",
            ),
            (json!(42), "must be a string"),
            (json!(null), "must be a string"),
        ] {
            let error = parse_ref_value(&value, None, "default").unwrap_err();
            assert!(error.message.contains(fragment), "{value}: {error}");
        }
    }

    #[test]
    fn serializes_as_a_string() {
        let parsed = reference("group:default/team-a");
        assert_eq!(
            serde_json::to_value(&parsed).unwrap(),
            json!("group:default/team-a")
        );
        let back: EntityRef = serde_json::from_value(json!("Group:Default/Team-A")).unwrap();
        assert_eq!(back, parsed);
        assert!(serde_json::from_value::<EntityRef>(json!("team-a")).is_err());
    }
}
