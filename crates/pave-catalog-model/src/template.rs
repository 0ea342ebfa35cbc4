//! The structured parts of a `scaffolder.backstage.io/v1beta3` Template spec
//! (`Template.v1beta3.schema.json`): parameters, steps, output and the
//! presentation options. The flat fields (`type`, `owner`, `lifecycle`) are in
//! the field table in `kind.rs`.
//!
//! Only shapes are checked here. Parameter pages are JSON Schema documents and
//! step inputs hold `${{ }}` expressions; both are the scaffolder's business.

use serde_json::{Map, Value};

use crate::check::{self, Presence};
use crate::problem::{Problems, child, describe, item};

const PATH: &str = "spec";

/// Checks the template-specific parts of a Template spec.
pub(crate) fn check(spec: &Map<String, Value>, problems: &mut Problems) {
    check_parameters(spec, problems);
    check_steps(spec, problems);
    check_output(spec, problems);
    if let Some(secrets) = check::object(spec, PATH, "secrets", Presence::Optional, problems) {
        check::object(
            secrets,
            &child(PATH, "secrets"),
            "schema",
            Presence::Optional,
            problems,
        );
    }
    check_presentation(spec, problems);
    if let Some(recovery) = check::object(
        spec,
        PATH,
        "EXPERIMENTAL_recovery",
        Presence::Optional,
        problems,
    ) {
        let path = child(PATH, "EXPERIMENTAL_recovery");
        check::any_string(
            recovery,
            &path,
            "EXPERIMENTAL_strategy",
            Presence::Optional,
            problems,
        );
    }
    for key in ["formDecorators", "EXPERIMENTAL_formDecorators"] {
        check_decorators(spec, key, problems);
    }
}

/// One parameter page (a JSON Schema object) or a list of them.
fn check_parameters(spec: &Map<String, Value>, problems: &mut Problems) {
    let path = child(PATH, "parameters");
    match spec.get("parameters") {
        None => {}
        Some(Value::Object(page)) => check_permissions(page, &path, problems),
        Some(Value::Array(pages)) => {
            for (index, page) in pages.iter().enumerate() {
                let page_path = item(&path, index);
                if let Some(page) = check::as_object(page, &page_path, problems) {
                    check_permissions(page, &page_path, problems);
                }
            }
        }
        Some(other) => problems.push(
            path,
            format!(
                "must be an object (one parameter page) or an array of objects (one per page), found {}",
                describe(other)
            ),
        ),
    }
}

fn check_steps(spec: &Map<String, Value>, problems: &mut Problems) {
    let Some(steps) = check::array(spec, PATH, "steps", Presence::Required, problems) else {
        return;
    };
    let path = child(PATH, "steps");
    for (index, step) in steps.iter().enumerate() {
        let step_path = item(&path, index);
        let Some(step) = check::as_object(step, &step_path, problems) else {
            continue;
        };
        check::any_string(step, &step_path, "id", Presence::Optional, problems);
        check::any_string(step, &step_path, "name", Presence::Optional, problems);
        check::any_string(step, &step_path, "action", Presence::Required, problems);
        check::object(step, &step_path, "input", Presence::Optional, problems);
        check::condition(step, &step_path, problems);
        check_permissions(step, &step_path, problems);
    }
}

fn check_output(spec: &Map<String, Value>, problems: &mut Problems) {
    let Some(output) = check::object(spec, PATH, "output", Presence::Optional, problems) else {
        return;
    };
    let path = child(PATH, "output");
    for (key, value) in output {
        let entry_path = child(&path, key);
        match key.as_str() {
            "links" => check_entries(
                value,
                &entry_path,
                &["url", "entityRef", "title", "icon"],
                problems,
            ),
            "text" => {
                check_entries(value, &entry_path, &["title", "icon"], problems);
                if let Value::Array(entries) = value {
                    for (index, entry) in entries.iter().enumerate() {
                        if let Value::Object(entry) = entry {
                            let entry_item = item(&entry_path, index);
                            check::any_string(
                                entry,
                                &entry_item,
                                "content",
                                Presence::Optional,
                                problems,
                            );
                        }
                    }
                }
            }
            // Any other output is a string (usually an expression).
            _ => {
                check::string(value, &entry_path, problems);
            }
        }
    }
}

/// An array of output entries: objects with an optional `if` and the listed
/// keys as non-empty strings when present.
fn check_entries(value: &Value, path: &str, text_keys: &[&str], problems: &mut Problems) {
    let Value::Array(entries) = value else {
        problems.push(path, format!("must be an array, found {}", describe(value)));
        return;
    };
    for (index, entry) in entries.iter().enumerate() {
        let entry_path = item(path, index);
        let Some(entry) = check::as_object(entry, &entry_path, problems) else {
            continue;
        };
        check::condition(entry, &entry_path, problems);
        for key in text_keys {
            check::text(entry, &entry_path, key, Presence::Optional, problems);
        }
    }
}

fn check_presentation(spec: &Map<String, Value>, problems: &mut Problems) {
    let Some(presentation) =
        check::object(spec, PATH, "presentation", Presence::Optional, problems)
    else {
        return;
    };
    let path = child(PATH, "presentation");
    let Some(labels) = check::object(
        presentation,
        &path,
        "buttonLabels",
        Presence::Optional,
        problems,
    ) else {
        return;
    };
    let labels_path = child(&path, "buttonLabels");
    for key in ["backButtonText", "createButtonText", "reviewButtonText"] {
        check::any_string(labels, &labels_path, key, Presence::Optional, problems);
    }
}

fn check_decorators(spec: &Map<String, Value>, key: &str, problems: &mut Problems) {
    let Some(decorators) = check::array(spec, PATH, key, Presence::Optional, problems) else {
        return;
    };
    let path = child(PATH, key);
    for (index, decorator) in decorators.iter().enumerate() {
        let decorator_path = item(&path, index);
        if let Some(decorator) = check::as_object(decorator, &decorator_path, problems) {
            check::any_string(
                decorator,
                &decorator_path,
                "id",
                Presence::Optional,
                problems,
            );
            check::object(
                decorator,
                &decorator_path,
                "input",
                Presence::Optional,
                problems,
            );
        }
    }
}

/// `backstage:permissions: {tags: [string]}` on parameter pages and steps.
fn check_permissions(object: &Map<String, Value>, path: &str, problems: &mut Problems) {
    let key = "backstage:permissions";
    let Some(permissions) = check::object(object, path, key, Presence::Optional, problems) else {
        return;
    };
    let permissions_path = child(path, key);
    let Some(tags) = check::array(
        permissions,
        &permissions_path,
        "tags",
        Presence::Optional,
        problems,
    ) else {
        return;
    };
    let tags_path = child(&permissions_path, "tags");
    for (index, tag) in tags.iter().enumerate() {
        check::string(tag, &item(&tags_path, index), problems);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn problems(spec: Value) -> Vec<String> {
        let mut problems = Problems::default();
        check(spec.as_object().unwrap(), &mut problems);
        problems
            .into_vec()
            .into_iter()
            .map(|problem| problem.to_string())
            .collect()
    }

    #[test]
    fn a_complete_template_passes() {
        let spec = json!({
            "type": "service",
            "parameters": [
                {"title": "Fill in", "required": ["name"], "properties": {"name": {"type": "string"}},
                 "backstage:permissions": {"tags": ["secret"]}},
            ],
            "steps": [
                {"id": "fetch", "name": "Fetch", "action": "fetch:template",
                 "input": {"url": "./skeleton"}, "if": "${{ parameters.x }}"},
                {"action": "debug:log", "if": false},
            ],
            "output": {
                "links": [{"title": "Repository", "url": "${{ steps.publish.output.remoteUrl }}"},
                          {"entityRef": "${{ steps.register.output.entityRef }}", "icon": "catalog"}],
                "text": [{"title": "Done", "content": "**ok**"}],
                "remoteUrl": "${{ steps.publish.output.remoteUrl }}",
            },
            "presentation": {"buttonLabels": {"createButtonText": "Go"}},
            "EXPERIMENTAL_recovery": {"EXPERIMENTAL_strategy": "startOver"},
            "secrets": {"schema": {"type": "object"}},
        });
        assert_eq!(problems(spec), Vec::<String>::new());
    }

    #[test]
    fn steps_are_required_and_need_an_action() {
        assert_eq!(problems(json!({})), ["spec.steps: is required"]);
        assert_eq!(
            problems(json!({"steps": [{"id": "x"}, "debug:log", {"action": 3, "input": []}]})),
            [
                "spec.steps[0].action: is required",
                "spec.steps[1]: must be an object, found a string",
                "spec.steps[2].action: must be a string, found a number",
                "spec.steps[2].input: must be an object, found an array",
            ]
        );
    }

    #[test]
    fn parameters_are_an_object_or_an_array_of_objects() {
        assert!(problems(json!({"steps": [], "parameters": {"properties": {}}})).is_empty());
        assert_eq!(
            problems(json!({"steps": [], "parameters": "name"})),
            [
                "spec.parameters: must be an object (one parameter page) or an array of objects (one per page), found a string"
            ]
        );
        assert_eq!(
            problems(
                json!({"steps": [], "parameters": [1, {"backstage:permissions": {"tags": [2]}}]})
            ),
            [
                "spec.parameters[0]: must be an object, found a number",
                "spec.parameters[1].backstage:permissions.tags[0]: must be a string, found a number",
            ]
        );
    }

    #[test]
    fn output_entries_are_typed() {
        // Sorted: the order of object keys depends on serde_json's features.
        let mut found = problems(json!({"steps": [], "output": {
            "links": [{"url": ""}, {"if": 1}],
            "text": {"title": "x"},
            "other": 3,
        }}));
        found.sort();
        assert_eq!(
            found,
            [
                "spec.output.links[0].url: must not be empty",
                "spec.output.links[1].if: must be a string or a boolean, found a number",
                "spec.output.other: must be a string, found a number",
                "spec.output.text: must be an array, found an object",
            ]
        );
    }
}
