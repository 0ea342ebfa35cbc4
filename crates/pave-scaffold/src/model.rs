//! The typed Template entity (`scaffolder.backstage.io/v1beta3`).
//!
//! Parsing is strict about the fields the task runner relies on (step actions,
//! ids, the shape of outputs) and lenient about everything a form or a future
//! Backstage version may add: parameter pages keep their whole schema, `ui:*`
//! keys included.

use serde_json::{Map, Value};

/// The only Template apiVersion Pave runs.
pub const TEMPLATE_API_VERSION: &str = "scaffolder.backstage.io/v1beta3";

/// A parsed software template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.title`.
    pub title: Option<String>,
    /// `metadata.description`.
    pub description: Option<String>,
    /// `metadata.tags`.
    pub tags: Vec<String>,
    /// `spec.owner`, an entity reference as written.
    pub owner: Option<String>,
    /// `spec.type`, e.g. `service` or `website`.
    pub template_type: String,
    /// `spec.parameters`: one page per wizard step (a single schema is one page).
    pub parameters: Vec<ParameterPage>,
    /// `spec.steps`, in order.
    pub steps: Vec<Step>,
    /// `spec.output`.
    pub output: Output,
}

/// One page of the parameter form: a JSON Schema object whose properties are
/// parameter names.
#[derive(Debug, Clone, PartialEq)]
pub struct ParameterPage {
    /// The page title shown in the wizard.
    pub title: Option<String>,
    /// The page description.
    pub description: Option<String>,
    /// Names of parameters the page requires.
    pub required: Vec<String>,
    /// Parameter schemas by name, `ui:*` keys included.
    pub properties: Map<String, Value>,
    /// Backstage's page condition: `if: ${{ parameters.x === 'y' }}`. The page
    /// (its fields, defaults and validation) only applies when it holds. A JSON
    /// Schema `if` (an object) is not a page condition and stays in `schema`.
    pub condition: Option<Value>,
    /// The whole page as written, `ui:*` keys and page condition included.
    /// Use [`ParameterPage::validation_schema`] for validation.
    pub schema: Value,
}

/// One step of the template.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The step id other steps use in `steps.<id>.output`. Optional in
    /// Backstage; a step without one cannot be referred to.
    pub id: Option<String>,
    /// The display name.
    pub name: Option<String>,
    /// The action id, e.g. `fetch:template` or `publish:github`.
    pub action: String,
    /// The action input, unrendered (may contain expressions). Always an object.
    pub input: Value,
    /// `if`: a bool or an expression string; the step is skipped when it is falsy.
    pub if_condition: Option<Value>,
    /// `each`: an expression or a literal array/object to loop over.
    pub each: Option<Value>,
}

impl Step {
    /// A name for messages: the id, or the position when there is no id.
    pub fn label(&self, index: usize) -> String {
        match &self.id {
            Some(id) => id.clone(),
            None => format!("steps[{index}]"),
        }
    }
}

/// `spec.output`: what the user sees when the task finishes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Output {
    /// Links; values may be expressions.
    pub links: Vec<OutputLink>,
    /// Markdown texts; values may be expressions.
    pub text: Vec<OutputText>,
    /// Any other output keys (Backstage allows free-form outputs).
    pub other: Map<String, Value>,
}

/// One output link. Backstage requires `url` or `entityRef`.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputLink {
    /// Link text.
    pub title: Option<String>,
    /// Target URL (may be an expression).
    pub url: Option<Value>,
    /// Icon name.
    pub icon: Option<String>,
    /// Catalog entity to link to (may be an expression).
    pub entity_ref: Option<Value>,
    /// Optional `if` (bool or expression): the link is shown when it holds.
    pub if_condition: Option<Value>,
}

/// One output text block.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputText {
    /// Heading.
    pub title: Option<String>,
    /// Markdown content (may be an expression).
    pub content: Option<Value>,
    /// Optional `if` (bool or expression): the text is shown when it holds.
    pub if_condition: Option<Value>,
}

/// One thing wrong with a template entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    /// The field, e.g. `spec.steps[2].action`.
    pub path: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl std::fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// A template entity Pave cannot run; lists every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid template{}: {}", name.as_ref().map(|n| format!(" `{n}`")).unwrap_or_default(), problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct TemplateError {
    /// `metadata.name` when it could be read.
    pub name: Option<String>,
    /// Every problem found, in document order.
    pub problems: Vec<FieldProblem>,
}

/// Names a JSON type for messages.
pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
