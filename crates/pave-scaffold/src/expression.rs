//! `${{ }}` expressions: rendering step inputs, conditions and `each` loops.
//!
//! Backstage evaluates expressions with Nunjucks; Pave uses minijinja with
//! `${{`/`}}` as variable delimiters. `{% %}` blocks and `{# #}` comments stay
//! active, as in Nunjucks, and a literal `{{ x }}` (Helm, GitHub Actions) is
//! left alone.
//!
//! Choices made for compatibility with Backstage:
//! - **Undefined values are chainable, not errors** (`UndefinedBehavior::Chainable`).
//!   Nunjucks renders a missing property as nothing and `a.b.c` on a missing
//!   `a` as undefined; templates rely on this for optional parameters (the
//!   sample templates pass `${{ parameters.description }}` whether or not it
//!   was filled in). A whole-value expression that is undefined removes the
//!   key from the rendered input (JSON drops `undefined`) and becomes `null`
//!   inside a list. The cost is that a misspelt name renders as nothing
//!   instead of failing; values are validated against the parameter schema
//!   before anything renders, which catches missing required parameters.
//! - **A whole-value expression keeps its JSON type**: `"${{ parameters.count }}"`
//!   renders the number, as Backstage's `| dump` + `JSON.parse` does. Mixed
//!   text renders a string.
//! - **Nunjucks' `===` and `!==`** are accepted (see `compat`), `null` is an
//!   alias of `none`, and values print as Nunjucks prints them (nothing for
//!   undefined/null, `a,b` for lists).
//!
//! Security: expressions are pure. The environment has no template loader and
//! is built without minijinja's `multi_template` feature, so `{% include %}`,
//! `{% import %}` and `{% extends %}` cannot read anything; no filter or
//! function touches files, the network, the clock or environment variables.
//! Work is bounded by minijinja fuel (instructions and memory), a recursion
//! limit, a nesting limit on inputs and a cap on rendered bytes.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, ErrorKind, UndefinedBehavior};
use serde_json::{Map, Value};

use crate::compat;
use crate::filters;
use crate::limits::{self, MAX_DEPTH, MAX_RENDERED_BYTES, MAX_STRING_BYTES};
use crate::model::Step;
use crate::text::TextOptions;

/// What a template can read while rendering.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Context {
    /// The submitted values (`parameters.x`), defaults applied.
    pub parameters: Value,
    /// Outputs of steps that already ran, by step id (`steps.<id>.output.x`).
    pub steps: BTreeMap<String, Value>,
    /// The user running the template (`user.entity`, `user.ref`).
    pub user: Option<UserContext>,
    /// Secrets submitted with the task (`secrets.x`).
    pub secrets: BTreeMap<String, String>,
    /// The current item of an `each` loop (`each.key`, `each.value`).
    pub each: Option<EachItem>,
}

/// The user running a template.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserContext {
    /// The user's catalog entity, when there is one.
    pub entity: Option<Value>,
    /// The user's entity reference, e.g. `user:default/jdoe`.
    pub entity_ref: String,
}

/// One item of an `each` loop. For a list the key is the index as a string
/// (`"0"`, `"1"`, …), as JavaScript's `Object.entries` gives.
#[derive(Debug, Clone, PartialEq)]
pub struct EachItem {
    /// The list index or object key.
    pub key: Value,
    /// The item.
    pub value: Value,
}

impl Context {
    /// A context with only `parameters`.
    pub fn new(parameters: Value) -> Self {
        Context {
            parameters,
            ..Context::default()
        }
    }

    /// This context with `each` set to `item`.
    pub fn with_each(&self, item: EachItem) -> Self {
        Context {
            each: Some(item),
            ..self.clone()
        }
    }

    fn to_template_value(&self) -> minijinja::Value {
        let mut root = Map::new();
        root.insert("parameters".into(), self.parameters.clone());
        let steps: Map<String, Value> = self
            .steps
            .iter()
            .map(|(id, output)| {
                let mut step = Map::new();
                step.insert("output".into(), output.clone());
                (id.clone(), Value::Object(step))
            })
            .collect();
        root.insert("steps".into(), Value::Object(steps));
        if let Some(user) = &self.user {
            let mut map = Map::new();
            if let Some(entity) = &user.entity {
                map.insert("entity".into(), entity.clone());
            }
            map.insert("ref".into(), Value::String(user.entity_ref.clone()));
            root.insert("user".into(), Value::Object(map));
        }
        let secrets: Map<String, Value> = self
            .secrets
            .iter()
            .map(|(key, value)| (key.clone(), Value::String(value.clone())))
            .collect();
        root.insert("secrets".into(), Value::Object(secrets));
        if let Some(each) = &self.each {
            let mut map = Map::new();
            map.insert("key".into(), each.key.clone());
            map.insert("value".into(), each.value.clone());
            root.insert("each".into(), Value::Object(map));
        }
        minijinja::Value::from(minijinja::value::Serde(Value::Object(root)))
    }
}

/// Broad class of an expression failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpressionErrorKind {
    /// The expression does not parse.
    Syntax,
    /// It parsed but failed while evaluating (a filter refused its input,
    /// an include was attempted, a value could not become JSON, …).
    Evaluation,
    /// It used more fuel, nesting or output than allowed.
    LimitExceeded,
}

/// An expression that could not be rendered, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}expression `{expression}`: {message}; {}", location(step_id.as_deref(), key_path), hint(*kind))]
pub struct ExpressionError {
    /// The step whose input was rendered, when known.
    pub step_id: Option<String>,
    /// Where in the value the expression is, e.g. `values.owner` or `files[1]`.
    pub key_path: String,
    /// The expression text as written (shortened past 200 characters).
    pub expression: String,
    /// What kind of failure.
    pub kind: ExpressionErrorKind,
    /// What went wrong.
    pub message: String,
}

fn location(step_id: Option<&str>, key_path: &str) -> String {
    match (step_id, key_path.is_empty()) {
        (Some(step), false) => format!("step `{step}`, input `{key_path}`: "),
        (Some(step), true) => format!("step `{step}`: "),
        (None, false) => format!("`{key_path}`: "),
        (None, true) => String::new(),
    }
}

fn hint(kind: ExpressionErrorKind) -> &'static str {
    match kind {
        ExpressionErrorKind::Syntax => "fix the expression syntax (Nunjucks-style, inside ${{ }})",
        ExpressionErrorKind::Evaluation => "check the expression and the values it reads",
        ExpressionErrorKind::LimitExceeded => {
            "simplify the expression or reduce the data it renders"
        }
    }
}

static ENVIRONMENT: LazyLock<Result<Environment<'static>, String>> = LazyLock::new(|| {
    build_environment(TextOptions::default(), limits::FUEL_PER_RENDER).map_err(|e| e.to_string())
});

pub(crate) fn build_environment(
    options: TextOptions,
    fuel: u64,
) -> Result<Environment<'static>, minijinja::Error> {
    // `Environment::new` has no loader; none is ever set (see the module docs).
    let mut env = Environment::new();
    // Cookiecutter templates use Jinja's own `{{ }}`, as Backstage's
    // `cookiecutterCompat` does; everything else uses `${{ }}`.
    let (open, close) = if options.cookiecutter_compat {
        ("{{", "}}")
    } else {
        ("${{", "}}")
    };
    env.set_syntax(
        SyntaxConfig::builder()
            .variable_delimiters(open, close)
            .keep_trailing_newline(true)
            .trim_blocks(options.trim_blocks)
            .lstrip_blocks(options.lstrip_blocks)
            .build()?,
    );
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    env.set_fuel(Some(fuel));
    env.set_recursion_limit(limits::RECURSION_LIMIT);
    env.set_formatter(|out, _state, value| {
        let mut text = String::new();
        filters::display_like_nunjucks(value, &mut text)?;
        out.write_str(&text)
            .map_err(|_| minijinja::Error::new(ErrorKind::WriteFailure, "could not write output"))
    });
    env.add_global("null", minijinja::Value::from(()));
    env.add_filter("parseRepoUrl", filters::parse_repo_url_filter);
    env.add_filter("parseEntityRef", filters::parse_entity_ref_filter);
    env.add_filter("pick", filters::pick_filter);
    env.add_filter("projectSlug", filters::project_slug_filter);
    env.add_filter("dump", filters::dump_filter);
    if options.cookiecutter_compat {
        // Cookiecutter's name for the same thing; Backstage registers it too.
        env.add_filter("jsonify", filters::dump_filter);
    }
    env.add_filter(
        "string",
        |value: minijinja::Value| -> Result<String, minijinja::Error> {
            let mut text = String::new();
            filters::display_like_nunjucks(&value, &mut text)?;
            Ok(text)
        },
    );
    Ok(env)
}

/// Renders every expression in `value` (strings at any depth; object keys are
/// not rendered), keeping JSON types for whole-value expressions.
pub fn render_value(value: &Value, context: &Context) -> Result<Value, ExpressionError> {
    let mut renderer = Renderer::new(context).map_err(|failure| failure.into_error(None))?;
    let rendered = renderer
        .render(value, "", 0)
        .map_err(|failure| failure.into_error(None))?;
    Ok(rendered.unwrap_or(Value::Null))
}

/// Renders a step's input; errors name the step.
pub fn render_step_input(step: &Step, context: &Context) -> Result<Value, ExpressionError> {
    render_value(&step.input, context).map_err(|mut error| {
        error.step_id.clone_from(&step.id);
        error
    })
}

/// Evaluates an `if` (a bool or an expression) with Backstage's truthiness:
/// false, undefined, null, `""`, `0` and `[]` are false.
pub fn evaluate_condition(condition: &Value, context: &Context) -> Result<bool, ExpressionError> {
    match condition {
        Value::Bool(holds) => Ok(*holds),
        Value::Null => Ok(false),
        other => {
            let mut renderer =
                Renderer::new(context).map_err(|failure| failure.into_error(None))?;
            let rendered = renderer
                .render(other, "if", 0)
                .map_err(|failure| failure.into_error(None))?;
            Ok(is_truthy(rendered.as_ref()))
        }
    }
}

/// Whether a step runs: its `if` holds (or it has none). Errors name the step.
pub fn step_should_run(step: &Step, context: &Context) -> Result<bool, ExpressionError> {
    match &step.if_condition {
        None => Ok(true),
        Some(condition) => evaluate_condition(condition, context).map_err(|mut error| {
            error.step_id.clone_from(&step.id);
            error
        }),
    }
}

/// The items a step's `each` loops over, or `None` when it has no `each`.
/// Render the input once per item with [`Context::with_each`].
pub fn each_items(
    step: &Step,
    context: &Context,
) -> Result<Option<Vec<EachItem>>, ExpressionError> {
    let Some(each) = &step.each else {
        return Ok(None);
    };
    let rendered = render_value(each, context).map_err(|mut error| {
        error.step_id.clone_from(&step.id);
        error.key_path = "each".into();
        error
    })?;
    let items = match rendered {
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(index, value)| EachItem {
                key: Value::String(index.to_string()),
                value,
            })
            .collect(),
        Value::Object(map) => map
            .into_iter()
            .map(|(key, value)| EachItem {
                key: Value::String(key),
                value,
            })
            .collect(),
        other => {
            return Err(ExpressionError {
                step_id: step.id.clone(),
                key_path: "each".into(),
                expression: shorten(&each.to_string()),
                kind: ExpressionErrorKind::Evaluation,
                message: format!(
                    "`each` must give a list or a mapping, got {}",
                    crate::model::kind_of(&other)
                ),
            });
        }
    };
    Ok(Some(items))
}

/// Backstage's `isTruthy`: lists are true when non-empty, otherwise JavaScript truthiness.
fn is_truthy(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::Bool(holds)) => *holds,
        Some(Value::Number(number)) => number.as_f64().is_some_and(|n| n != 0.0 && !n.is_nan()),
        Some(Value::String(text)) => !text.is_empty(),
        Some(Value::Array(items)) => !items.is_empty(),
        Some(Value::Object(_)) => true,
    }
}

/// A failure before the step id is known.
pub(crate) struct Failure {
    key_path: String,
    expression: String,
    pub(crate) kind: ExpressionErrorKind,
    pub(crate) message: String,
}

impl Failure {
    fn into_error(self, step_id: Option<String>) -> ExpressionError {
        ExpressionError {
            step_id,
            key_path: self.key_path,
            expression: self.expression,
            kind: self.kind,
            message: self.message,
        }
    }

    fn limit(key_path: &str, expression: &str, message: String) -> Failure {
        Failure {
            key_path: key_path.to_string(),
            expression: shorten(expression),
            kind: ExpressionErrorKind::LimitExceeded,
            message,
        }
    }

    pub(crate) fn from_minijinja(
        key_path: &str,
        expression: &str,
        error: &minijinja::Error,
    ) -> Failure {
        let kind = match error.kind() {
            ErrorKind::SyntaxError => ExpressionErrorKind::Syntax,
            ErrorKind::OutOfFuel => ExpressionErrorKind::LimitExceeded,
            _ if error.to_string().contains("recursion") => ExpressionErrorKind::LimitExceeded,
            _ => ExpressionErrorKind::Evaluation,
        };
        let loads_template = ["include", "import", "from", "extends"].iter().any(|tag| {
            error
                .detail()
                .is_some_and(|d| d.contains(&format!("unknown statement {tag}")))
        });
        let message = match (error.kind(), error.detail()) {
            (ErrorKind::SyntaxError, _) if loads_template => {
                "syntax error: include, import, from and extends are not available because expressions cannot read files; inline the content instead".to_string()
            }
            (ErrorKind::OutOfFuel, _) => {
                "the expression did too much work (out of fuel)".to_string()
            }
            (ErrorKind::SyntaxError, Some(detail)) => format!("syntax error: {detail}"),
            (_, Some(detail)) => detail.to_string(),
            (kind, None) => kind.to_string(),
        };
        Failure {
            key_path: key_path.to_string(),
            expression: shorten(expression),
            kind,
            message,
        }
    }
}

pub(crate) fn shorten(text: &str) -> String {
    const LIMIT: usize = 200;
    match text.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

struct Renderer<'a> {
    env: &'a Environment<'static>,
    context: minijinja::Value,
    rendered_bytes: usize,
}

impl<'a> Renderer<'a> {
    fn new(context: &Context) -> Result<Renderer<'a>, Failure> {
        let env = ENVIRONMENT.as_ref().map_err(|message| Failure {
            key_path: String::new(),
            expression: String::new(),
            kind: ExpressionErrorKind::Evaluation,
            message: format!("the expression engine could not start: {message}"),
        })?;
        Ok(Renderer {
            env,
            context: context.to_template_value(),
            rendered_bytes: 0,
        })
    }

    /// Renders one value; `None` means undefined (the key is dropped).
    fn render(
        &mut self,
        value: &Value,
        path: &str,
        depth: usize,
    ) -> Result<Option<Value>, Failure> {
        if depth > MAX_DEPTH {
            return Err(Failure::limit(
                path,
                "",
                format!("the value is nested deeper than {MAX_DEPTH} levels; flatten it"),
            ));
        }
        match value {
            Value::String(text) => self.render_string(text, path),
            Value::Array(items) => {
                let mut rendered = Vec::with_capacity(items.len());
                for (index, item) in items.iter().enumerate() {
                    let item_path = format!("{path}[{index}]");
                    rendered.push(
                        self.render(item, &item_path, depth + 1)?
                            .unwrap_or(Value::Null),
                    );
                }
                Ok(Some(Value::Array(rendered)))
            }
            Value::Object(map) => {
                let mut rendered = Map::new();
                for (key, item) in map {
                    let item_path = limits::join_key(path, key);
                    if let Some(item) = self.render(item, &item_path, depth + 1)? {
                        rendered.insert(key.clone(), item);
                    }
                }
                Ok(Some(Value::Object(rendered)))
            }
            scalar => Ok(Some(scalar.clone())),
        }
    }

    fn render_string(&mut self, text: &str, path: &str) -> Result<Option<Value>, Failure> {
        if !(text.contains("${{") || text.contains("{%") || text.contains("{#")) {
            self.charge(text.len(), path, text)?;
            return Ok(Some(Value::String(text.to_string())));
        }
        if text.len() > MAX_STRING_BYTES {
            return Err(Failure::limit(
                path,
                text,
                format!("the template text is longer than {MAX_STRING_BYTES} bytes"),
            ));
        }
        if let Some(inner) = whole_expression(text) {
            let source = compat::translate_expression(inner);
            let expression = self
                .env
                .compile_expression_owned(source)
                .map_err(|error| Failure::from_minijinja(path, text, &error))?;
            let result = expression
                .eval(self.context.clone())
                .map_err(|error| Failure::from_minijinja(path, text, &error))?;
            if result.is_undefined() {
                return Ok(None);
            }
            let json = filters::to_json(&result)
                .map_err(|error| Failure::from_minijinja(path, text, &error))?;
            let size = match &json {
                Value::String(s) => s.len(),
                Value::Array(_) | Value::Object(_) => json.to_string().len(),
                _ => 8,
            };
            self.charge(size, path, text)?;
            return Ok(Some(json));
        }
        let source = compat::translate_template(text);
        let rendered = self
            .env
            .render_str(&source, self.context.clone())
            .map_err(|error| Failure::from_minijinja(path, text, &error))?;
        self.charge(rendered.len(), path, text)?;
        Ok(Some(Value::String(rendered)))
    }

    fn charge(&mut self, bytes: usize, path: &str, text: &str) -> Result<(), Failure> {
        if bytes > MAX_STRING_BYTES {
            return Err(Failure::limit(
                path,
                text,
                format!("it rendered {bytes} bytes, more than the limit of {MAX_STRING_BYTES}"),
            ));
        }
        self.rendered_bytes = self.rendered_bytes.saturating_add(bytes);
        if self.rendered_bytes > MAX_RENDERED_BYTES {
            return Err(Failure::limit(
                path,
                text,
                format!("the rendered value exceeds the limit of {MAX_RENDERED_BYTES} bytes"),
            ));
        }
        Ok(())
    }
}

/// The expression inside a string that is exactly one `${{ … }}` (surrounding
/// whitespace allowed).
fn whole_expression(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix("${{")?.strip_suffix("}}")?;
    if inner.contains("${{") || inner.contains("}}") || inner.contains("{%") || inner.contains("{#")
    {
        return None;
    }
    Some(inner)
}
