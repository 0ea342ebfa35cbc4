//! Crafted invalid entities, each with the problem path we must report and
//! what Backstage's JSON schemas say about it.
//!
//! The JSON schemas are only part of Backstage's validation: names, namespaces,
//! label keys and values, tags, link URLs and the apiVersion format are checked
//! by code (`FieldFormatEntityPolicy` with `makeValidator`), and references by
//! `parseEntityRef` in `BuiltinKindsEntityProcessor`. The schemas accept such
//! documents (e.g. `metadata.name` is only `minLength: 1`). For those cases
//! `schema` is [`SchemaVerdict::Accepts`] with the code rule that rejects them;
//! we must reject them either way.

use serde_json::{Value, json};

/// What the JSON schemas say about a crafted document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaVerdict {
    /// The schemas reject it too.
    Rejects,
    /// The schemas accept it; the named Backstage code rule rejects it.
    Accepts(&'static str),
}

/// One crafted invalid entity.
pub struct Crafted {
    pub label: &'static str,
    pub document: Value,
    /// A path our problems must include.
    pub path: &'static str,
    pub schema: SchemaVerdict,
}

const FIELD_FORMAT: &str = "FieldFormatEntityPolicy";
const PARSE_REF: &str = "parseEntityRef in BuiltinKindsEntityProcessor";

fn component(edit: impl FnOnce(&mut Value)) -> Value {
    let mut document = json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": "artist-web", "tags": ["web"]},
        "spec": {"type": "website", "lifecycle": "production", "owner": "team-a",
                 "providesApis": ["artist-api"], "dependsOn": ["resource:artists-db"]},
    });
    edit(&mut document);
    document
}

fn entity(kind: &str, spec: Value) -> Value {
    json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": kind,
        "metadata": {"name": "crafted"},
        "spec": spec,
    })
}

fn template(spec: Value) -> Value {
    json!({
        "apiVersion": "scaffolder.backstage.io/v1beta3",
        "kind": "Template",
        "metadata": {"name": "crafted"},
        "spec": spec,
    })
}

fn case(
    label: &'static str,
    document: Value,
    path: &'static str,
    schema: SchemaVerdict,
) -> Crafted {
    Crafted {
        label,
        document,
        path,
        schema,
    }
}

/// Every crafted case.
// One case per line reads as a table; rustfmt would spread each over many.
#[rustfmt::skip]
pub fn cases() -> Vec<Crafted> {
    use SchemaVerdict::{Accepts, Rejects};
    vec![
        case("name with a space", component(|d| d["metadata"]["name"] = json!("artist web")), "metadata.name", Accepts(FIELD_FORMAT)),
        case("name of 64 characters", component(|d| d["metadata"]["name"] = json!("a".repeat(64))), "metadata.name", Accepts(FIELD_FORMAT)),
        case("name starting with a dash", component(|d| d["metadata"]["name"] = json!("-artist")), "metadata.name", Accepts(FIELD_FORMAT)),
        case("empty name", component(|d| d["metadata"]["name"] = json!("")), "metadata.name", Rejects),
        case("name not a string", component(|d| d["metadata"]["name"] = json!(42)), "metadata.name", Rejects),
        case("upper-case namespace", component(|d| d["metadata"]["namespace"] = json!("Default")), "metadata.namespace", Accepts(FIELD_FORMAT)),
        case("namespace with underscore", component(|d| d["metadata"]["namespace"] = json!("my_ns")), "metadata.namespace", Accepts(FIELD_FORMAT)),
        case("owner with two colons", component(|d| d["spec"]["owner"] = json!("Foo:bar:baz")), "spec.owner", Accepts(PARSE_REF)),
        case("providesApis item with two slashes", component(|d| d["spec"]["providesApis"] = json!(["api:a/b/c"])), "spec.providesApis[0]", Accepts(PARSE_REF)),
        case("dependsOn without a kind", component(|d| d["spec"]["dependsOn"] = json!(["resource:ok", "artists-db"])), "spec.dependsOn[1]", Accepts(PARSE_REF)),
        case("system with empty name", component(|d| d["spec"]["system"] = json!("system:")), "spec.system", Accepts(PARSE_REF)),
        case("label key with two slashes", component(|d| d["metadata"]["labels"] = json!({"foo/bar/baz": "x"})), "metadata.labels.foo/bar/baz", Accepts(FIELD_FORMAT)),
        case("label key with upper-case prefix", component(|d| d["metadata"]["labels"] = json!({"Example.com/x": "x"})), "metadata.labels.Example.com/x", Accepts(FIELD_FORMAT)),
        case("label value with spaces", component(|d| d["metadata"]["labels"] = json!({"product": "Random value Generator"})), "metadata.labels.product", Accepts(FIELD_FORMAT)),
        case("label value not a string", component(|d| d["metadata"]["labels"] = json!({"version": 2})), "metadata.labels.version", Rejects),
        case("annotation key with a space", component(|d| d["metadata"]["annotations"] = json!({"my key": "x"})), "metadata.annotations.my key", Accepts(FIELD_FORMAT)),
        case("annotation value not a string", component(|d| d["metadata"]["annotations"] = json!({"example.com/flag": true})), "metadata.annotations.example.com/flag", Rejects),
        case("tag with a space", component(|d| d["metadata"]["tags"] = json!(["go", "go 1.15.3"])), "metadata.tags[1]", Accepts(FIELD_FORMAT)),
        case("upper-case tag", component(|d| d["metadata"]["tags"] = json!(["Java"])), "metadata.tags[0]", Accepts(FIELD_FORMAT)),
        case("empty tag", component(|d| d["metadata"]["tags"] = json!([""])), "metadata.tags[0]", Rejects),
        case("tags not an array", component(|d| d["metadata"]["tags"] = json!("java")), "metadata.tags", Rejects),
        case("link without url", component(|d| d["metadata"]["links"] = json!([{"title": "Docs"}])), "metadata.links[0].url", Rejects),
        case("link url not absolute", component(|d| d["metadata"]["links"] = json!([{"url": "docs/index.html"}])), "metadata.links[0].url", Accepts(FIELD_FORMAT)),
        case("empty title", component(|d| d["metadata"]["title"] = json!("")), "metadata.title", Rejects),
        case("metadata missing", component(|d| { d.as_object_mut().unwrap().remove("metadata"); }), "metadata", Rejects),
        case("unknown root field", component(|d| d["extra"] = json!({})), "extra", Rejects),
        case("apiVersion with a dot in the version", component(|d| { d["apiVersion"] = json!("example.com/v1.0"); d["kind"] = json!("Widget"); }), "apiVersion", Accepts(FIELD_FORMAT)),
        case("miscased built-in kind", component(|d| d["kind"] = json!("component")), "kind", Rejects),
        case("Component without owner", component(|d| { d["spec"].as_object_mut().unwrap().remove("owner"); }), "spec.owner", Rejects),
        case("Component with empty type", component(|d| d["spec"]["type"] = json!("")), "spec.type", Rejects),
        case("Component without spec", component(|d| { d.as_object_mut().unwrap().remove("spec"); }), "spec", Rejects),
        case("Component providesApis not an array", component(|d| d["spec"]["providesApis"] = json!("artist-api")), "spec.providesApis", Rejects),
        case("API without definition", entity("API", json!({"type": "openapi", "lifecycle": "production", "owner": "team-a"})), "spec.definition", Rejects),
        case("API definition not a string", entity("API", json!({"type": "openapi", "lifecycle": "production", "owner": "team-a", "definition": 3})), "spec.definition", Rejects),
        case("MCP server API without remotes", entity("API", json!({"type": "mcp-server", "lifecycle": "production", "owner": "team-a", "remotes": []})), "spec.remotes", Rejects),
        case("Resource without type", entity("Resource", json!({"owner": "team-a"})), "spec.type", Rejects),
        case("System owner not a string", entity("System", json!({"owner": ["team-a"]})), "spec.owner", Rejects),
        case("Domain without owner", entity("Domain", json!({"subdomainOf": "audio"})), "spec.owner", Rejects),
        case("Group without children", entity("Group", json!({"type": "team"})), "spec.children", Rejects),
        case("User memberOf not an array", entity("User", json!({"memberOf": "team-a"})), "spec.memberOf", Rejects),
        case("Location with unknown presence", entity("Location", json!({"target": "./a.yaml", "presence": "maybe"})), "spec.presence", Rejects),
        case("Template without steps", template(json!({"type": "service"})), "spec.steps", Rejects),
        case("Template step without action", template(json!({"type": "service", "steps": [{"id": "x"}]})), "spec.steps[0].action", Rejects),
        case("Template parameters a string", template(json!({"type": "service", "steps": [], "parameters": "name"})), "spec.parameters", Rejects),
        case("Template output link if a number", template(json!({"type": "service", "steps": [], "output": {"links": [{"url": "x", "if": 1}]}})), "spec.output.links[0].if", Rejects),
    ]
}
