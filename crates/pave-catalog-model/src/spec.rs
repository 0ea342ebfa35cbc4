//! `spec` rules of the built-in kinds, driven by the field table in
//! `kind.rs` (which matches `schema/kinds/*.schema.json`), plus reference
//! parsing for every reference-valued field.

use serde_json::{Map, Value};

use crate::check::{self, Presence};
use crate::kind::{BuiltinKind, Derives, Field, Shape};
use crate::problem::{Problems, child, describe, item};
use crate::reference::parse_ref;
use crate::template;

const PATH: &str = "spec";

/// Checks the spec of a built-in kind. `namespace` is the entity's own, the
/// default for references that name none.
pub(crate) fn check(
    kind: BuiltinKind,
    spec: Option<&Value>,
    namespace: &str,
    problems: &mut Problems,
) {
    let Some(spec) = spec else {
        problems.push(PATH, format!("is required for kind {}", kind.name()));
        return;
    };
    let Some(spec) = check::as_object(spec, PATH, problems) else {
        return;
    };
    for field in kind.fields(Some(spec)) {
        check_field(spec, field, namespace, problems);
    }
    if kind == BuiltinKind::Template {
        template::check(spec, problems);
    }
}

fn check_field(spec: &Map<String, Value>, field: &Field, namespace: &str, problems: &mut Problems) {
    let presence = if field.required {
        Presence::Required
    } else {
        Presence::Optional
    };
    let path = child(PATH, field.name);
    match &field.shape {
        Shape::Text => {
            check::text(spec, PATH, field.name, presence, problems);
        }
        Shape::TextList => {
            check::text_list(spec, PATH, field.name, presence, problems);
        }
        Shape::Reference(derives) => {
            if let Some(text) = check::text(spec, PATH, field.name, presence, problems) {
                check_reference(text, &path, derives, namespace, problems);
            }
        }
        Shape::ReferenceList(derives) => {
            let texts = check::text_list(spec, PATH, field.name, presence, problems);
            for (item_path, text) in texts.unwrap_or_default() {
                check_reference(text, &item_path, derives, namespace, problems);
            }
        }
        Shape::Profile => {
            if let Some(profile) = check::object(spec, PATH, field.name, presence, problems) {
                for key in ["displayName", "email", "picture"] {
                    check::text(profile, &path, key, Presence::Optional, problems);
                }
            }
        }
        Shape::OneOf(allowed) => {
            let text = check::any_string(spec, PATH, field.name, presence, problems);
            if let Some(text) = text.filter(|text| !allowed.contains(text)) {
                problems.push(
                    path,
                    format!(
                        "`{text}` is not allowed: expected one of {}",
                        allowed.join(", ")
                    ),
                );
            }
        }
        Shape::Remotes => check_remotes(spec, presence, problems),
    }
}

fn check_reference(
    text: &str,
    path: &str,
    derives: &Derives,
    namespace: &str,
    problems: &mut Problems,
) {
    if let Err(error) = parse_ref(text, derives.default_kind, namespace) {
        problems.push(path, error.to_string());
    }
}

/// MCP server transports: at least one `{type, url}`.
fn check_remotes(spec: &Map<String, Value>, presence: Presence, problems: &mut Problems) {
    let Some(remotes) = check::array(spec, PATH, "remotes", presence, problems) else {
        return;
    };
    let path = child(PATH, "remotes");
    if remotes.is_empty() {
        problems.push(&path, "must list at least one remote {type, url}");
    }
    for (index, remote) in remotes.iter().enumerate() {
        let remote_path = item(&path, index);
        match remote {
            Value::Object(remote) => {
                check::text(remote, &remote_path, "type", Presence::Required, problems);
                check::text(remote, &remote_path, "url", Presence::Required, problems);
            }
            other => problems.push(
                remote_path,
                format!("must be an object {{type, url}}, found {}", describe(other)),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn problems(kind: BuiltinKind, spec: Value) -> Vec<String> {
        let mut problems = Problems::default();
        check(kind, Some(&spec), "default", &mut problems);
        problems
            .into_vec()
            .into_iter()
            .map(|problem| problem.to_string())
            .collect()
    }

    #[test]
    fn component_requires_type_lifecycle_and_owner() {
        assert!(
            problems(
                BuiltinKind::Component,
                json!({"type": "service", "lifecycle": "production", "owner": "team-a"})
            )
            .is_empty()
        );
        assert_eq!(
            problems(BuiltinKind::Component, json!({})),
            [
                "spec.type: is required",
                "spec.lifecycle: is required",
                "spec.owner: is required"
            ]
        );
    }

    #[test]
    fn spec_must_be_an_object_when_required() {
        let mut found = Problems::default();
        check(BuiltinKind::System, None, "default", &mut found);
        assert_eq!(
            found.into_vec()[0].to_string(),
            "spec: is required for kind System"
        );
        assert_eq!(
            problems(BuiltinKind::System, json!(["owner"])),
            ["spec: must be an object, found an array"]
        );
    }

    #[test]
    fn references_are_parsed_at_their_paths() {
        let found = problems(
            BuiltinKind::Component,
            json!({
                "type": "service",
                "lifecycle": "production",
                "owner": "a:b:c",
                "providesApis": ["petstore", "api:x/y/z"],
                "dependsOn": ["resource:artists-db", "artists-db"],
            }),
        );
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].starts_with("spec.owner: `a:b:c` is not an entity reference"));
        assert!(found[1].starts_with("spec.providesApis[1]: `api:x/y/z`"));
        assert!(found[2].starts_with("spec.dependsOn[1]: `artists-db`"));
        assert!(found[2].contains("has no kind and the field has no default kind"));
    }

    #[test]
    fn api_needs_a_string_definition_unless_it_is_an_mcp_server() {
        let found = problems(
            BuiltinKind::Api,
            json!({"type": "openapi", "lifecycle": "production", "owner": "team-a",
                   "definition": {"$text": "./openapi.yaml"}}),
        );
        assert_eq!(found.len(), 1);
        assert!(
            found[0].contains("unresolved `$text` placeholder"),
            "{found:?}"
        );
        let mcp = json!({"type": "mcp-server", "lifecycle": "experimental", "owner": "team-a",
                         "remotes": [{"type": "streamable-http", "url": "http://localhost/mcp"}]});
        assert!(problems(BuiltinKind::Api, mcp).is_empty());
        let found = problems(
            BuiltinKind::Api,
            json!({"type": "mcp-server", "lifecycle": "x", "owner": "team-a", "remotes": [{"type": "sse"}, 3]}),
        );
        assert_eq!(
            found,
            [
                "spec.remotes[0].url: is required",
                "spec.remotes[1]: must be an object {type, url}, found a number"
            ]
        );
        assert_eq!(
            problems(
                BuiltinKind::Api,
                json!({"type": "mcp-server", "lifecycle": "x", "owner": "team-a", "remotes": []})
            ),
            ["spec.remotes: must list at least one remote {type, url}"]
        );
    }

    #[test]
    fn group_and_user_lists_are_required_but_may_be_empty() {
        assert!(problems(BuiltinKind::Group, json!({"type": "team", "children": []})).is_empty());
        assert_eq!(
            problems(BuiltinKind::Group, json!({"type": "team"})),
            ["spec.children: is required"]
        );
        assert!(problems(BuiltinKind::User, json!({"memberOf": []})).is_empty());
        assert_eq!(
            problems(BuiltinKind::User, json!({"memberOf": "team-a"})),
            ["spec.memberOf: must be an array, found a string"]
        );
        assert_eq!(
            problems(
                BuiltinKind::User,
                json!({"memberOf": [], "profile": {"email": "", "picture": 1}})
            ),
            [
                "spec.profile.email: must not be empty",
                "spec.profile.picture: must be a string, found a number"
            ]
        );
    }

    #[test]
    fn resource_system_and_domain() {
        assert_eq!(
            problems(BuiltinKind::Resource, json!({"type": "database"})),
            ["spec.owner: is required"]
        );
        assert_eq!(
            problems(BuiltinKind::System, json!({"owner": "team-a", "domain": 1})),
            ["spec.domain: must be a string, found a number"]
        );
        assert_eq!(
            problems(
                BuiltinKind::Domain,
                json!({"owner": "team-a", "subdomainOf": ""})
            ),
            ["spec.subdomainOf: must not be empty"]
        );
    }

    #[test]
    fn location_fields_are_optional_and_typed() {
        assert!(problems(BuiltinKind::Location, json!({})).is_empty());
        assert!(
            problems(
                BuiltinKind::Location,
                json!({"type": "url", "targets": ["./a.yaml"], "presence": "optional"})
            )
            .is_empty()
        );
        assert_eq!(
            problems(
                BuiltinKind::Location,
                json!({"targets": "./a.yaml", "presence": "maybe"})
            ),
            [
                "spec.targets: must be an array, found a string",
                "spec.presence: `maybe` is not allowed: expected one of required, optional"
            ]
        );
    }
}
