//! The wizard's form model, pure (no IO): a template's parameter page, the
//! values so far and the problems found become fields a page template can
//! draw; a submitted page becomes values (and secrets) again; and the values
//! become the review page's rows.
//!
//! Form input names: `p:<name>` for a parameter (repeated for checkbox
//! lists), and `host:<name>`, `owner:<name>`, `repo:<name>` for the parts of
//! a RepoUrlPicker. Secrets (`ui:field: Secret`, `ui:widget: password`) go
//! to the task's secrets; the values get only a mask of `*` as long as the
//! secret (as Backstage's Secret field does, so `required` and length rules
//! still hold), and the form never shows either.

use std::collections::{BTreeMap, HashMap};

use pave_scaffold::{ParameterPage, Template, ValueProblem, parse_repo_url};
use serde_json::{Map, Value};

/// The host Pave's own git hosting answers to in a RepoUrlPicker value.
const PAVE_HOST: &str = "pave";
/// The most filter alternatives a picker's `catalogFilter` may expand to.
const MAX_PICKER_FILTERS: usize = 20;
/// Shown for a secret on the review page.
pub const SECRET_SHOWN: &str = "••••";

/// One option of a select or a checkbox list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// A catalog entity a picker offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickerEntity {
    /// `kind:namespace/name`, the value the parameter gets.
    pub reference: String,
    /// Title or display name, when the entity has one.
    pub title: String,
}

/// The parts of a RepoUrlPicker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoParts {
    /// HTML ids of the host select and the repository input (the owner's
    /// is the field's id).
    pub host_id: String,
    pub repo_id: String,
    pub hosts: Vec<Choice>,
    pub owner: String,
    /// `ui:options.allowedOwners`, when the template limits them.
    pub owners: Vec<Choice>,
    pub repo: String,
    /// `ui:options.allowedRepos`, when the template limits them.
    pub repos: Vec<Choice>,
    /// An HTML pattern for owner and repository names (Pave's hosting rules
    /// when `pave` is the only host).
    pub name_pattern: Option<String>,
}

/// One field of a wizard page, ready to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The parameter name.
    pub name: String,
    /// The HTML id of its (first) control.
    pub id: String,
    pub label: String,
    pub description: String,
    /// `ui:help`.
    pub help: String,
    pub required: bool,
    pub readonly: bool,
    pub disabled: bool,
    pub autofocus: bool,
    /// Problems to show next to the field.
    pub errors: Vec<String>,
    /// `text`, `textarea`, `lines`, `json`, `password`, `number`,
    /// `checkbox`, `select`, `checkboxes`, `repo` or `hidden`.
    pub widget: &'static str,
    /// The `type` of an `<input>`: text, email, url, date or number.
    pub input_type: &'static str,
    /// The current value as text (never a secret).
    pub value: String,
    pub checked: bool,
    pub options: Vec<Choice>,
    /// Selects: whether an empty choice comes first, and its label.
    pub empty_choice: Option<String>,
    pub pattern: Option<String>,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub min: Option<String>,
    pub max: Option<String>,
    /// `1` for integers, `any` for numbers.
    pub step: &'static str,
    pub placeholder: String,
    pub rows: u64,
    /// A secret was typed before (the input stays empty).
    pub secret_stored: bool,
    pub repo: Option<RepoParts>,
    /// A remark under the field (such as why a picker is a text input).
    pub note: String,
    /// A `ui:field` this portal does not know (drawn as a text input).
    pub unknown_field: Option<String>,
}

impl Field {
    /// The ids `aria-describedby` names: error, help and description.
    pub fn described_by(&self) -> String {
        let mut ids = Vec::new();
        if !self.errors.is_empty() {
            ids.push(format!("{}-error", self.id));
        }
        if !self.description.is_empty() {
            ids.push(format!("{}-description", self.id));
        }
        if !self.help.is_empty() || self.secret_stored || !self.note.is_empty() {
            ids.push(format!("{}-help", self.id));
        }
        ids.join(" ")
    }
}

/// What a page needs besides its schema and values.
#[derive(Debug, Clone, Default)]
pub struct FormContext {
    /// Picker choices by parameter name (see [`picker_filters`]).
    pub pickers: HashMap<String, Vec<PickerEntity>>,
    /// Secrets typed so far, by parameter name.
    pub secrets: BTreeMap<String, String>,
}

/// A parameter's schema as the form sees it.
struct Spec<'a> {
    name: &'a str,
    schema: &'a Value,
}

impl Spec<'_> {
    fn text(&self, key: &str) -> String {
        self.schema
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_string()
    }

    fn flag(&self, key: &str) -> bool {
        self.schema
            .get(key)
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    fn option(&self, key: &str) -> Option<&Value> {
        self.schema
            .get("ui:options")
            .and_then(|options| options.get(key))
    }

    /// The JSON type, the first non-null one of a list.
    fn json_type(&self) -> &str {
        match self.schema.get("type") {
            Some(Value::String(kind)) => kind,
            Some(Value::Array(kinds)) => kinds
                .iter()
                .filter_map(Value::as_str)
                .find(|kind| *kind != "null")
                .unwrap_or("string"),
            _ => "string",
        }
    }

    fn ui_field(&self) -> &str {
        self.schema
            .get("ui:field")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    fn ui_widget(&self) -> &str {
        self.schema
            .get("ui:widget")
            .and_then(Value::as_str)
            .unwrap_or("")
    }
}

/// Whether a parameter schema marks a secret.
pub fn is_secret(schema: &Value) -> bool {
    schema.get("ui:field").and_then(Value::as_str) == Some("Secret")
        || schema.get("ui:widget").and_then(Value::as_str) == Some("password")
}

/// What stands in the values for a secret: `*` as many times as it has
/// characters.
pub fn mask(secret: &str) -> String {
    "*".repeat(secret.chars().count())
}

/// The names of every secret parameter of the template.
pub fn secret_names(template: &Template) -> Vec<String> {
    template
        .parameters
        .iter()
        .flat_map(|page| page.properties.iter())
        .filter(|(_, schema)| is_secret(schema))
        .map(|(name, _)| name.clone())
        .collect()
}

/// The values without any secret parameter (what the page carries along).
pub fn without_secrets(template: &Template, values: &Value) -> Value {
    let mut values = values.clone();
    if let Value::Object(map) = &mut values {
        for name in secret_names(template) {
            map.remove(&name);
        }
    }
    values
}

/// `values` with each typed secret's mask (`reveal` false, for the task) or
/// the secret itself (`reveal` true, to validate a page), and secret
/// parameters with no secret typed removed.
pub fn with_secrets(
    template: &Template,
    values: &Value,
    secrets: &BTreeMap<String, String>,
    reveal: bool,
) -> Value {
    let mut values = without_secrets(template, values);
    if let Value::Object(map) = &mut values {
        for name in secret_names(template) {
            if let Some(secret) = secrets.get(&name) {
                let shown = if reveal { secret.clone() } else { mask(secret) };
                map.insert(name, Value::String(shown));
            }
        }
    }
    values
}

/// An HTML id part for a parameter name: letters, digits, `-` and `_`.
fn id_for(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("f-{cleaned}")
}

/// The page's parameters in the order to show them: `ui:order` (with `*`
/// for the rest) when the page gives one, else as written.
fn ordered(page: &ParameterPage) -> Vec<(&String, &Value)> {
    let all: Vec<(&String, &Value)> = page.properties.iter().collect();
    let Some(order) = page.schema.get("ui:order").and_then(Value::as_array) else {
        return all;
    };
    let names: Vec<&str> = order.iter().filter_map(Value::as_str).collect();
    let listed = |name: &str| names.contains(&name);
    let mut result = Vec::new();
    for name in &names {
        if *name == "*" {
            result.extend(all.iter().filter(|(key, _)| !listed(key)).copied());
        } else if let Some(entry) = all.iter().find(|(key, _)| key.as_str() == *name) {
            result.push(*entry);
        }
    }
    if !names.contains(&"*") {
        result.extend(all.iter().filter(|(key, _)| !listed(key)).copied());
    }
    result
}

/// The parameter a problem is about: the first part of its JSON Pointer.
pub fn problem_field(path: &str) -> Option<String> {
    let first = path.strip_prefix('/')?.split('/').next()?;
    (!first.is_empty()).then(|| first.replace("~1", "/").replace("~0", "~"))
}

/// The page whose fields include the parameter a problem is about.
pub fn page_of_problem(template: &Template, problem: &ValueProblem) -> Option<usize> {
    let name = problem_field(&problem.path)?;
    template
        .parameters
        .iter()
        .position(|page| page.properties.contains_key(&name))
}

/// A value as a text input shows it.
fn as_text(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    }
}

/// The option value for an enum item: strings as they are, anything else
/// as JSON.
fn option_value(item: &Value) -> String {
    match item {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Labels for an enum: `enumNames` or `ui:enumNames` (by position).
fn enum_labels(schema: &Value) -> Vec<String> {
    ["enumNames", "ui:enumNames"]
        .iter()
        .find_map(|key| schema.get(*key).and_then(Value::as_array))
        .or_else(|| {
            schema
                .get("ui:options")
                .and_then(|options| options.get("enumNames"))
                .and_then(Value::as_array)
        })
        .map(|names| names.iter().map(|name| as_text(Some(name))).collect())
        .unwrap_or_default()
}

/// The allowed items of a schema with labels: `enum` (+ names) or a
/// `oneOf`/`anyOf` of `const`s with titles.
fn enum_items(schema: &Value) -> Option<Vec<(Value, String)>> {
    if let Some(items) = schema.get("enum").and_then(Value::as_array) {
        let labels = enum_labels(schema);
        return Some(
            items
                .iter()
                .enumerate()
                .map(|(index, item)| {
                    let label = labels
                        .get(index)
                        .filter(|label| !label.is_empty())
                        .cloned()
                        .unwrap_or_else(|| option_value(item));
                    (item.clone(), label)
                })
                .collect(),
        );
    }
    let alternatives = ["oneOf", "anyOf"]
        .iter()
        .find_map(|key| schema.get(*key).and_then(Value::as_array))?;
    let items: Option<Vec<(Value, String)>> = alternatives
        .iter()
        .map(|alternative| {
            let value = alternative.get("const")?.clone();
            let label = alternative
                .get("title")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| option_value(&value));
            Some((value, label))
        })
        .collect();
    items.filter(|items| !items.is_empty())
}

/// Which picker a parameter uses, if any.
fn picker(spec: &Spec<'_>) -> Option<&'static str> {
    match spec.ui_field() {
        "OwnerPicker" => Some("OwnerPicker"),
        "EntityPicker" => Some("EntityPicker"),
        _ => None,
    }
}

/// The catalog filters (Backstage's `filter` parameters) a picker parameter
/// lists entities with, or None when it is not a picker. From
/// `ui:options.catalogFilter` (an object or a list of them; list values are
/// alternatives; `{exists: true}` tests presence), else `allowedKinds`, else
/// Groups and Users for an OwnerPicker and every entity for an EntityPicker.
pub fn picker_filters(schema: &Value) -> Option<Vec<String>> {
    let spec = Spec { name: "", schema };
    let kind = picker(&spec)?;
    if let Some(filter) = spec.option("catalogFilter") {
        let objects: Vec<&Map<String, Value>> = match filter {
            Value::Object(object) => vec![object],
            Value::Array(list) => list.iter().filter_map(Value::as_object).collect(),
            _ => Vec::new(),
        };
        let mut filters = Vec::new();
        for object in objects {
            filters.extend(expand_filter(object));
        }
        filters.truncate(MAX_PICKER_FILTERS);
        if !filters.is_empty() {
            return Some(filters);
        }
    }
    let kinds: Vec<String> = match spec.option("allowedKinds").and_then(Value::as_array) {
        Some(kinds) => kinds
            .iter()
            .filter_map(Value::as_str)
            .filter(|kind| !kind.contains(','))
            .map(str::to_string)
            .collect(),
        None if kind == "OwnerPicker" => vec!["Group".into(), "User".into()],
        None => Vec::new(),
    };
    Some(
        kinds
            .iter()
            .map(|kind| format!("kind={kind}"))
            .take(MAX_PICKER_FILTERS)
            .collect(),
    )
}

/// One `catalogFilter` object as filter strings: the product of its list
/// values, conditions joined with commas.
fn expand_filter(object: &Map<String, Value>) -> Vec<String> {
    let mut alternatives: Vec<Vec<String>> = vec![Vec::new()];
    for (key, value) in object {
        if key.contains(',') || key.contains('=') || key.is_empty() {
            continue;
        }
        let scalar = |value: &Value| -> Option<String> {
            let text = match value {
                Value::String(text) => text.clone(),
                Value::Bool(_) | Value::Number(_) => value.to_string(),
                _ => return None,
            };
            (!text.contains(',')).then(|| format!("{key}={text}"))
        };
        let conditions: Vec<String> = match value {
            Value::Array(items) => items.iter().filter_map(scalar).collect(),
            Value::Object(test) if test.get("exists").and_then(Value::as_bool) == Some(true) => {
                vec![key.clone()]
            }
            other => scalar(other).into_iter().collect(),
        };
        if conditions.is_empty() {
            continue;
        }
        let mut next = Vec::new();
        for prefix in &alternatives {
            for condition in &conditions {
                let mut combined = prefix.clone();
                combined.push(condition.clone());
                next.push(combined);
                if next.len() >= MAX_PICKER_FILTERS {
                    break;
                }
            }
        }
        alternatives = next;
    }
    alternatives
        .into_iter()
        .filter(|conditions| !conditions.is_empty())
        .map(|conditions| conditions.join(","))
        .collect()
}

/// The parameters of a page that need catalog entities, with their filters.
pub fn pickers_of(page: &ParameterPage) -> Vec<(String, Vec<String>)> {
    page.properties
        .iter()
        .filter_map(|(name, schema)| Some((name.clone(), picker_filters(schema)?)))
        .collect()
}

/// Composes a RepoUrlPicker value: `host?owner=o&repo=r`.
pub fn compose_repo_url(host: &str, owner: &str, repo: &str) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("owner", owner)
        .append_pair("repo", repo)
        .finish();
    format!("{host}?{query}")
}

/// Splits a RepoUrlPicker value into host, owner and repository (empty
/// parts when it cannot be read).
pub fn split_repo_url(value: &str) -> (String, String, String) {
    match parse_repo_url(value) {
        Ok(parsed) => (parsed.host, parsed.owner.unwrap_or_default(), parsed.repo),
        Err(_) => {
            // Partly filled in (no repository yet): read what is there.
            let (host, query) = value.split_once('?').unwrap_or((value, ""));
            let mut owner = String::new();
            let mut repo = String::new();
            for (key, part) in form_urlencoded::parse(query.as_bytes()) {
                match key.as_ref() {
                    "owner" if owner.is_empty() => owner = part.into_owned(),
                    "repo" if repo.is_empty() => repo = part.into_owned(),
                    _ => {}
                }
            }
            (host.trim().to_string(), owner, repo)
        }
    }
}

fn string_list(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn allowed_hosts(spec: &Spec<'_>) -> Vec<String> {
    let hosts = string_list(spec.option("allowedHosts"));
    if hosts.is_empty() {
        vec![PAVE_HOST.to_string()]
    } else {
        hosts
    }
}

fn choices(values: &[String], current: &str) -> Vec<Choice> {
    values
        .iter()
        .map(|value| Choice {
            value: value.clone(),
            label: value.clone(),
            selected: value == current,
        })
        .collect()
}

/// Builds the fields of `page` for `values`, with `problems` shown next to
/// their fields. Returns the fields and the problems that belong to no
/// field of the page (shown at the top).
pub fn fields(
    page: &ParameterPage,
    values: &Value,
    problems: &[ValueProblem],
    context: &FormContext,
) -> (Vec<Field>, Vec<String>) {
    let mut general = Vec::new();
    let mut by_field: HashMap<String, Vec<String>> = HashMap::new();
    for problem in problems {
        match problem_field(&problem.path) {
            Some(name) if page.properties.contains_key(&name) => by_field
                .entry(name)
                .or_default()
                .push(problem.message.clone()),
            _ => general.push(problem.to_string()),
        }
    }
    let mut fields: Vec<Field> = ordered(page)
        .into_iter()
        .map(|(name, schema)| {
            let spec = Spec { name, schema };
            let errors = by_field.remove(name.as_str()).unwrap_or_default();
            field(
                &spec,
                page.required.contains(name),
                values.get(name),
                errors,
                context,
            )
        })
        .collect();
    // Focus goes to the first field with a problem, else where the template asks.
    let first_error = fields.iter().position(|field| !field.errors.is_empty());
    if let Some(index) = first_error {
        for (position, field) in fields.iter_mut().enumerate() {
            field.autofocus = position == index;
        }
    } else if let Some(index) = fields.iter().position(|field| field.autofocus) {
        for field in fields.iter_mut().skip(index + 1) {
            field.autofocus = false;
        }
    }
    (fields, general)
}

fn field(
    spec: &Spec<'_>,
    required: bool,
    value: Option<&Value>,
    errors: Vec<String>,
    context: &FormContext,
) -> Field {
    let label = match spec.text("title") {
        title if title.is_empty() => spec.name.to_string(),
        title => title,
    };
    let readonly = spec.flag("ui:readonly") || spec.flag("readOnly");
    let mut field = Field {
        name: spec.name.to_string(),
        id: id_for(spec.name),
        label,
        description: spec.text("description"),
        help: spec.text("ui:help"),
        required,
        readonly,
        disabled: spec.flag("ui:disabled"),
        autofocus: spec.flag("ui:autofocus"),
        errors,
        widget: "text",
        input_type: "text",
        value: String::new(),
        checked: false,
        options: Vec::new(),
        empty_choice: None,
        pattern: None,
        min_length: spec.schema.get("minLength").and_then(Value::as_u64),
        max_length: spec.schema.get("maxLength").and_then(Value::as_u64),
        min: None,
        max: None,
        step: "any",
        placeholder: spec.text("ui:placeholder"),
        rows: spec
            .option("rows")
            .and_then(Value::as_u64)
            .unwrap_or(4)
            .clamp(2, 30),
        secret_stored: false,
        repo: None,
        note: String::new(),
        unknown_field: None,
    };
    let json_type = spec.json_type();

    if is_secret(spec.schema) {
        field.widget = "password";
        field.secret_stored = context.secrets.contains_key(spec.name);
        field.pattern = html_pattern(spec.schema);
        return field;
    }
    if spec.ui_widget() == "hidden" {
        field.widget = "hidden";
        return field;
    }
    if spec.ui_field() == "RepoUrlPicker" {
        repo_field(spec, value, &mut field);
        return field;
    }
    if picker(spec).is_some() {
        picker_field(spec, value, context, &mut field);
        return field;
    }
    if json_type == "array" {
        let items = spec.schema.get("items").unwrap_or(&Value::Null);
        let chosen: Vec<&Value> = value
            .and_then(Value::as_array)
            .map(|items| items.iter().collect())
            .unwrap_or_default();
        if let Some(options) = enum_items(items) {
            field.widget = "checkboxes";
            field.options = options
                .into_iter()
                .map(|(item, label)| Choice {
                    value: option_value(&item),
                    selected: chosen.contains(&&item),
                    label,
                })
                .collect();
        } else if items
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("string")
            == "string"
            && value.is_none_or(|value| {
                value
                    .as_array()
                    .is_some_and(|items| items.iter().all(Value::is_string))
            })
        {
            field.widget = "lines";
            field.value = chosen
                .iter()
                .filter_map(|item| item.as_str())
                .collect::<Vec<_>>()
                .join("\n");
        } else {
            json_field(value, &mut field);
        }
        return field;
    }
    if let Some(options) = enum_items(spec.schema) {
        field.widget = "select";
        field.options = options
            .into_iter()
            .map(|(item, label)| Choice {
                value: option_value(&item),
                selected: value == Some(&item),
                label,
            })
            .collect();
        let chosen = field.options.iter().any(|choice| choice.selected);
        if !required {
            field.empty_choice = Some("—".into());
        } else if !chosen {
            field.empty_choice = Some("Choose…".into());
        }
        return field;
    }
    match json_type {
        "boolean" => {
            field.widget = "checkbox";
            field.checked = value == Some(&Value::Bool(true));
        }
        "number" | "integer" => {
            field.widget = "number";
            field.input_type = "number";
            field.value = as_text(value);
            field.step = if json_type == "integer" { "1" } else { "any" };
            field.min = spec.schema.get("minimum").map(|v| as_text(Some(v)));
            field.max = spec.schema.get("maximum").map(|v| as_text(Some(v)));
        }
        "object" => json_field(value, &mut field),
        _ => {
            field.value = as_text(value);
            field.pattern = html_pattern(spec.schema);
            field.widget = if spec.ui_widget() == "textarea" {
                "textarea"
            } else {
                "text"
            };
            field.input_type = match (
                spec.ui_widget(),
                spec.schema.get("format").and_then(Value::as_str),
            ) {
                ("email", _) | (_, Some("email")) => "email",
                ("uri" | "url", _) | (_, Some("uri")) => "url",
                ("date", _) | (_, Some("date")) => "date",
                _ => "text",
            };
            let ui_field = spec.ui_field();
            if !ui_field.is_empty() && !KNOWN_TEXT_FIELDS.contains(&ui_field) {
                field.unknown_field = Some(ui_field.to_string());
            }
        }
    }
    field
}

/// `ui:field`s that are text inputs here too.
const KNOWN_TEXT_FIELDS: &[&str] = &["EntityNamePicker"];

fn json_field(value: Option<&Value>, field: &mut Field) {
    field.widget = "json";
    field.value = match value {
        None | Some(Value::Null) => String::new(),
        Some(value) => serde_json::to_string_pretty(value).unwrap_or_default(),
    };
    field.note = "Enter JSON.".into();
}

/// A JSON Schema pattern as an HTML `pattern`, which is anchored at both
/// ends: only patterns anchored the same way (`^…$`) mean the same.
fn html_pattern(schema: &Value) -> Option<String> {
    let pattern = schema.get("pattern").and_then(Value::as_str)?;
    let anchored = pattern.starts_with('^')
        && pattern.ends_with('$')
        && !pattern.ends_with("\\$")
        && pattern.len() >= 2;
    anchored.then(|| pattern[1..pattern.len() - 1].to_string())
}

fn repo_field(spec: &Spec<'_>, value: Option<&Value>, field: &mut Field) {
    field.widget = "repo";
    let hosts = allowed_hosts(spec);
    let (host, owner, repo) = match value.and_then(Value::as_str) {
        Some(text) => split_repo_url(text),
        None => (String::new(), String::new(), String::new()),
    };
    let mut host_choices = choices(&hosts, &host);
    if !host_choices.iter().any(|choice| choice.selected)
        && let Some(first) = host_choices.first_mut()
    {
        first.selected = true;
    }
    let owners = string_list(spec.option("allowedOwners"));
    let repos = string_list(spec.option("allowedRepos"));
    let base = id_for(spec.name);
    field.id = format!("{base}-owner");
    field.repo = Some(RepoParts {
        host_id: format!("{base}-host"),
        repo_id: format!("{base}-repo"),
        hosts: host_choices,
        owners: choices(&owners, &owner),
        repos: choices(&repos, &repo),
        owner,
        repo,
        name_pattern: (hosts.iter().all(|host| host == PAVE_HOST))
            .then(|| "[A-Za-z0-9][A-Za-z0-9._\\-]{0,99}".to_string()),
    });
}

fn picker_field(spec: &Spec<'_>, value: Option<&Value>, context: &FormContext, field: &mut Field) {
    let current = as_text(value);
    let entities = context
        .pickers
        .get(spec.name)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    if entities.is_empty() {
        // Nothing to choose from: a reference can still be typed.
        field.widget = "text";
        field.value = current;
        field.placeholder = "kind:namespace/name".into();
        field.note =
            "No matching entities in the catalog you may see; type an entity reference.".into();
        return;
    }
    field.widget = "select";
    field.options = entities
        .iter()
        .map(|entity| Choice {
            value: entity.reference.clone(),
            label: if entity.title.is_empty() {
                entity.reference.clone()
            } else {
                format!("{} ({})", entity.title, entity.reference)
            },
            selected: entity.reference.eq_ignore_ascii_case(&current),
        })
        .collect();
    if !current.is_empty() && !field.options.iter().any(|choice| choice.selected) {
        // A default or an earlier value the list does not offer stays.
        field.options.insert(
            0,
            Choice {
                value: current.clone(),
                label: current,
                selected: true,
            },
        );
    }
    let chosen = field.options.iter().any(|choice| choice.selected);
    if !field.required {
        field.empty_choice = Some("—".into());
    } else if !chosen {
        field.empty_choice = Some("Choose…".into());
    }
}

/// Every value a form sent for `key`, in order.
fn sent<'a>(form: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    form.iter()
        .filter(|(name, _)| name == key)
        .map(|(_, value)| value.as_str())
        .collect()
}

fn first_sent<'a>(form: &'a [(String, String)], key: &str) -> Option<&'a str> {
    sent(form, key).into_iter().next()
}

/// Reads the submitted inputs of `page` into `values` and `secrets`, and
/// returns what could not be read (such as JSON that does not parse).
/// Read-only and disabled parameters keep their values.
pub fn read_page(
    page: &ParameterPage,
    form: &[(String, String)],
    values: &mut Map<String, Value>,
    secrets: &mut BTreeMap<String, String>,
) -> Vec<ValueProblem> {
    let mut problems = Vec::new();
    for (name, schema) in &page.properties {
        let spec = Spec { name, schema };
        if spec.flag("ui:readonly")
            || spec.flag("readOnly")
            || spec.flag("ui:disabled")
            || spec.ui_widget() == "hidden"
        {
            continue;
        }
        let key = format!("p:{name}");
        let path = format!("/{}", name.replace('~', "~0").replace('/', "~1"));
        if is_secret(schema) {
            let typed = first_sent(form, &key).unwrap_or("");
            if !typed.is_empty() {
                secrets.insert(name.clone(), typed.to_string());
            }
            values.remove(name);
            continue;
        }
        if spec.ui_field() == "RepoUrlPicker" {
            let part = |part: &str| {
                first_sent(form, &format!("{part}:{name}"))
                    .unwrap_or("")
                    .trim()
                    .to_string()
            };
            let (host, owner, repo) = (part("host"), part("owner"), part("repo"));
            if owner.is_empty() && repo.is_empty() {
                values.remove(name);
            } else {
                let host = if host.is_empty() {
                    allowed_hosts(&spec).remove(0)
                } else {
                    host
                };
                values.insert(
                    name.clone(),
                    Value::String(compose_repo_url(&host, &owner, &repo)),
                );
            }
            continue;
        }
        let json_type = spec.json_type();
        if picker(&spec).is_none() && json_type == "array" {
            let items = schema.get("items").unwrap_or(&Value::Null);
            if let Some(options) = enum_items(items) {
                let chosen: Vec<Value> = sent(form, &key)
                    .into_iter()
                    .map(|text| {
                        options
                            .iter()
                            .find(|(item, _)| option_value(item) == text)
                            .map(|(item, _)| item.clone())
                            .unwrap_or_else(|| Value::String(text.to_string()))
                    })
                    .collect();
                values.insert(name.clone(), Value::Array(chosen));
                continue;
            }
            let Some(text) = first_sent(form, &key) else {
                continue;
            };
            let text = text.trim();
            if text.is_empty() {
                values.remove(name);
            } else if text.starts_with('[') {
                read_json(name, text, &path, values, &mut problems);
            } else {
                let lines: Vec<Value> = text
                    .lines()
                    .map(str::trim)
                    .filter(|line| !line.is_empty())
                    .map(|line| Value::String(line.to_string()))
                    .collect();
                values.insert(name.clone(), Value::Array(lines));
            }
            continue;
        }
        if picker(&spec).is_none()
            && let Some(options) = enum_items(schema)
        {
            match first_sent(form, &key).filter(|text| !text.is_empty()) {
                Some(text) => {
                    let item = options
                        .iter()
                        .find(|(item, _)| option_value(item) == text)
                        .map(|(item, _)| item.clone())
                        .unwrap_or_else(|| Value::String(text.to_string()));
                    values.insert(name.clone(), item);
                }
                None => {
                    values.remove(name);
                }
            }
            continue;
        }
        match json_type {
            "boolean" if picker(&spec).is_none() => {
                let checked = sent(form, &key).contains(&"true");
                values.insert(name.clone(), Value::Bool(checked));
            }
            "number" | "integer" if picker(&spec).is_none() => {
                let Some(text) = first_sent(form, &key) else {
                    continue;
                };
                let text = text.trim();
                if text.is_empty() {
                    values.remove(name);
                } else if let Ok(number) = text.parse::<i64>() {
                    values.insert(name.clone(), Value::from(number));
                } else if let Some(number) = text
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                {
                    values.insert(name.clone(), Value::Number(number));
                } else {
                    // Kept as typed, so validation says what is wrong.
                    values.insert(name.clone(), Value::String(text.to_string()));
                }
            }
            "object" if picker(&spec).is_none() => {
                let Some(text) = first_sent(form, &key) else {
                    continue;
                };
                let text = text.trim();
                if text.is_empty() {
                    values.remove(name);
                } else {
                    read_json(name, text, &path, values, &mut problems);
                }
            }
            _ => {
                let Some(text) = first_sent(form, &key) else {
                    continue;
                };
                if text.trim().is_empty() {
                    values.remove(name);
                } else {
                    values.insert(name.clone(), Value::String(text.to_string()));
                }
            }
        }
    }
    problems
}

fn read_json(
    name: &str,
    text: &str,
    path: &str,
    values: &mut Map<String, Value>,
    problems: &mut Vec<ValueProblem>,
) {
    match serde_json::from_str::<Value>(text) {
        Ok(value) => {
            values.insert(name.to_string(), value);
        }
        Err(error) => {
            // Kept as typed, so the field shows it again.
            values.insert(name.to_string(), Value::String(text.to_string()));
            problems.push(ValueProblem {
                path: path.to_string(),
                message: format!("this is not JSON: {error}"),
            });
        }
    }
}

/// Checks the form adds to the schema's own: a RepoUrlPicker needs both an
/// owner and a repository, on one of its allowed hosts.
pub fn form_problems(page: &ParameterPage, values: &Value) -> Vec<ValueProblem> {
    let mut problems = Vec::new();
    for (name, schema) in &page.properties {
        let spec = Spec { name, schema };
        if spec.ui_field() != "RepoUrlPicker" {
            continue;
        }
        let Some(text) = values.get(name).and_then(Value::as_str) else {
            continue;
        };
        let path = format!("/{}", name.replace('~', "~0").replace('/', "~1"));
        let (host, owner, repo) = split_repo_url(text);
        if owner.is_empty() || repo.is_empty() {
            problems.push(ValueProblem {
                path: path.clone(),
                message: "give both the owner and the repository name".into(),
            });
        }
        let hosts = allowed_hosts(&spec);
        if !hosts
            .iter()
            .any(|allowed| allowed.eq_ignore_ascii_case(&host))
        {
            problems.push(ValueProblem {
                path,
                message: format!("choose one of the allowed hosts: {}", hosts.join(", ")),
            });
        }
    }
    problems
}

/// One value on the review page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewRow {
    pub label: String,
    pub value: String,
    /// Not given.
    pub empty: bool,
}

/// One page's values on the review page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewPage {
    pub index: usize,
    pub title: String,
    pub rows: Vec<ReviewRow>,
}

/// A page's title, or `Step N`.
pub fn page_title(page: &ParameterPage, index: usize) -> String {
    page.title
        .clone()
        .filter(|title| !title.trim().is_empty())
        .unwrap_or_else(|| format!("Step {}", index + 1))
}

/// Every value by page, as the review page lists them: secrets (and
/// `ui:backstage.review.mask`) as dots, enum labels for enum values, and
/// parameters with `ui:backstage.review.show: false` left out.
pub fn review(
    template: &Template,
    values: &Value,
    secrets: &BTreeMap<String, String>,
) -> Vec<ReviewPage> {
    template
        .parameters
        .iter()
        .enumerate()
        .map(|(index, page)| ReviewPage {
            index,
            title: page_title(page, index),
            rows: ordered(page)
                .into_iter()
                .filter(|(_, schema)| {
                    schema
                        .pointer("/ui:backstage/review/show")
                        .and_then(Value::as_bool)
                        != Some(false)
                })
                .map(|(name, schema)| review_row(name, schema, values.get(name), secrets))
                .collect(),
        })
        .collect()
}

fn review_row(
    name: &str,
    schema: &Value,
    value: Option<&Value>,
    secrets: &BTreeMap<String, String>,
) -> ReviewRow {
    let spec = Spec { name, schema };
    let label = match spec.text("title") {
        title if title.is_empty() => name.to_string(),
        title => title,
    };
    let empty = |label: String| ReviewRow {
        label,
        value: "—".into(),
        empty: true,
    };
    if is_secret(schema) {
        return if secrets.contains_key(name) {
            ReviewRow {
                label,
                value: SECRET_SHOWN.into(),
                empty: false,
            }
        } else {
            empty(label)
        };
    }
    let Some(value) = value.filter(|value| !value.is_null()) else {
        return empty(label);
    };
    let masked = schema.pointer("/ui:backstage/review/mask");
    if let Some(masked) = masked.filter(|masked| !matches!(masked, Value::Bool(false))) {
        let shown = masked.as_str().unwrap_or(SECRET_SHOWN).to_string();
        return ReviewRow {
            label,
            value: shown,
            empty: false,
        };
    }
    let labelled = |item: &Value, schema: &Value| -> String {
        enum_items(schema)
            .and_then(|items| {
                items
                    .into_iter()
                    .find(|(candidate, _)| candidate == item)
                    .map(|(_, label)| label)
            })
            .filter(|label| *label != option_value(item))
            .map(|label| format!("{label} ({})", option_value(item)))
            .unwrap_or_else(|| option_value(item))
    };
    let shown = match value {
        Value::Bool(true) => "Yes".to_string(),
        Value::Bool(false) => "No".to_string(),
        Value::Array(items) if items.is_empty() => return empty(label),
        Value::Array(items) => {
            let item_schema = schema.get("items").unwrap_or(&Value::Null);
            items
                .iter()
                .map(|item| labelled(item, item_schema))
                .collect::<Vec<_>>()
                .join(", ")
        }
        Value::Object(_) => serde_json::to_string_pretty(value).unwrap_or_default(),
        other => labelled(other, schema),
    };
    ReviewRow {
        label,
        value: shown,
        empty: false,
    }
}

#[cfg(test)]
mod tests {
    use pave_scaffold::{parse_template, validate_page, with_defaults};
    use serde_json::json;

    use super::*;

    fn template(parameters: Value) -> Template {
        parse_template(&json!({
            "apiVersion": "scaffolder.backstage.io/v1beta3",
            "kind": "Template",
            "metadata": {"name": "t"},
            "spec": {"type": "service", "parameters": parameters, "steps": [{"action": "debug:log"}]},
        }))
        .unwrap()
    }

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect()
    }

    fn one_page(properties: Value, required: &[&str]) -> Template {
        template(json!([{"title": "Page", "required": required, "properties": properties}]))
    }

    fn field_named<'a>(fields: &'a [Field], name: &str) -> &'a Field {
        fields.iter().find(|field| field.name == name).unwrap()
    }

    #[test]
    fn each_field_kind_has_its_widget() {
        let template = one_page(
            json!({
                "name": {"type": "string", "title": "Name", "pattern": "^[a-z]+$", "minLength": 3, "maxLength": 9, "ui:autofocus": true, "ui:help": "lower case", "description": "What to call it"},
                "about": {"type": "string", "ui:widget": "textarea", "ui:options": {"rows": 6}},
                "token": {"type": "string", "ui:field": "Secret"},
                "password": {"type": "string", "ui:widget": "password"},
                "size": {"type": "string", "enum": ["s", "m"], "enumNames": ["Small", "Medium"]},
                "tier": {"type": "integer", "enum": [1, 2], "ui:enumNames": ["One", "Two"]},
                "public": {"type": "boolean"},
                "replicas": {"type": "integer", "minimum": 1, "maximum": 5},
                "ratio": {"type": "number"},
                "features": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
                "hosts": {"type": "array", "items": {"type": "string"}},
                "extra": {"type": "object"},
                "email": {"type": "string", "format": "email"},
                "weird": {"type": "string", "ui:field": "SomethingCustom"},
                "internal": {"type": "string", "ui:widget": "hidden"},
                "fixed": {"type": "string", "ui:readonly": true},
                "off": {"type": "string", "ui:disabled": true},
                "unanchored": {"type": "string", "pattern": "[a-z]"}
            }),
            &["name", "size"],
        );
        let (fields, general) = super::fields(
            &template.parameters[0],
            &json!({}),
            &[],
            &FormContext::default(),
        );
        assert!(general.is_empty());
        let name = field_named(&fields, "name");
        assert_eq!(name.widget, "text");
        assert_eq!(name.label, "Name");
        assert_eq!(name.id, "f-name");
        assert!(name.required && name.autofocus);
        assert_eq!(name.pattern.as_deref(), Some("[a-z]+"));
        assert_eq!((name.min_length, name.max_length), (Some(3), Some(9)));
        assert_eq!(name.help, "lower case");
        assert_eq!(name.described_by(), "f-name-description f-name-help");
        let about = field_named(&fields, "about");
        assert_eq!((about.widget, about.rows), ("textarea", 6));
        assert_eq!(field_named(&fields, "token").widget, "password");
        assert_eq!(field_named(&fields, "password").widget, "password");
        let size = field_named(&fields, "size");
        assert_eq!(size.widget, "select");
        assert_eq!(size.options[0].label, "Small");
        assert_eq!(size.empty_choice.as_deref(), Some("Choose…"));
        let tier = field_named(&fields, "tier");
        assert_eq!(
            (
                tier.options[1].value.as_str(),
                tier.options[1].label.as_str()
            ),
            ("2", "Two")
        );
        assert_eq!(tier.empty_choice.as_deref(), Some("—"));
        assert_eq!(field_named(&fields, "public").widget, "checkbox");
        let replicas = field_named(&fields, "replicas");
        assert_eq!((replicas.widget, replicas.step), ("number", "1"));
        assert_eq!(
            (replicas.min.as_deref(), replicas.max.as_deref()),
            (Some("1"), Some("5"))
        );
        assert_eq!(field_named(&fields, "ratio").step, "any");
        let features = field_named(&fields, "features");
        assert_eq!(features.widget, "checkboxes");
        assert_eq!(features.options.len(), 2);
        assert_eq!(field_named(&fields, "hosts").widget, "lines");
        assert_eq!(field_named(&fields, "extra").widget, "json");
        assert_eq!(field_named(&fields, "email").input_type, "email");
        let weird = field_named(&fields, "weird");
        assert_eq!(weird.widget, "text");
        assert_eq!(weird.unknown_field.as_deref(), Some("SomethingCustom"));
        assert_eq!(field_named(&fields, "internal").widget, "hidden");
        assert!(field_named(&fields, "fixed").readonly);
        assert!(field_named(&fields, "off").disabled);
        assert_eq!(
            field_named(&fields, "unanchored").pattern,
            None,
            "HTML patterns are anchored"
        );
    }

    #[test]
    fn defaults_fill_the_form_and_values_come_back() {
        let template = one_page(
            json!({
                "name": {"type": "string"},
                "description": {"type": "string", "default": "A service"},
                "public": {"type": "boolean", "default": true},
                "replicas": {"type": "integer", "default": 2},
                "size": {"type": "string", "enum": ["s", "m"], "default": "m"},
                "features": {"type": "array", "items": {"enum": ["a", "b"]}, "default": ["b"]}
            }),
            &[],
        );
        let values = with_defaults(&template, &json!({}));
        let (fields, _) = super::fields(
            &template.parameters[0],
            &values,
            &[],
            &FormContext::default(),
        );
        assert_eq!(field_named(&fields, "description").value, "A service");
        assert!(field_named(&fields, "public").checked);
        assert_eq!(field_named(&fields, "replicas").value, "2");
        assert!(field_named(&fields, "size").options[1].selected);
        assert!(field_named(&fields, "features").options[1].selected);
        assert!(!field_named(&fields, "features").options[0].selected);

        // A checkbox left unchecked is false; an emptied field is gone.
        let mut map = values.as_object().unwrap().clone();
        let mut secrets = BTreeMap::new();
        let problems = read_page(
            &template.parameters[0],
            &form(&[
                ("p:name", "orders"),
                ("p:description", ""),
                ("p:replicas", "3"),
                ("p:size", "s"),
                ("p:features", "a"),
                ("p:features", "b"),
            ]),
            &mut map,
            &mut secrets,
        );
        assert!(problems.is_empty());
        assert_eq!(
            Value::Object(map),
            json!({"name": "orders", "public": false, "replicas": 3, "size": "s", "features": ["a", "b"]})
        );
    }

    #[test]
    fn non_string_enums_numbers_lines_and_json_are_read_back() {
        let template = one_page(
            json!({
                "tier": {"type": "integer", "enum": [1, 2]},
                "ratio": {"type": "number"},
                "hosts": {"type": "array", "items": {"type": "string"}},
                "extra": {"type": "object"},
                "broken": {"type": "object"},
                "count": {"type": "integer"}
            }),
            &[],
        );
        let mut map = Map::new();
        let problems = read_page(
            &template.parameters[0],
            &form(&[
                ("p:tier", "2"),
                ("p:ratio", "0.5"),
                ("p:hosts", "a.example\n\n b.example \n"),
                ("p:extra", "{\"a\": 1}"),
                ("p:broken", "{nope"),
                ("p:count", "many"),
            ]),
            &mut map,
            &mut BTreeMap::new(),
        );
        assert_eq!(map["tier"], json!(2));
        assert_eq!(map["ratio"], json!(0.5));
        assert_eq!(map["hosts"], json!(["a.example", "b.example"]));
        assert_eq!(map["extra"], json!({"a": 1}));
        assert_eq!(map["broken"], json!("{nope"), "kept to show again");
        assert_eq!(map["count"], json!("many"), "kept for validation to refuse");
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].path, "/broken");
        let values = Value::Object(map);
        let errors = validate_page(&template, 0, &values).unwrap_err();
        assert!(errors.iter().any(|problem| problem.path == "/count"));
    }

    #[test]
    fn problems_go_next_to_their_fields_with_the_focus() {
        let template = one_page(
            json!({"name": {"type": "string", "pattern": "^[a-z]+$"}, "owner": {"type": "string", "ui:autofocus": true}}),
            &["name", "owner"],
        );
        let values = json!({"name": "Bad Name"});
        let problems = validate_page(&template, 0, &values).unwrap_err();
        let mut with_general = problems.clone();
        with_general.push(ValueProblem {
            path: String::new(),
            message: "something about the whole".into(),
        });
        let (fields, general) = super::fields(
            &template.parameters[0],
            &values,
            &with_general,
            &FormContext::default(),
        );
        let name = field_named(&fields, "name");
        assert_eq!(name.errors.len(), 1, "{:?}", name.errors);
        assert!(name.errors[0].contains("Bad Name"), "{:?}", name.errors);
        assert_eq!(name.value, "Bad Name", "what was typed stays");
        assert!(name.described_by().starts_with("f-name-error"));
        let owner = field_named(&fields, "owner");
        assert_eq!(owner.errors.len(), 1);
        assert!(
            name.autofocus && !owner.autofocus,
            "the first problem has the focus"
        );
        assert_eq!(general, vec!["something about the whole".to_string()]);
        assert_eq!(
            problem_field("/owner/displayName").as_deref(),
            Some("owner")
        );
        assert_eq!(problem_field("/a~1b").as_deref(), Some("a/b"));
        assert_eq!(problem_field(""), None);
        assert_eq!(
            page_of_problem(
                &template,
                &ValueProblem {
                    path: "/owner".into(),
                    message: String::new()
                }
            ),
            Some(0)
        );
    }

    #[test]
    fn repo_url_picker_composes_and_splits() {
        assert_eq!(
            compose_repo_url("pave", "team-a", "orders"),
            "pave?owner=team-a&repo=orders"
        );
        assert_eq!(
            compose_repo_url("github.com", "a b", "c&d"),
            "github.com?owner=a+b&repo=c%26d"
        );
        assert_eq!(
            split_repo_url("github.com?owner=a+b&repo=c%26d"),
            ("github.com".into(), "a b".into(), "c&d".into())
        );
        assert_eq!(
            split_repo_url("pave?owner=team-a&repo="),
            ("pave".into(), "team-a".into(), String::new())
        );

        let template = one_page(
            json!({"repoUrl": {"type": "string", "ui:field": "RepoUrlPicker", "ui:options": {"allowedHosts": ["pave", "github.com"]}}}),
            &["repoUrl"],
        );
        let page = &template.parameters[0];
        let mut map = Map::new();
        read_page(
            page,
            &form(&[
                ("host:repoUrl", "github.com"),
                ("owner:repoUrl", "acme"),
                ("repo:repoUrl", "orders"),
            ]),
            &mut map,
            &mut BTreeMap::new(),
        );
        assert_eq!(map["repoUrl"], json!("github.com?owner=acme&repo=orders"));
        let values = Value::Object(map);
        let (fields, _) = super::fields(page, &values, &[], &FormContext::default());
        let repo = fields[0].repo.as_ref().unwrap();
        assert_eq!(fields[0].widget, "repo");
        assert_eq!(fields[0].id, "f-repoUrl-owner");
        assert!(repo.hosts[1].selected && !repo.hosts[0].selected);
        assert_eq!(
            (repo.owner.as_str(), repo.repo.as_str()),
            ("acme", "orders")
        );
        assert_eq!(repo.name_pattern, None, "other hosts have their own rules");
        assert!(form_problems(page, &values).is_empty());

        // Half filled in, or on a host the template does not allow.
        let half = json!({"repoUrl": compose_repo_url("pave", "team-a", "")});
        assert_eq!(form_problems(page, &half)[0].path, "/repoUrl");
        let elsewhere = json!({"repoUrl": "gitlab.com?owner=a&repo=b"});
        assert!(
            form_problems(page, &elsewhere)[0]
                .message
                .contains("allowed hosts")
        );
        let mut map = Map::new();
        read_page(
            page,
            &form(&[
                ("host:repoUrl", "pave"),
                ("owner:repoUrl", ""),
                ("repo:repoUrl", ""),
            ]),
            &mut map,
            &mut BTreeMap::new(),
        );
        assert!(!map.contains_key("repoUrl"), "nothing typed is no value");

        // Pave's hosting only: names follow its rules, and the host is pave.
        let pave_only = one_page(
            json!({"repoUrl": {"type": "string", "ui:field": "RepoUrlPicker"}}),
            &[],
        );
        let (fields, _) = super::fields(
            &pave_only.parameters[0],
            &json!({}),
            &[],
            &FormContext::default(),
        );
        let repo = fields[0].repo.as_ref().unwrap();
        assert!(repo.name_pattern.is_some());
        assert_eq!(repo.hosts.len(), 1);
        assert!(repo.hosts[0].selected && repo.hosts[0].value == "pave");
    }

    #[test]
    fn secrets_never_reach_the_values_or_the_form() {
        let template = template(json!([
            {"required": ["token"], "properties": {"token": {"type": "string", "minLength": 8, "ui:field": "Secret"}, "name": {"type": "string"}}},
            {"properties": {"other": {"type": "string"}}}
        ]));
        let page = &template.parameters[0];
        let mut map = Map::new();
        let mut secrets = BTreeMap::new();
        read_page(
            page,
            &form(&[("p:token", "s3cret-value"), ("p:name", "x")]),
            &mut map,
            &mut secrets,
        );
        assert_eq!(
            secrets.get("token").map(String::as_str),
            Some("s3cret-value")
        );
        assert!(!map.contains_key("token"));
        let values = Value::Object(map.clone());
        assert!(!values.to_string().contains("s3cret"));

        // The task gets a mask; page validation sees the secret itself.
        let for_task = with_secrets(&template, &values, &secrets, false);
        assert_eq!(for_task["token"], json!("************"));
        assert!(!for_task.to_string().contains("s3cret"));
        let for_check = with_secrets(&template, &values, &secrets, true);
        assert!(validate_page(&template, 0, &for_check).is_ok());
        let short = BTreeMap::from([("token".to_string(), "tiny1".to_string())]);
        let problems = validate_page(
            &template,
            0,
            &with_secrets(&template, &values, &short, true),
        )
        .unwrap_err();
        assert!(!problems[0].message.contains("tiny1"), "{}", problems[0]);
        assert_eq!(without_secrets(&template, &for_task), values);

        // The form never shows it, and an empty input keeps the one typed.
        let context = FormContext {
            secrets: secrets.clone(),
            ..FormContext::default()
        };
        let (fields, _) = super::fields(page, &for_task, &[], &context);
        let token = field_named(&fields, "token");
        assert!(token.value.is_empty() && token.secret_stored);
        read_page(
            page,
            &form(&[("p:token", ""), ("p:name", "x")]),
            &mut map,
            &mut secrets,
        );
        assert_eq!(
            secrets.get("token").map(String::as_str),
            Some("s3cret-value")
        );

        // The review shows dots.
        let review = review(&template, &for_task, &secrets);
        let row = review[0]
            .rows
            .iter()
            .find(|row| row.label == "token")
            .unwrap();
        assert_eq!(row.value, SECRET_SHOWN);
        assert!(format!("{review:?}").find("s3cret").is_none());
    }

    #[test]
    fn pickers_list_catalog_entities_by_their_filters() {
        let owner = json!({"type": "string", "ui:field": "OwnerPicker", "ui:options": {"catalogFilter": {"kind": ["Group", "User"]}}});
        assert_eq!(
            picker_filters(&owner).unwrap(),
            vec!["kind=Group", "kind=User"]
        );
        let plain_owner = json!({"type": "string", "ui:field": "OwnerPicker"});
        assert_eq!(
            picker_filters(&plain_owner).unwrap(),
            vec!["kind=Group", "kind=User"]
        );
        let allowed = json!({"ui:field": "OwnerPicker", "ui:options": {"allowedKinds": ["Group"]}});
        assert_eq!(picker_filters(&allowed).unwrap(), vec!["kind=Group"]);
        let system = json!({"ui:field": "EntityPicker", "ui:options": {"catalogFilter": {"kind": "System", "spec.lifecycle": ["production", "experimental"], "metadata.annotations.x": {"exists": true}}}});
        assert_eq!(
            picker_filters(&system).unwrap(),
            vec![
                "kind=System,spec.lifecycle=production,metadata.annotations.x",
                "kind=System,spec.lifecycle=experimental,metadata.annotations.x"
            ]
        );
        let listed = json!({"ui:field": "EntityPicker", "ui:options": {"catalogFilter": [{"kind": "API"}, {"kind": "Component", "spec.type": "service"}]}});
        assert_eq!(
            picker_filters(&listed).unwrap(),
            vec!["kind=API", "kind=Component,spec.type=service"]
        );
        assert_eq!(
            picker_filters(&json!({"ui:field": "EntityPicker"})).unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(picker_filters(&json!({"type": "string"})), None);

        let template = one_page(
            json!({"owner": owner, "system": {"type": "string", "ui:field": "EntityPicker"}}),
            &["owner"],
        );
        let page = &template.parameters[0];
        assert_eq!(pickers_of(page).len(), 2);
        let context = FormContext {
            pickers: HashMap::from([(
                "owner".to_string(),
                vec![
                    PickerEntity {
                        reference: "group:default/team-a".into(),
                        title: "Team A".into(),
                    },
                    PickerEntity {
                        reference: "user:default/jo".into(),
                        title: String::new(),
                    },
                ],
            )]),
            ..FormContext::default()
        };
        let values = json!({"owner": "group:default/team-a"});
        let (fields, _) = super::fields(page, &values, &[], &context);
        let owner = field_named(&fields, "owner");
        assert_eq!(owner.widget, "select");
        assert_eq!(owner.options[0].label, "Team A (group:default/team-a)");
        assert!(owner.options[0].selected);
        assert_eq!(owner.empty_choice, None, "required and chosen");
        let system = field_named(&fields, "system");
        assert_eq!(system.widget, "text", "nothing to choose from: typed");
        assert!(!system.note.is_empty());

        // A value the list does not offer is kept as a choice.
        let (fields, _) =
            super::fields(page, &json!({"owner": "group:default/gone"}), &[], &context);
        let owner = field_named(&fields, "owner");
        assert_eq!(owner.options.len(), 3);
        assert!(owner.options[0].selected && owner.options[0].value == "group:default/gone");

        let mut map = Map::new();
        read_page(
            page,
            &form(&[("p:owner", "user:default/jo"), ("p:system", "")]),
            &mut map,
            &mut BTreeMap::new(),
        );
        assert_eq!(Value::Object(map), json!({"owner": "user:default/jo"}));
    }

    #[test]
    fn read_only_fields_keep_their_values_and_ui_order_is_followed() {
        let template = template(json!([{
            "ui:order": ["b", "*", "a"],
            "properties": {
                "a": {"type": "string", "ui:readonly": true, "default": "fixed"},
                "c": {"type": "string"},
                "b": {"type": "boolean", "ui:disabled": true, "default": true}
            }
        }]));
        let page = &template.parameters[0];
        let values = with_defaults(&template, &json!({}));
        let (fields, _) = super::fields(page, &values, &[], &FormContext::default());
        let names: Vec<&str> = fields.iter().map(|field| field.name.as_str()).collect();
        assert_eq!(names, ["b", "c", "a"]);
        let mut map = values.as_object().unwrap().clone();
        read_page(
            page,
            &form(&[("p:a", "changed"), ("p:c", "x")]),
            &mut map,
            &mut BTreeMap::new(),
        );
        assert_eq!(
            Value::Object(map),
            json!({"a": "fixed", "b": true, "c": "x"})
        );
    }

    #[test]
    fn the_review_lists_every_value_by_page() {
        let template = template(json!([
            {"title": "About", "properties": {
                "name": {"type": "string", "title": "Name"},
                "size": {"type": "string", "enum": ["s"], "enumNames": ["Small"]},
                "public": {"type": "boolean"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "hidden": {"type": "string", "ui:backstage": {"review": {"show": false}}},
                "masked": {"type": "string", "ui:backstage": {"review": {"mask": "(hidden)"}}},
                "missing": {"type": "string"}
            }},
            {"properties": {"repoUrl": {"type": "string", "ui:field": "RepoUrlPicker"}}}
        ]));
        let values = json!({"name": "orders", "size": "s", "public": false, "tags": ["a", "b"], "hidden": "h", "masked": "m", "repoUrl": "pave?owner=team-a&repo=orders"});
        let pages = review(&template, &values, &BTreeMap::new());
        assert_eq!(pages.len(), 2);
        assert_eq!(pages[0].title, "About");
        assert_eq!(pages[1].title, "Step 2");
        let shown: Vec<(&str, &str)> = pages[0]
            .rows
            .iter()
            .map(|row| (row.label.as_str(), row.value.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                ("Name", "orders"),
                ("size", "Small (s)"),
                ("public", "No"),
                ("tags", "a, b"),
                ("masked", "(hidden)"),
                ("missing", "—")
            ]
        );
        assert!(pages[0].rows[5].empty);
        assert_eq!(pages[1].rows[0].value, "pave?owner=team-a&repo=orders");
    }
}
