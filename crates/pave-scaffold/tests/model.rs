//! Parsing errors, bounds, and value validation on hand-written templates.

use pave_scaffold::{parse_template, validate_values, with_defaults};
use serde_json::{Value, json};

fn entity(spec: Value) -> Value {
    json!({
        "apiVersion": "scaffolder.backstage.io/v1beta3",
        "kind": "Template",
        "metadata": { "name": "t", "tags": ["x"] },
        "spec": spec,
    })
}

#[test]
fn errors_name_every_bad_field() {
    let error = parse_template(&entity(json!({
        "steps": [
            { "id": "a", "action": "debug:log" },
            { "id": "a", "action": "debug:log", "input": "nope" },
            { "id": "c", "if": 3 },
            "not a step"
        ],
        "output": { "links": [{ "title": "no target" }] },
        "parameters": 7
    })))
    .unwrap_err();
    let problems: Vec<String> = error.problems.iter().map(ToString::to_string).collect();
    let expected = [
        "spec.type: missing; set spec.type",
        "spec.parameters: expected a JSON Schema object or a list of them",
        "spec.steps[1].id: `a` is already used by spec.steps[0]",
        "spec.steps[1].input: expected a mapping of action inputs, found a string",
        "spec.steps[2].action: missing; set the action to run",
        "spec.steps[2].if: expected true, false or an expression",
        "spec.steps[3]: expected a step mapping",
        "spec.output.links[0]: a link needs `url` or `entityRef`",
    ];
    for prefix in expected {
        assert!(
            problems.iter().any(|p| p.starts_with(prefix)),
            "{prefix} not in {problems:#?}"
        );
    }
    assert_eq!(problems.len(), expected.len(), "{problems:#?}");
    assert!(error.to_string().starts_with("invalid template `t`: "));
}

#[test]
fn envelope_errors() {
    let error =
        parse_template(&json!({ "apiVersion": "backstage.io/v1beta2", "kind": "Component" }))
            .unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains("apiVersion: `backstage.io/v1beta2` is not supported"),
        "{text}"
    );
    assert!(text.contains("kind: expected `Template`"), "{text}");
    assert!(text.contains("metadata: missing"), "{text}");
    assert!(parse_template(&json!("x")).is_err());
}

#[test]
fn single_schema_parameters_are_one_page() {
    let template = parse_template(&entity(json!({
        "type": "service",
        "parameters": {
            "required": ["name"],
            "properties": { "name": { "type": "string", "ui:autofocus": true } },
            "if": { "properties": { "name": { "const": "x" } } },
            "then": { "required": ["extra"] }
        },
        "steps": [{ "action": "debug:log", "if": "${{ parameters.name }}", "each": ["a"] }]
    })))
    .unwrap();
    assert_eq!(template.parameters.len(), 1);
    // An object `if` is JSON Schema, not a page condition.
    assert!(template.parameters[0].condition.is_none());
    assert_eq!(template.steps[0].id, None);
    assert_eq!(template.steps[0].label(0), "steps[0]");
    assert_eq!(template.steps[0].input, json!({}));
    assert!(validate_values(&template, &json!({ "name": "y" })).is_ok());
    let problems = validate_values(&template, &json!({ "name": "x" })).unwrap_err();
    assert_eq!(problems[0].path, "/extra");
    let problems = validate_values(&template, &json!({ "name": 5 })).unwrap_err();
    assert_eq!(problems[0].path, "/name");
    assert!(problems[0].message.contains("string"), "{problems:?}");
    assert!(validate_values(&template, &json!([1])).is_err());
}

#[test]
fn deeply_nested_or_huge_templates_are_refused() {
    let mut deep = json!("leaf");
    for _ in 0..1_000 {
        deep = json!([deep]);
    }
    let error = parse_template(&entity(
        json!({ "type": "service", "steps": [{ "action": "a", "input": { "x": deep } }] }),
    ))
    .unwrap_err();
    assert!(
        error.problems[0].message.contains("nested deeper than 64"),
        "{error}"
    );

    let wide: Vec<Value> = (0..200_000).map(Value::from).collect();
    let error = parse_template(&entity(
        json!({ "type": "service", "steps": [{ "action": "a", "input": { "x": wide } }] }),
    ))
    .unwrap_err();
    assert!(
        error.to_string().contains("more than 100000 values"),
        "{error}"
    );

    let long = "x".repeat(2 * 1024 * 1024);
    let error = parse_template(&entity(
        json!({ "type": "service", "steps": [{ "action": "a", "input": { "x": long } }] }),
    ))
    .unwrap_err();
    assert_eq!(error.problems[0].path, "spec.steps[0].input.x");
    assert!(
        error.problems[0].message.contains("longer than the limit"),
        "{error}"
    );
}

#[test]
fn secrets_are_not_echoed_in_problems() {
    let template = parse_template(&entity(json!({
        "type": "service",
        "parameters": [{
            "properties": {
                "token": { "type": "string", "minLength": 20, "ui:field": "Secret" },
                "name": { "type": "string", "minLength": 20 }
            }
        }],
        "steps": [{ "action": "a" }]
    })))
    .unwrap();
    let problems =
        validate_values(&template, &json!({ "token": "hunter2", "name": "visible" })).unwrap_err();
    let token = problems.iter().find(|p| p.path == "/token").unwrap();
    assert!(!token.message.contains("hunter2"), "{token}");
    let name = problems.iter().find(|p| p.path == "/name").unwrap();
    assert!(name.message.contains("visible"), "{name}");
}

#[test]
fn defaults_fill_nested_objects_and_keep_given_values() {
    let template = parse_template(&entity(json!({
        "type": "service",
        "parameters": [{
            "properties": {
                "name": { "type": "string", "default": "svc" },
                "advanced": {
                    "type": "object",
                    "properties": {
                        "replicas": { "type": "integer", "default": 2 },
                        "network": { "type": "object", "default": {}, "properties": { "port": { "default": 80 } } }
                    }
                },
                "ui:weird": { "type": "string", "default": "kept" }
            }
        }],
        "steps": [{ "action": "a" }]
    })))
    .unwrap();
    let values = with_defaults(&template, &json!({ "name": "given", "advanced": {} }));
    assert_eq!(
        values,
        json!({ "name": "given", "advanced": { "replicas": 2, "network": { "port": 80 } }, "ui:weird": "kept" })
    );
    // Missing objects without a default are not invented.
    let values = with_defaults(&template, &json!({}));
    assert_eq!(values, json!({ "name": "svc", "ui:weird": "kept" }));
    // A property named `ui:…` is a name, not a form key: it stays in the schema.
    assert!(
        template.parameters[0].validation_schema()["properties"]
            .get("ui:weird")
            .is_some()
    );
}

#[test]
fn remote_refs_are_not_fetched() {
    let template = parse_template(&entity(json!({
        "type": "service",
        "parameters": [{ "properties": { "x": { "$ref": "https://example.com/schema.json" } } }],
        "steps": [{ "action": "a" }]
    })))
    .unwrap();
    let problems = validate_values(&template, &json!({ "x": 1 })).unwrap_err();
    assert!(problems[0].message.contains("is invalid"), "{problems:?}");
}
