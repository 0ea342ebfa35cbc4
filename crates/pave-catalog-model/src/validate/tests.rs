use serde_json::{Value, json};

use crate::{Rules, validate};

fn component() -> Value {
    json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": "artist-web"},
        "spec": {"type": "website", "lifecycle": "production", "owner": "team-a"},
    })
}

/// The problems for a document, as "path: message" lines.
fn problems(document: &Value, rules: &Rules) -> Vec<String> {
    match validate(document, rules) {
        Ok(_) => Vec::new(),
        Err(problems) => problems.iter().map(ToString::to_string).collect(),
    }
}

fn paths(document: &Value) -> Vec<String> {
    match validate(document, &Rules::default()) {
        Ok(_) => Vec::new(),
        Err(problems) => problems.into_iter().map(|problem| problem.path).collect(),
    }
}

#[test]
fn a_valid_component_becomes_an_entity() {
    let document = component();
    let entity = validate(&document, &Rules::default()).unwrap();
    assert_eq!(entity.api_version, "backstage.io/v1alpha1");
    assert_eq!(entity.kind, "Component");
    assert_eq!(entity.metadata.name, "artist-web");
    assert_eq!(entity.metadata.namespace, "default");
    assert_eq!(entity.spec["owner"], "team-a");
    assert_eq!(entity.raw, document);
    assert_eq!(
        entity.reference().to_string(),
        "component:default/artist-web"
    );
}

#[test]
fn the_document_must_be_an_object() {
    assert_eq!(
        problems(&json!(["a"]), &Rules::default()),
        ["(document): must be an object with apiVersion, kind and metadata, found an array"]
    );
    assert_eq!(paths(&json!(null)), ["(document)"]);
}

#[test]
fn envelope_fields_are_required() {
    assert_eq!(
        problems(&json!({}), &Rules::default()),
        [
            "apiVersion: is required",
            "kind: is required",
            "metadata: is required"
        ]
    );
}

#[test]
fn api_version_and_kind_formats() {
    let mut document = component();
    document["apiVersion"] = json!("Backstage.io/v1alpha1");
    document["kind"] = json!("My-Kind");
    assert_eq!(paths(&document), ["apiVersion", "kind"]);
    document["apiVersion"] = json!(1);
    document["kind"] = json!(["Component"]);
    assert_eq!(
        problems(&document, &Rules::default()),
        [
            "apiVersion: must be a string, found a number",
            "kind: must be a string, found an array"
        ]
    );
    // A custom apiVersion and kind are fine: envelope rules only.
    document["apiVersion"] = json!("example.com/v1");
    document["kind"] = json!("Widget");
    document["spec"] = json!({"anything": [1, 2]});
    assert!(validate(&document, &Rules::default()).is_ok());
}

#[test]
fn unknown_top_level_fields_are_problems() {
    let mut document = component();
    document["extra"] = json!(true);
    assert_eq!(paths(&document), ["extra"]);
}

#[test]
fn output_only_root_fields_are_allowed_when_well_formed() {
    let mut document = component();
    document["relations"] = json!([{"type": "ownedBy", "targetRef": "group:default/team-a"}]);
    document["status"] = json!({"items": [{"type": "backstage.io/catalog-processing", "level": "error", "message": "x"}]});
    assert!(validate(&document, &Rules::default()).is_ok());
    document["relations"] = json!([{"type": "ownedBy"}]);
    document["status"] = json!({"items": [{"type": "t", "level": "fatal", "message": "x"}]});
    assert_eq!(
        problems(&document, &Rules::default()),
        [
            "relations[0].targetRef: is required",
            "status.items[0].level: `fatal` is not a status level: expected info, warning or error"
        ]
    );
}

#[test]
fn spec_must_be_an_object_for_every_kind() {
    let mut document = component();
    document["kind"] = json!("Widget");
    document["spec"] = json!("text");
    assert_eq!(
        problems(&document, &Rules::default()),
        ["spec: must be an object, found a string"]
    );
    document["spec"] = Value::Null;
    assert_eq!(
        problems(&document, &Rules::default()),
        ["spec: must be an object, found null"]
    );
    // Absent is fine for kinds without spec rules.
    document.as_object_mut().unwrap().remove("spec");
    let entity = validate(&document, &Rules::default()).unwrap();
    assert_eq!(entity.spec, Value::Null);
}

#[test]
fn builtin_kinds_require_a_spec() {
    let mut document = component();
    document.as_object_mut().unwrap().remove("spec");
    assert_eq!(
        problems(&document, &Rules::default()),
        ["spec: is required for kind Component"]
    );
}

#[test]
fn builtin_kind_names_are_case_sensitive() {
    let mut document = component();
    document["kind"] = json!("component");
    assert_eq!(
        problems(&document, &Rules::default()),
        ["kind: `component` is not a known kind: kind names are case-sensitive; write `Component`"]
    );
}

#[test]
fn other_api_versions_of_builtin_kinds_are_generic() {
    // A legacy v1beta2 template has none of the v1beta3 fields.
    let document = json!({
        "apiVersion": "backstage.io/v1beta2",
        "kind": "Template",
        "metadata": {"name": "react-ssr-template"},
        "spec": {"owner": "web@example.com", "templater": "cookiecutter", "type": "website"},
    });
    assert!(validate(&document, &Rules::default()).is_ok());
    let mut document = component();
    document["apiVersion"] = json!("backstage.io/v2");
    document["spec"] = json!({});
    assert!(validate(&document, &Rules::default()).is_ok());
}

#[test]
fn rules_limit_the_kinds_case_insensitively() {
    let rules = Rules::allowing(["component", "API", "Location"]);
    assert!(rules.allows_kind("Component"));
    assert!(!rules.allows_kind("Group"));
    assert!(validate(&component(), &rules).is_ok());
    let group = json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Group",
        "metadata": {"name": "team-a"},
        "spec": {"type": "team", "children": []},
    });
    assert_eq!(
        problems(&group, &rules),
        ["kind: kind `Group` is not allowed here; allowed kinds: component, API, Location"]
    );
    assert_eq!(
        problems(&group, &Rules::allowing(Vec::<String>::new())),
        ["kind: kind `Group` is not allowed here; allowed kinds: none"]
    );
    assert!(Rules::default().allows_kind("Anything"));
}

#[test]
fn every_problem_is_reported_not_just_the_first() {
    let document = json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {
            "name": "bad name",
            "namespace": "Bad",
            "labels": {"a/b/c": "ok", "good": "not ok"},
            "tags": ["fine", "Not-Fine"],
        },
        "spec": {"type": "service", "owner": "a:b:c", "providesApis": [1]},
    });
    assert_eq!(
        paths(&document),
        [
            "metadata.name",
            "metadata.namespace",
            "metadata.labels.a/b/c",
            "metadata.labels.good",
            "metadata.tags[1]",
            "spec.lifecycle",
            "spec.owner",
            "spec.providesApis[0]",
        ]
    );
}

#[test]
fn references_default_to_the_entity_namespace() {
    let mut document = component();
    document["metadata"]["namespace"] = json!("alternative");
    document["spec"]["owner"] = json!("team-a");
    let entity = validate(&document, &Rules::default()).unwrap();
    let owners: Vec<String> = entity
        .referenced()
        .into_iter()
        .map(|(field, target)| format!("{field} {target}"))
        .collect();
    assert_eq!(owners, ["owner group:alternative/team-a"]);
}
