//! Checking submitted values against the parameter pages, and filling in defaults.
//!
//! Every page's schema applies to the same values object (the wizard merges
//! its pages into one `parameters` object). A page with a Backstage `if`
//! condition only applies when the condition holds for the values.

use serde_json::{Map, Value};

use crate::expression::{Context, evaluate_condition};
use crate::limits;
use crate::model::{ParameterPage, Template};

/// Keys in these schema positions are names (of properties or definitions),
/// not schema keywords, so a name that happens to start with `ui:` is kept.
const NAME_MAPS: [&str; 6] = [
    "properties",
    "patternProperties",
    "dependencies",
    "dependentSchemas",
    "$defs",
    "definitions",
];

/// Keys whose values are data, not schemas: never rewritten.
const DATA_KEYS: [&str; 5] = ["enum", "const", "default", "examples", "required"];

impl ParameterPage {
    /// The page schema as plain JSON Schema: `ui:*` and `backstage:*` keys and
    /// the Backstage page condition removed.
    pub fn validation_schema(&self) -> Value {
        let mut schema = strip_form_keys(&self.schema, 0);
        if self.condition.is_some()
            && let Value::Object(map) = &mut schema
        {
            map.remove("if");
        }
        schema
    }

    fn applies(&self, values: &Value) -> Result<bool, ValueProblem> {
        let Some(condition) = &self.condition else {
            return Ok(true);
        };
        evaluate_condition(condition, &Context::new(values.clone())).map_err(|error| ValueProblem {
            path: String::new(),
            message: format!(
                "page {}: its `if` could not be evaluated: {error}",
                self.title.as_deref().unwrap_or("(untitled)")
            ),
        })
    }
}

fn strip_form_keys(schema: &Value, depth: usize) -> Value {
    // Page schemas passed the template's depth bound; this guard only keeps
    // the function safe when called on anything else.
    if depth > limits::MAX_DEPTH {
        return schema.clone();
    }
    match schema {
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, value) in map {
                if key.starts_with("ui:") || key.starts_with("backstage:") {
                    continue;
                }
                let value = if DATA_KEYS.contains(&key.as_str()) {
                    value.clone()
                } else if NAME_MAPS.contains(&key.as_str()) {
                    match value {
                        Value::Object(names) => Value::Object(
                            names
                                .iter()
                                .map(|(name, sub)| (name.clone(), strip_form_keys(sub, depth + 1)))
                                .collect(),
                        ),
                        other => other.clone(),
                    }
                } else {
                    strip_form_keys(value, depth + 1)
                };
                out.insert(key.clone(), value);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| strip_form_keys(item, depth + 1))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// One reason submitted values were refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueProblem {
    /// JSON Pointer to the parameter, e.g. `/name` or `/owner/displayName`;
    /// empty for the values as a whole.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for ValueProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Validates `values` against every applicable parameter page.
///
/// Does not fill defaults: call [`with_defaults`] first, as the task runner
/// does. Remote `$ref`s are refused (the validator is offline). Formats
/// (`email`, `uri`, `date`, …) are checked; unknown formats such as rjsf's
/// `data-url` are ignored. Messages for parameters marked as secret
/// (`ui:field: Secret`, `ui:widget: password`) do not repeat the value.
pub fn validate_values(template: &Template, values: &Value) -> Result<(), Vec<ValueProblem>> {
    check_values_shape(values)?;
    let mut problems: Vec<ValueProblem> = Vec::new();
    for (index, page) in template.parameters.iter().enumerate() {
        check_page(index, page, values, &mut problems);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// Validates `values` against one parameter page only, as a wizard does
/// when that page is submitted: the page's own schema (its `required`,
/// patterns, lengths, formats …) over the whole values object, so values of
/// other pages are neither needed nor checked.
///
/// The rules are those of [`validate_values`]: a page whose Backstage `if`
/// does not hold for `values` is not checked, and messages about secret
/// parameters do not repeat the value. A `page_index` past the last page is
/// a problem with an empty path.
pub fn validate_page(
    template: &Template,
    page_index: usize,
    values: &Value,
) -> Result<(), Vec<ValueProblem>> {
    check_values_shape(values)?;
    let Some(page) = template.parameters.get(page_index) else {
        return Err(vec![ValueProblem {
            path: String::new(),
            message: format!(
                "the template has {} parameter page(s); there is no page {}",
                template.parameters.len(),
                page_index + 1
            ),
        }]);
    };
    let mut problems = Vec::new();
    check_page(page_index, page, values, &mut problems);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// Values must be an object within the size bounds.
fn check_values_shape(values: &Value) -> Result<(), Vec<ValueProblem>> {
    if !values.is_object() {
        return Err(vec![ValueProblem {
            path: String::new(),
            message: format!(
                "expected an object of parameter values, found {}",
                crate::model::kind_of(values)
            ),
        }]);
    }
    if let Err(exceeded) = limits::check_json_bounds(values, "values") {
        return Err(vec![ValueProblem {
            path: String::new(),
            message: exceeded.to_string(),
        }]);
    }
    Ok(())
}

/// Adds the problems `values` have with page `index` (none when its `if`
/// does not hold).
fn check_page(
    index: usize,
    page: &ParameterPage,
    values: &Value,
    problems: &mut Vec<ValueProblem>,
) {
    match page.applies(values) {
        Ok(true) => {}
        Ok(false) => return,
        Err(problem) => {
            problems.push(problem);
            return;
        }
    }
    let schema = page.validation_schema();
    let validator = match jsonschema::options()
        .offline()
        .should_validate_formats(true)
        .build(&schema)
    {
        Ok(validator) => validator,
        Err(error) => {
            problems.push(ValueProblem {
                path: String::new(),
                message: format!(
                    "the schema of parameter page {} ({}) is invalid: {error}; fix the template",
                    index + 1,
                    page.title.as_deref().unwrap_or("untitled")
                ),
            });
            return;
        }
    };
    for error in validator.iter_errors(values) {
        let mut path = error.instance_path().as_str().to_string();
        if let jsonschema::error::ValidationErrorKind::Required { property } = error.kind() {
            let name = property
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| property.to_string());
            path = format!("{path}/{}", escape_pointer(&name));
        }
        let message = if is_secret(page, &path) {
            error.masked().to_string()
        } else {
            error.to_string()
        };
        let problem = ValueProblem { path, message };
        if !problems.contains(&problem) {
            problems.push(problem);
        }
    }
}

fn escape_pointer(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

/// Whether the top-level parameter at `path` is marked as a secret in `page`.
fn is_secret(page: &ParameterPage, path: &str) -> bool {
    let Some(name) = path.trim_start_matches('/').split('/').next() else {
        return false;
    };
    let name = name.replace("~1", "/").replace("~0", "~");
    let Some(schema) = page.properties.get(&name) else {
        return false;
    };
    schema.get("ui:field").and_then(Value::as_str) == Some("Secret")
        || schema.get("ui:widget").and_then(Value::as_str) == Some("password")
}

/// Returns `values` with each missing parameter that has a `default` filled
/// in, page by page (a conditional page's defaults apply only when its `if`
/// holds for the values so far). Nested object properties get their defaults
/// when the object is present. Defaults inside `allOf`/`oneOf`/`dependencies`
/// branches are not applied.
pub fn with_defaults(template: &Template, values: &Value) -> Value {
    let mut values = match values {
        Value::Object(_) => values.clone(),
        _ => Value::Object(Map::new()),
    };
    for page in &template.parameters {
        if !page.applies(&values).unwrap_or(false) {
            continue;
        }
        fill_defaults(&page.schema, &mut values, 0);
    }
    values
}

fn fill_defaults(schema: &Value, values: &mut Value, depth: usize) {
    if depth > limits::MAX_DEPTH {
        return;
    }
    let (Some(properties), Value::Object(target)) =
        (schema.get("properties").and_then(Value::as_object), values)
    else {
        return;
    };
    for (name, property) in properties {
        match target.get_mut(name) {
            Some(existing) => fill_defaults(property, existing, depth + 1),
            None => {
                if let Some(default) = property.get("default") {
                    let mut filled = default.clone();
                    fill_defaults(property, &mut filled, depth + 1);
                    target.insert(name.clone(), filled);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::parse_template;

    fn template() -> Template {
        parse_template(&json!({
            "apiVersion": "scaffolder.backstage.io/v1beta3",
            "kind": "Template",
            "metadata": {"name": "t"},
            "spec": {
                "type": "service",
                "parameters": [
                    {
                        "title": "About",
                        "required": ["name"],
                        "properties": {
                            "name": {"type": "string", "pattern": "^[a-z]+$"},
                            "token": {"type": "string", "minLength": 10, "ui:field": "Secret"}
                        }
                    },
                    {
                        "title": "Repository",
                        "required": ["repoUrl"],
                        "properties": {"repoUrl": {"type": "string"}}
                    },
                    {
                        "title": "Only for databases",
                        "if": "${{ parameters.kind === 'db' }}",
                        "required": ["size"],
                        "properties": {"size": {"type": "integer"}}
                    }
                ]
            }
        }))
        .unwrap()
    }

    #[test]
    fn a_page_is_checked_alone() {
        let template = template();
        // Page 1 does not need page 2's repoUrl.
        assert!(validate_page(&template, 0, &json!({"name": "orders"})).is_ok());
        assert!(validate_values(&template, &json!({"name": "orders"})).is_err());
        let problems = validate_page(&template, 0, &json!({"name": "Bad Name"})).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].path, "/name");
        let problems = validate_page(&template, 1, &json!({"name": "Bad Name"})).unwrap_err();
        assert_eq!(problems[0].path, "/repoUrl", "{problems:?}");
        assert!(problems.iter().all(|problem| problem.path != "/name"));
    }

    #[test]
    fn a_page_whose_condition_does_not_hold_is_not_checked() {
        let template = template();
        assert!(validate_page(&template, 2, &json!({"kind": "web"})).is_ok());
        let problems = validate_page(&template, 2, &json!({"kind": "db"})).unwrap_err();
        assert_eq!(problems[0].path, "/size");
    }

    #[test]
    fn page_problems_keep_secrets_out_and_name_a_missing_page() {
        let template = template();
        let problems =
            validate_page(&template, 0, &json!({"name": "ok", "token": "hunter2"})).unwrap_err();
        assert_eq!(problems[0].path, "/token");
        assert!(!problems[0].message.contains("hunter2"), "{}", problems[0]);
        let problems = validate_page(&template, 7, &json!({})).unwrap_err();
        assert!(problems[0].message.contains("no page 8"), "{}", problems[0]);
        assert!(validate_page(&template, 0, &json!([1])).is_err());
    }
}
