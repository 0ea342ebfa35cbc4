//! Parsing a Template entity into the typed model, collecting every problem.

use serde_json::{Map, Value};

use crate::limits::{self, join_key};
use crate::model::{
    FieldProblem, Output, OutputLink, OutputText, ParameterPage, Step, TEMPLATE_API_VERSION,
    Template, TemplateError, kind_of,
};

/// Collects problems while parsing so that one pass reports them all.
#[derive(Default)]
struct Problems(Vec<FieldProblem>);

impl Problems {
    fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldProblem {
            path: path.into(),
            message: message.into(),
        });
    }

    /// A required string field.
    fn required_string(
        &mut self,
        object: &Map<String, Value>,
        parent: &str,
        key: &str,
        hint: &str,
    ) -> String {
        let path = join_key(parent, key);
        match object.get(key) {
            Some(Value::String(text)) if !text.trim().is_empty() => text.clone(),
            Some(Value::String(_)) => {
                self.push(path, format!("empty; {hint}"));
                String::new()
            }
            None | Some(Value::Null) => {
                self.push(path, format!("missing; {hint}"));
                String::new()
            }
            Some(other) => {
                self.push(
                    path,
                    format!("expected a string, found {}; {hint}", kind_of(other)),
                );
                String::new()
            }
        }
    }

    /// An optional string field.
    fn optional_string(
        &mut self,
        object: &Map<String, Value>,
        parent: &str,
        key: &str,
    ) -> Option<String> {
        match object.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => Some(text.clone()),
            Some(other) => {
                self.push(
                    join_key(parent, key),
                    format!(
                        "expected a string, found {}; quote the value",
                        kind_of(other)
                    ),
                );
                None
            }
        }
    }

    /// An optional field that must be a bool or an expression string.
    fn optional_condition(
        &mut self,
        object: &Map<String, Value>,
        parent: &str,
        key: &str,
    ) -> Option<Value> {
        match object.get(key) {
            None | Some(Value::Null) => None,
            Some(value @ (Value::Bool(_) | Value::String(_))) => Some(value.clone()),
            Some(other) => {
                self.push(
                    join_key(parent, key),
                    format!(
                        "expected true, false or an expression like ${{{{ parameters.enabled }}}}, found {}",
                        kind_of(other)
                    ),
                );
                None
            }
        }
    }
}

/// Parses a Template entity as the catalog stores it (the whole entity:
/// `apiVersion`, `kind`, `metadata`, `spec`).
///
/// Refuses entities nested deeper than [`limits::MAX_DEPTH`], with more than
/// [`limits::MAX_NODES`] values or with strings over
/// [`limits::MAX_STRING_BYTES`].
pub fn parse_template(entity: &Value) -> Result<Template, TemplateError> {
    let mut problems = Problems::default();
    let name_hint = entity
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .map(str::to_string);
    if let Err(exceeded) = limits::check_json_bounds(entity, "") {
        let path = match &exceeded {
            limits::BoundExceeded::Depth { path } | limits::BoundExceeded::String { path, .. } => {
                path.clone()
            }
            limits::BoundExceeded::Nodes => "(template)".to_string(),
        };
        let message = exceeded.to_string();
        let message = message
            .strip_prefix(&format!("{path}: "))
            .unwrap_or(&message)
            .to_string();
        return Err(TemplateError {
            name: name_hint,
            problems: vec![FieldProblem {
                path: if path.is_empty() {
                    "(template)".into()
                } else {
                    path
                },
                message,
            }],
        });
    }
    let Some(root) = entity.as_object() else {
        return Err(TemplateError {
            name: None,
            problems: vec![FieldProblem {
                path: "(template)".into(),
                message: format!("expected an entity object, found {}", kind_of(entity)),
            }],
        });
    };

    match root.get("apiVersion").and_then(Value::as_str) {
        Some(TEMPLATE_API_VERSION) => {}
        Some(other) => problems.push(
            "apiVersion",
            format!(
                "`{other}` is not supported; Pave runs `{TEMPLATE_API_VERSION}` templates (migrate older ones as Backstage's v1beta3 migration guide describes)"
            ),
        ),
        None => problems.push("apiVersion", format!("missing; set it to `{TEMPLATE_API_VERSION}`")),
    }
    match root.get("kind").and_then(Value::as_str) {
        Some("Template") => {}
        Some(other) => problems.push("kind", format!("expected `Template`, found `{other}`")),
        None => problems.push("kind", "missing; set it to `Template`"),
    }

    let empty = Map::new();
    let metadata = object_field(root, "", "metadata", &mut problems).unwrap_or(&empty);
    let name = problems.required_string(metadata, "metadata", "name", "give the template a name");
    let title = problems.optional_string(metadata, "metadata", "title");
    let description = problems.optional_string(metadata, "metadata", "description");
    let tags = parse_tags(metadata, &mut problems);

    let spec = object_field(root, "", "spec", &mut problems).unwrap_or(&empty);
    let owner = problems.optional_string(spec, "spec", "owner");
    let template_type = problems.required_string(
        spec,
        "spec",
        "type",
        "set spec.type, e.g. `service` or `website`",
    );
    let parameters = parse_parameters(spec.get("parameters"), &mut problems);
    let steps = parse_steps(spec.get("steps"), &mut problems);
    let output = parse_output(spec.get("output"), &mut problems);

    if problems.0.is_empty() {
        Ok(Template {
            name,
            title,
            description,
            tags,
            owner,
            template_type,
            parameters,
            steps,
            output,
        })
    } else {
        Err(TemplateError {
            name: name_hint,
            problems: problems.0,
        })
    }
}

/// A required object field.
fn object_field<'a>(
    object: &'a Map<String, Value>,
    parent: &str,
    key: &str,
    problems: &mut Problems,
) -> Option<&'a Map<String, Value>> {
    match object.get(key) {
        Some(Value::Object(map)) => Some(map),
        None | Some(Value::Null) => {
            problems.push(join_key(parent, key), "missing; add it as a mapping");
            None
        }
        Some(other) => {
            problems.push(
                join_key(parent, key),
                format!("expected a mapping, found {}", kind_of(other)),
            );
            None
        }
    }
}

fn parse_tags(metadata: &Map<String, Value>, problems: &mut Problems) -> Vec<String> {
    match metadata.get("tags") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .filter_map(|(index, item)| match item {
                Value::String(tag) => Some(tag.clone()),
                other => {
                    problems.push(
                        format!("metadata.tags[{index}]"),
                        format!("expected a string, found {}", kind_of(other)),
                    );
                    None
                }
            })
            .collect(),
        Some(other) => {
            problems.push(
                "metadata.tags",
                format!("expected a list of strings, found {}", kind_of(other)),
            );
            Vec::new()
        }
    }
}

fn parse_parameters(value: Option<&Value>, problems: &mut Problems) -> Vec<ParameterPage> {
    match value {
        None | Some(Value::Null) => Vec::new(),
        Some(page @ Value::Object(_)) => parse_page(page, "spec.parameters", problems)
            .into_iter()
            .collect(),
        Some(Value::Array(pages)) => pages
            .iter()
            .enumerate()
            .filter_map(|(index, page)| {
                parse_page(page, &format!("spec.parameters[{index}]"), problems)
            })
            .collect(),
        Some(other) => {
            problems.push(
                "spec.parameters",
                format!(
                    "expected a JSON Schema object or a list of them (one per page), found {}",
                    kind_of(other)
                ),
            );
            Vec::new()
        }
    }
}

fn parse_page(page: &Value, path: &str, problems: &mut Problems) -> Option<ParameterPage> {
    let Some(object) = page.as_object() else {
        problems.push(
            path,
            format!(
                "expected a JSON Schema object for this page, found {}",
                kind_of(page)
            ),
        );
        return None;
    };
    let title = problems.optional_string(object, path, "title");
    let description = problems.optional_string(object, path, "description");
    let required = match object.get("required") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(names)) => names
            .iter()
            .enumerate()
            .filter_map(|(index, name)| match name {
                Value::String(name) => Some(name.clone()),
                other => {
                    problems.push(
                        format!("{path}.required[{index}]"),
                        format!("expected a parameter name, found {}", kind_of(other)),
                    );
                    None
                }
            })
            .collect(),
        Some(other) => {
            problems.push(
                join_key(path, "required"),
                format!(
                    "expected a list of parameter names, found {}",
                    kind_of(other)
                ),
            );
            Vec::new()
        }
    };
    let properties = match object.get("properties") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(properties)) => {
            for (name, schema) in properties {
                if !matches!(schema, Value::Object(_) | Value::Bool(_)) {
                    problems.push(
                        format!("{path}.properties.{name}"),
                        format!("expected a JSON Schema object, found {}", kind_of(schema)),
                    );
                }
            }
            properties.clone()
        }
        Some(other) => {
            problems.push(
                join_key(path, "properties"),
                format!(
                    "expected a mapping of parameter names to schemas, found {}",
                    kind_of(other)
                ),
            );
            Map::new()
        }
    };
    // A string `if` is Backstage's page condition; an object or bool `if` is
    // JSON Schema's conditional and belongs to the schema.
    let condition = match object.get("if") {
        Some(Value::String(expression)) => Some(Value::String(expression.clone())),
        _ => None,
    };
    Some(ParameterPage {
        title,
        description,
        required,
        properties,
        condition,
        schema: page.clone(),
    })
}

fn parse_steps(value: Option<&Value>, problems: &mut Problems) -> Vec<Step> {
    let steps = match value {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Array(steps)) => steps,
        Some(other) => {
            problems.push(
                "spec.steps",
                format!("expected a list of steps, found {}", kind_of(other)),
            );
            return Vec::new();
        }
    };
    let mut seen_ids: Vec<(String, usize)> = Vec::new();
    let mut parsed = Vec::with_capacity(steps.len());
    for (index, step) in steps.iter().enumerate() {
        let path = format!("spec.steps[{index}]");
        let Some(object) = step.as_object() else {
            problems.push(
                path,
                format!(
                    "expected a step mapping with `id` and `action`, found {}",
                    kind_of(step)
                ),
            );
            continue;
        };
        let id = match object.get("id") {
            None | Some(Value::Null) => None,
            Some(Value::String(id)) if id.trim().is_empty() => {
                problems.push(
                    format!("{path}.id"),
                    "empty; give the step an id or remove the key",
                );
                None
            }
            Some(Value::String(id)) => {
                if let Some((_, first)) = seen_ids.iter().find(|(seen, _)| seen == id) {
                    problems.push(
                        format!("{path}.id"),
                        format!(
                            "`{id}` is already used by spec.steps[{first}]; step ids must be unique"
                        ),
                    );
                } else {
                    seen_ids.push((id.clone(), index));
                }
                Some(id.clone())
            }
            Some(other) => {
                problems.push(
                    format!("{path}.id"),
                    format!("expected a string, found {}", kind_of(other)),
                );
                None
            }
        };
        let name = problems.optional_string(object, &path, "name");
        let action = problems.required_string(
            object,
            &path,
            "action",
            "set the action to run, e.g. `fetch:template` or `publish:github`",
        );
        let input = match object.get("input") {
            None | Some(Value::Null) => Value::Object(Map::new()),
            Some(input @ Value::Object(_)) => input.clone(),
            Some(other) => {
                problems.push(
                    format!("{path}.input"),
                    format!(
                        "expected a mapping of action inputs, found {}",
                        kind_of(other)
                    ),
                );
                Value::Object(Map::new())
            }
        };
        let if_condition = problems.optional_condition(object, &path, "if");
        let each = match object.get("each") {
            None | Some(Value::Null) => None,
            Some(each @ (Value::String(_) | Value::Array(_) | Value::Object(_))) => {
                Some(each.clone())
            }
            Some(other) => {
                problems.push(
                    format!("{path}.each"),
                    format!(
                        "expected a list, a mapping or an expression like ${{{{ parameters.items }}}}, found {}",
                        kind_of(other)
                    ),
                );
                None
            }
        };
        parsed.push(Step {
            id,
            name,
            action,
            input,
            if_condition,
            each,
        });
    }
    parsed
}

fn parse_output(value: Option<&Value>, problems: &mut Problems) -> Output {
    let object = match value {
        None | Some(Value::Null) => return Output::default(),
        Some(Value::Object(object)) => object,
        Some(other) => {
            problems.push(
                "spec.output",
                format!(
                    "expected a mapping with `links` and/or `text`, found {}",
                    kind_of(other)
                ),
            );
            return Output::default();
        }
    };
    let mut output = Output::default();
    for (key, value) in object {
        match key.as_str() {
            "links" => {
                for (index, link) in list_of_objects(value, "spec.output.links", problems) {
                    let path = format!("spec.output.links[{index}]");
                    let url = link.get("url").filter(|v| !v.is_null()).cloned();
                    let entity_ref = link.get("entityRef").filter(|v| !v.is_null()).cloned();
                    if url.is_none() && entity_ref.is_none() {
                        problems.push(&path, "a link needs `url` or `entityRef`");
                    }
                    output.links.push(OutputLink {
                        title: problems.optional_string(link, &path, "title"),
                        url,
                        icon: problems.optional_string(link, &path, "icon"),
                        entity_ref,
                        if_condition: problems.optional_condition(link, &path, "if"),
                    });
                }
            }
            "text" => {
                for (index, text) in list_of_objects(value, "spec.output.text", problems) {
                    let path = format!("spec.output.text[{index}]");
                    output.text.push(OutputText {
                        title: problems.optional_string(text, &path, "title"),
                        content: text.get("content").filter(|v| !v.is_null()).cloned(),
                        if_condition: problems.optional_condition(text, &path, "if"),
                    });
                }
            }
            _ => {
                output.other.insert(key.clone(), value.clone());
            }
        }
    }
    output
}

fn list_of_objects<'a>(
    value: &'a Value,
    path: &str,
    problems: &mut Problems,
) -> Vec<(usize, &'a Map<String, Value>)> {
    match value {
        Value::Null => Vec::new(),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .filter_map(|(index, item)| match item {
                Value::Object(object) => Some((index, object)),
                other => {
                    problems.push(
                        format!("{path}[{index}]"),
                        format!("expected a mapping, found {}", kind_of(other)),
                    );
                    None
                }
            })
            .collect(),
        other => {
            problems.push(path, format!("expected a list, found {}", kind_of(other)));
            Vec::new()
        }
    }
}
