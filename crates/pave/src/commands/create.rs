//! `pave create`: run a software template from the command line.
//!
//! A run starts a task (`POST /api/scaffolder/v2/tasks`) and follows its
//! event stream, printing each step as it starts and ends, with the step's
//! log under it, and the template's output at the end. `--dry-run` asks
//! for a dry run instead: of a catalog template by reference, or of a local
//! `template.yaml` sent inline with the files of its directory.
//!
//! Values come from `--values` files, then `--set`, then `--set-string`,
//! later ones winning; `--secret`s go to the run only and are never
//! printed.

use std::collections::HashMap;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};

use crate::cli::{CreateArgs, Global, Output};
use crate::client::{Client, ServerError};
use crate::output;

/// A local template's directory may hold at most this many files and
/// bytes (the server's dry-run limits).
const MAX_TEMPLATE_FILES: usize = 2_000;
const MAX_TEMPLATE_BYTES: u64 = 20 * 1024 * 1024;

/// How often in a row a dropped event stream is reopened without an event
/// coming through before giving up.
const RECONNECTS: u32 = 5;

/// The server sends a keep-alive every 15 s; a stream silent for this long
/// is taken as dropped and reopened.
const STREAM_IDLE: Duration = Duration::from_secs(60);

/// The first pause before reopening a dropped stream; it doubles each time.
#[cfg(not(test))]
const RECONNECT_PAUSE: Duration = Duration::from_millis(250);
#[cfg(test)]
const RECONNECT_PAUSE: Duration = Duration::from_millis(1);

/// How long to wait for the server to accept a cancel after Ctrl-C.
const CANCEL_TIMEOUT: Duration = Duration::from_secs(10);

pub async fn run(global: &Global, args: &CreateArgs) -> anyhow::Result<()> {
    // Everything the user typed is checked before any request.
    let values = build_values(&args.values, &args.set, &args.set_string)?;
    let secrets = parse_secrets(&args.secrets)?;
    let source = resolve_template(&args.template)?;
    if args.dry_run {
        let request = match &source {
            Source::Catalog(reference) => {
                json!({"templateRef": reference, "values": values, "secrets": secrets})
            }
            Source::Local(path) => {
                let local = LocalTemplate::load(path)?;
                local.dry_run_request(values, secrets)
            }
        };
        let client = Client::from_global(global)?;
        return dry_run(&client, global.output, &source, &request).await;
    }
    let reference = match source {
        Source::Catalog(reference) => reference,
        Source::Local(path) => bail!(
            "{} is a local template: a run needs a template in the catalog. Register it first (`pave catalog register {}`) and run it by name, or try it here with --dry-run",
            path.display(),
            path.display()
        ),
    };
    let client = Client::from_global(global)?;
    run_task(
        &client,
        global.output,
        &reference,
        values,
        secrets,
        args.no_wait,
    )
    .await
}

// ---------------------------------------------------------------------------
// Values

/// The values to send: `--values` files in order, then `--set`, then
/// `--set-string`, each merged over what came before.
pub fn build_values(
    files: &[PathBuf],
    set: &[String],
    set_string: &[String],
) -> anyhow::Result<Value> {
    let mut values = Value::Object(Map::new());
    for file in files {
        let read = read_values_file(file)?;
        merge(&mut values, read);
    }
    for argument in set {
        let (path, text) = parse_assignment("--set", argument)?;
        assign(&mut values, &path, typed_value(text));
    }
    for argument in set_string {
        let (path, text) = parse_assignment("--set-string", argument)?;
        assign(&mut values, &path, Value::String(text.to_string()));
    }
    Ok(values)
}

fn read_values_file(path: &Path) -> anyhow::Result<Value> {
    let (name, text) = if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read values from standard input")?;
        ("standard input".to_string(), text)
    } else {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the values file {}", path.display()))?;
        (path.display().to_string(), text)
    };
    if text.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let value: Value = serde_saphyr::from_str(&text)
        .map_err(|error| anyhow!("{name} is not YAML or JSON: {error}"))?;
    match value {
        Value::Object(_) => Ok(value),
        Value::Null => Ok(Value::Object(Map::new())),
        other => bail!(
            "{name} must hold an object of values (name: orders), not {}",
            kind_of(&other)
        ),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Merges `overlay` into `base`: objects key by key (recursively), anything
/// else replaces; a null removes the key.
fn merge(base: &mut Value, overlay: Value) {
    match (base, overlay) {
        (Value::Object(base), Value::Object(overlay)) => {
            for (key, value) in overlay {
                if value.is_null() {
                    base.remove(&key);
                } else if let Some(existing) = base.get_mut(&key) {
                    merge(existing, value);
                } else {
                    base.insert(key, value);
                }
            }
        }
        (base, overlay) => *base = overlay,
    }
}

/// `a.b=c` as (["a", "b"], "c"). A dot in a key is written `\.`.
fn parse_assignment<'a>(flag: &str, argument: &'a str) -> anyhow::Result<(Vec<String>, &'a str)> {
    let Some((key, value)) = argument.split_once('=') else {
        bail!("{flag} `{argument}`: expected key=value, such as {flag} name=orders");
    };
    if key.is_empty() {
        bail!("{flag} `{argument}`: the key before `=` is empty");
    }
    let mut path = Vec::new();
    let mut part = String::new();
    let mut characters = key.chars().peekable();
    while let Some(character) = characters.next() {
        match character {
            '\\' if characters.peek() == Some(&'.') => {
                part.push('.');
                characters.next();
            }
            '.' => path.push(std::mem::take(&mut part)),
            other => part.push(other),
        }
    }
    path.push(part);
    if path.iter().any(String::is_empty) {
        bail!(
            "{flag} `{argument}`: the key `{key}` has an empty part; nested keys are written a.b=c"
        );
    }
    Ok((path, value))
}

/// A `--set` value read as a YAML scalar: `true`, `3`, `1.5`, `null` and
/// flow lists or objects (`[a, b]`, `{a: 1}`) get their types; anything
/// else stays the text as typed (a quoted scalar loses its quotes).
fn typed_value(text: &str) -> Value {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Value::String(text.to_string());
    }
    let Ok(parsed) = serde_saphyr::from_str::<Value>(text) else {
        return Value::String(text.to_string());
    };
    let keep = match &parsed {
        Value::Null => matches!(trimmed, "null" | "Null" | "NULL" | "~"),
        Value::Bool(_) => matches!(trimmed.to_ascii_lowercase().as_str(), "true" | "false"),
        Value::Number(_) => true,
        Value::Array(_) => trimmed.starts_with('['),
        Value::Object(_) => trimmed.starts_with('{'),
        Value::String(_) => trimmed.starts_with('"') || trimmed.starts_with('\''),
    };
    if keep {
        parsed
    } else {
        Value::String(text.to_string())
    }
}

/// Sets `path` in `values` (a null value removes it), turning whatever is in
/// the way into objects.
fn assign(values: &mut Value, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut target = values;
    for key in parents {
        if !target.is_object() {
            *target = Value::Object(Map::new());
        }
        let Value::Object(object) = target else {
            return;
        };
        let entry = object
            .entry(key.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        target = entry;
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(object) = target {
        if value.is_null() {
            object.remove(last);
        } else {
            object.insert(last.clone(), value);
        }
    }
}

/// `--secret key=value` pairs.
fn parse_secrets(arguments: &[String]) -> anyhow::Result<Map<String, Value>> {
    let mut secrets = Map::new();
    for argument in arguments {
        // The value is never echoed: only the key appears in messages.
        let Some((key, value)) = argument.split_once('=') else {
            bail!("--secret: expected key=value, such as --secret token=…");
        };
        if key.is_empty() {
            bail!("--secret: the key before `=` is empty");
        }
        secrets.insert(key.to_string(), Value::String(value.to_string()));
    }
    Ok(secrets)
}

// ---------------------------------------------------------------------------
// Templates

/// Where the template comes from.
#[derive(Debug, PartialEq)]
enum Source {
    /// A template in the catalog, by reference as typed.
    Catalog(String),
    /// A local template file.
    Local(PathBuf),
}

/// A path (it contains `/` or ends in .yaml/.yml, and exists; a directory
/// means its template.yaml) or else a catalog reference.
fn resolve_template(argument: &str) -> anyhow::Result<Source> {
    let yaml = argument.ends_with(".yaml") || argument.ends_with(".yml");
    let pathlike = yaml || argument.contains('/') || argument == ".";
    let path = Path::new(argument);
    if pathlike && path.exists() {
        if path.is_dir() {
            for name in ["template.yaml", "template.yml"] {
                if path.join(name).is_file() {
                    return Ok(Source::Local(path.join(name)));
                }
            }
            bail!(
                "{} is a directory without a template.yaml; give the template file",
                path.display()
            );
        }
        return Ok(Source::Local(path.to_path_buf()));
    }
    let explicit = yaml
        || argument.starts_with("./")
        || argument.starts_with("../")
        || argument.starts_with('/')
        || argument == ".";
    if explicit {
        bail!("cannot find the template file {argument}");
    }
    Ok(Source::Catalog(argument.to_string()))
}

/// A template read from disk for a dry run.
struct LocalTemplate {
    entity: Value,
    files: Vec<(String, Vec<u8>)>,
}

impl LocalTemplate {
    fn load(path: &Path) -> anyhow::Result<LocalTemplate> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the template {}", path.display()))?;
        let documents: Vec<Value> = serde_saphyr::from_multiple(&text)
            .map_err(|error| anyhow!("{} is not valid YAML: {error}", path.display()))?;
        let mut templates = documents.into_iter().filter(|document| {
            document
                .get("kind")
                .and_then(Value::as_str)
                .is_some_and(|kind| kind.eq_ignore_ascii_case("template"))
        });
        let Some(entity) = templates.next() else {
            bail!(
                "{} holds no template (an entity with kind: Template)",
                path.display()
            );
        };
        if templates.next().is_some() {
            bail!(
                "{} holds more than one template; put each in its own file",
                path.display()
            );
        }
        let directory = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let files = collect_files(&directory, MAX_TEMPLATE_FILES, MAX_TEMPLATE_BYTES)?;
        Ok(LocalTemplate { entity, files })
    }

    fn dry_run_request(&self, values: Value, secrets: Map<String, Value>) -> Value {
        let contents: Vec<Value> = self
            .files
            .iter()
            .map(|(path, content)| json!({"path": path, "base64Content": base64(content)}))
            .collect();
        json!({
            "template": self.entity,
            "values": values,
            "secrets": secrets,
            "directoryContents": contents,
        })
    }
}

/// Every file under `root` (relative paths with `/`, sorted), skipping
/// `.git` and symbolic links to directories; refuses more than
/// `max_files` files or `max_bytes` bytes.
fn collect_files(
    root: &Path,
    max_files: usize,
    max_bytes: u64,
) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let mut files = Vec::new();
    let mut total: u64 = 0;
    let mut pending = vec![root.to_path_buf()];
    while let Some(directory) = pending.pop() {
        let entries = std::fs::read_dir(&directory)
            .with_context(|| format!("cannot read the directory {}", directory.display()))?;
        for entry in entries {
            let entry = entry
                .with_context(|| format!("cannot read the directory {}", directory.display()))?;
            if entry.file_name() == ".git" {
                continue;
            }
            let path = entry.path();
            let kind = entry
                .file_type()
                .with_context(|| format!("cannot read {}", path.display()))?;
            if kind.is_dir() {
                pending.push(path);
                continue;
            }
            let metadata = if kind.is_symlink() {
                match std::fs::metadata(&path) {
                    Ok(metadata) if metadata.is_file() => metadata,
                    // Links to directories (which could loop) and broken links.
                    _ => continue,
                }
            } else if kind.is_file() {
                entry
                    .metadata()
                    .with_context(|| format!("cannot read {}", path.display()))?
            } else {
                continue;
            };
            if files.len() >= max_files {
                bail!(
                    "the template directory {} has more than {max_files} files; a dry run takes at most {max_files} (.git is left out already)",
                    root.display()
                );
            }
            total += metadata.len();
            if total > max_bytes {
                bail!(
                    "the files in the template directory {} add up to more than {} MB; a dry run takes at most {} MB",
                    root.display(),
                    max_bytes / (1024 * 1024),
                    max_bytes / (1024 * 1024)
                );
            }
            let relative = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_str()
                .ok_or_else(|| anyhow!("{} has a name that is not UTF-8", path.display()))?
                .replace(std::path::MAIN_SEPARATOR, "/");
            let content =
                std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            files.push((relative, content));
        }
    }
    files.sort();
    Ok(files)
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut text = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let triple = (u32::from(chunk[0]) << 16)
            | (u32::from(chunk.get(1).copied().unwrap_or(0)) << 8)
            | u32::from(chunk.get(2).copied().unwrap_or(0));
        for index in 0..4 {
            if index <= chunk.len() {
                text.push(ALPHABET[((triple >> (18 - 6 * index)) & 63) as usize] as char);
            } else {
                text.push('=');
            }
        }
    }
    text
}

/// The length of the bytes a base64 text stands for.
fn base64_len(text: &str) -> usize {
    let text = text.trim_end();
    let padding = text.bytes().rev().take_while(|byte| *byte == b'=').count();
    (text.len() / 4 * 3).saturating_sub(padding.min(2))
}

// ---------------------------------------------------------------------------
// Errors the API gives, made actionable

/// Adds what to do next to the API's answer for `reference`.
async fn explain(client: &Client, reference: Option<&str>, error: anyhow::Error) -> anyhow::Error {
    let Some(status) = error
        .downcast_ref::<ServerError>()
        .map(|server_error| server_error.status)
    else {
        return error;
    };
    match status {
        StatusCode::NOT_FOUND if reference.is_some() => {
            anyhow!("{error}; see the templates with `pave catalog list --filter kind=template`")
        }
        StatusCode::BAD_REQUEST => match reference {
            Some(reference) if error.to_string().contains("values") => {
                match parameters_summary(client, reference).await {
                    Some(summary) => anyhow!("{error}\n  {summary}"),
                    None => error,
                }
            }
            _ => error,
        },
        StatusCode::PAYLOAD_TOO_LARGE => anyhow!(
            "{error}; the template's files are more than the server accepts in one request (its server.bodyLimitBytes, PAVE_SERVER_BODY_LIMIT_BYTES)"
        ),
        _ => error,
    }
}

/// `parameters of template:default/x: name* (string), …` from the
/// template's parameter schema; `*` marks required ones.
async fn parameters_summary(client: &Client, reference: &str) -> Option<String> {
    let parsed = pave_catalog_model::parse_ref(reference, Some("template"), "default").ok()?;
    let schema = client
        .send(
            Method::GET,
            &format!(
                "/api/scaffolder/v2/templates/{}/{}/{}/parameter-schema",
                segment(&parsed.namespace),
                segment(&parsed.kind),
                segment(&parsed.name)
            ),
            None,
        )
        .await
        .ok()?;
    let mut parameters = Vec::new();
    for step in schema.get("steps").and_then(Value::as_array)? {
        let schema = &step["schema"];
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|names| names.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            for (name, property) in properties {
                let mut text = name.clone();
                if required.contains(&name.as_str()) {
                    text.push('*');
                }
                if let Some(kind) = property.get("type").and_then(Value::as_str) {
                    text.push_str(&format!(" ({kind})"));
                }
                parameters.push(text);
            }
        }
    }
    if parameters.is_empty() {
        return None;
    }
    Some(format!(
        "parameters of {parsed} (* required): {}",
        parameters.join(", ")
    ))
}

fn segment(text: &str) -> String {
    text.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.') {
                (byte as char).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Dry runs

async fn dry_run(
    client: &Client,
    format: Output,
    source: &Source,
    request: &Value,
) -> anyhow::Result<()> {
    let reference = match source {
        Source::Catalog(reference) => Some(reference.as_str()),
        Source::Local(_) => None,
    };
    let answer = match client
        .send(Method::POST, "/api/scaffolder/v2/dry-run", Some(request))
        .await
    {
        Ok(answer) => answer,
        Err(error) => return Err(explain(client, reference, error).await),
    };
    if format == Output::Table {
        let steps = match source {
            Source::Local(_) => request.pointer("/template/spec/steps").cloned(),
            Source::Catalog(_) => None,
        };
        let mut progress = Progress::new(steps.as_ref(), Style::detect());
        let log = answer
            .get("log")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for event in log {
            progress.learn(&event["body"]);
        }
        match source {
            Source::Catalog(reference) => println!("Dry run of {reference}: nothing is created"),
            Source::Local(path) => {
                println!("Dry run of {}: nothing is created", path.display())
            }
        }
        for event in log {
            progress.log(&event["body"]);
        }
        print!("{}", files_summary(&answer));
        if answer.get("error").is_none() {
            print!("{}", output_summary(answer.get("output")));
        }
    } else {
        output::print(format, &answer, |_| String::new())?;
    }
    if let Some(error) = answer.get("error") {
        let message = error
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| error.to_string());
        bail!("the dry run failed: {message}");
    }
    Ok(())
}

/// The files a dry run would create: path, size and the executable bit.
fn files_summary(answer: &Value) -> String {
    let files: Vec<(&str, usize, bool)> = answer
        .get("directoryContents")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|file| {
            (
                file.get("path").and_then(Value::as_str).unwrap_or("?"),
                base64_len(
                    file.get("base64Content")
                        .and_then(Value::as_str)
                        .unwrap_or(""),
                ),
                file.get("executable")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            )
        })
        .collect();
    let total: usize = files.iter().map(|(_, size, _)| size).sum();
    let mut text = format!(
        "\nFiles it would create ({} files, {total} bytes):\n",
        files.len()
    );
    let width = files
        .iter()
        .map(|(path, _, _)| path.chars().count())
        .max()
        .unwrap_or(0);
    let size_width = files
        .iter()
        .map(|(_, size, _)| size.to_string().len())
        .max()
        .unwrap_or(1);
    for (path, size, executable) in &files {
        let line = format!(
            "  {path:width$}  {size:>size_width$} bytes{}",
            if *executable { "  executable" } else { "" }
        );
        text.push_str(line.trim_end());
        text.push('\n');
    }
    if files.is_empty() {
        text.push_str("  (none)\n");
    }
    text
}

/// A template's output for people: links (title and URL or entity
/// reference), texts, then any other keys.
fn output_summary(output: Option<&Value>) -> String {
    let Some(Value::Object(output)) = output else {
        return String::new();
    };
    let mut text = String::new();
    if let Some(links) = output.get("links").and_then(Value::as_array)
        && !links.is_empty()
    {
        let rows: Vec<(String, String)> = links
            .iter()
            .map(|link| {
                let title = link
                    .get("title")
                    .and_then(Value::as_str)
                    .unwrap_or("Link")
                    .to_string();
                let target = link
                    .get("url")
                    .or_else(|| link.get("entityRef"))
                    .map(|target| output::cell(Some(target)))
                    .unwrap_or_else(|| "-".into());
                (title, target)
            })
            .collect();
        let width = rows
            .iter()
            .map(|(title, _)| title.chars().count())
            .max()
            .unwrap_or(0);
        text.push_str("\nLinks\n");
        for (title, target) in rows {
            text.push_str(&format!("  {title:width$}  {target}\n"));
        }
    }
    for entry in output
        .get("text")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let title = entry.get("title").and_then(Value::as_str).unwrap_or("Text");
        text.push_str(&format!("\n{title}\n"));
        let content = entry
            .get("content")
            .map(|content| output::cell(Some(content)))
            .unwrap_or_default();
        for line in content.trim_end().lines() {
            text.push_str(format!("  {line}").trim_end());
            text.push('\n');
        }
    }
    let others: Vec<(&String, &Value)> = output
        .iter()
        .filter(|(key, _)| key.as_str() != "links" && key.as_str() != "text")
        .collect();
    if !others.is_empty() {
        text.push_str("\nOutput\n");
        for (key, value) in others {
            let value = match value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            text.push_str(&format!("  {key}: {value}\n"));
        }
    }
    text
}

// ---------------------------------------------------------------------------
// Runs

async fn run_task(
    client: &Client,
    format: Output,
    reference: &str,
    values: Value,
    secrets: Map<String, Value>,
    no_wait: bool,
) -> anyhow::Result<()> {
    let body = json!({"templateRef": reference, "values": values, "secrets": secrets});
    let created = match client
        .send(Method::POST, "/api/scaffolder/v2/tasks", Some(&body))
        .await
    {
        Ok(created) => created,
        Err(error) => return Err(explain(client, Some(reference), error).await),
    };
    let id = created
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("Pave started a task but did not say its id: {created}"))?
        .to_string();
    let url = format!("{}/create/tasks/{id}", client.server);
    if no_wait {
        return output::print(format, &json!({"id": id, "url": url}), |_| {
            format!("Started task {id}\n  follow it at {url}")
        });
    }
    let task_path = format!("/api/scaffolder/v2/tasks/{}", segment(&id));
    // The task's spec names its steps; without it steps show by id only.
    let spec = client.send(Method::GET, &task_path, None).await.ok();
    let mut progress = Progress::new(
        spec.as_ref().and_then(|task| task.pointer("/spec/steps")),
        Style::detect(),
    );
    let table = format == Output::Table;
    if table {
        let template = spec
            .as_ref()
            .and_then(|task| task.get("templateRef"))
            .and_then(Value::as_str)
            .unwrap_or(reference);
        println!("Running {template} as task {id}");
    }

    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    let followed = tokio::select! {
        result = follow(client, &id, |event| {
            if table {
                progress.event(event);
            }
        }) => result,
        _ = &mut interrupted => {
            return Err(cancel(client, &id).await);
        }
    };
    let completion = followed?;
    let status = completion
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("failed")
        .to_string();
    if table {
        if status == "completed" {
            print!("{}", output_summary(completion.get("output")));
        }
    } else {
        let task = client.send(Method::GET, &task_path, None).await?;
        output::print(format, &task, |_| String::new())?;
    }
    match status.as_str() {
        "completed" => Ok(()),
        "cancelled" => bail!("task {id} was cancelled"),
        _ => {
            let message = completion
                .pointer("/error/message")
                .and_then(Value::as_str)
                .unwrap_or("see its log");
            bail!("task {id} failed: {message}")
        }
    }
}

/// Asks the server to cancel a task after Ctrl-C; the error to exit with.
async fn cancel(client: &Client, id: &str) -> anyhow::Error {
    eprintln!("\nInterrupted: asking Pave to cancel task {id}…");
    let path = format!("/api/scaffolder/v2/tasks/{}/cancel", segment(id));
    match tokio::time::timeout(CANCEL_TIMEOUT, client.send(Method::POST, &path, None)).await {
        Ok(Ok(answer)) => anyhow!(
            "interrupted: task {id} is {} at your request",
            answer
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or("cancelled")
        ),
        Ok(Err(error)) => anyhow!("interrupted: could not cancel task {id}: {error}"),
        Err(_) => anyhow!(
            "interrupted: Pave did not answer the cancel of task {id} within {} s; it may still run",
            CANCEL_TIMEOUT.as_secs()
        ),
    }
}

/// One event of a task's stream: its SSE event name and parsed data.
#[derive(Debug, Clone, PartialEq)]
struct TaskEvent {
    kind: String,
    data: Value,
}

/// Follows a task's event stream to its completion event, reopening it
/// after the last event seen when it drops; calls `on_event` once per
/// event and returns the completion's body.
async fn follow(
    client: &Client,
    id: &str,
    mut on_event: impl FnMut(&TaskEvent),
) -> anyhow::Result<Value> {
    let path = format!("/api/scaffolder/v2/tasks/{}/eventstream", segment(id));
    let mut last_id: Option<String> = None;
    let mut failures = 0u32;
    loop {
        let last_problem: String;
        let query: Vec<(&str, String)> =
            last_id.iter().map(|last| ("after", last.clone())).collect();
        match client.stream(&path, &query, last_id.as_deref()).await {
            Ok(mut response) => {
                let mut parser = SseParser::default();
                loop {
                    let chunk = match tokio::time::timeout(STREAM_IDLE, response.chunk()).await {
                        Ok(Ok(Some(chunk))) => chunk,
                        Ok(Ok(None)) => {
                            last_problem = "the stream ended before the task did".into();
                            break;
                        }
                        Ok(Err(error)) => {
                            last_problem = format!("the stream broke: {error}");
                            break;
                        }
                        Err(_) => {
                            last_problem = format!(
                                "nothing came for {} s, not even a keep-alive",
                                STREAM_IDLE.as_secs()
                            );
                            break;
                        }
                    };
                    for event in parser.push(&chunk) {
                        if event.id.is_some() {
                            last_id.clone_from(&event.id);
                        }
                        failures = 0;
                        let data: Value = serde_json::from_str(&event.data)
                            .unwrap_or_else(|_| json!({"body": {"message": event.data.clone()}}));
                        let event = TaskEvent {
                            kind: event.event,
                            data,
                        };
                        on_event(&event);
                        if event.kind == "completion" {
                            return Ok(event.data.get("body").cloned().unwrap_or(Value::Null));
                        }
                    }
                }
            }
            Err(error) => {
                // The task or the permission to read it is gone: no retry helps.
                if let Some(server_error) = error.downcast_ref::<ServerError>()
                    && server_error.status.is_client_error()
                {
                    return Err(error.context(format!("cannot follow task {id}")));
                }
                last_problem = format!("{error:#}");
            }
        }
        failures += 1;
        if failures > RECONNECTS {
            return finished_without_stream(client, id, &last_problem).await;
        }
        tokio::time::sleep(RECONNECT_PAUSE * 2u32.pow(failures.min(5))).await;
    }
}

/// The stream could not be followed to the end: the task's status tells.
async fn finished_without_stream(
    client: &Client,
    id: &str,
    problem: &str,
) -> anyhow::Result<Value> {
    let task = client
        .send(
            Method::GET,
            &format!("/api/scaffolder/v2/tasks/{}", segment(id)),
            None,
        )
        .await;
    match task {
        Ok(task) => {
            let status = task.get("status").and_then(Value::as_str).unwrap_or("");
            if matches!(status, "completed" | "failed" | "cancelled") {
                Ok(
                    json!({"status": status, "output": task.get("output"), "error": {"message": format!("the task {status}; its event stream was lost ({problem})")}}),
                )
            } else {
                bail!(
                    "lost the event stream of task {id} ({problem}); it is still {status} on the server"
                )
            }
        }
        Err(error) => bail!("lost the event stream of task {id} ({problem}): {error}"),
    }
}

// ---------------------------------------------------------------------------
// Server-sent events

/// One dispatched server-sent event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SseEvent {
    /// The last event id seen (ids carry over to later events).
    pub(crate) id: Option<String>,
    /// `event:`, or `message`.
    pub(crate) event: String,
    /// The `data:` lines, joined with newlines.
    pub(crate) data: String,
}

/// Reads a `text/event-stream` in chunks as they arrive, whatever their
/// boundaries (the middle of a line or of a UTF-8 character).
#[derive(Debug, Default)]
pub(crate) struct SseParser {
    line: Vec<u8>,
    after_cr: bool,
    started: bool,
    event: Option<String>,
    data: String,
    has_data: bool,
    last_id: Option<String>,
}

impl SseParser {
    /// Feeds bytes; returns the events they complete.
    pub(crate) fn push(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        let mut events = Vec::new();
        for &byte in bytes {
            if std::mem::take(&mut self.after_cr) && byte == b'\n' {
                continue;
            }
            match byte {
                b'\n' => self.end_line(&mut events),
                b'\r' => {
                    self.end_line(&mut events);
                    self.after_cr = true;
                }
                other => self.line.push(other),
            }
        }
        events
    }

    fn end_line(&mut self, events: &mut Vec<SseEvent>) {
        let raw = std::mem::take(&mut self.line);
        let mut line = String::from_utf8_lossy(&raw).into_owned();
        if !std::mem::replace(&mut self.started, true) && line.starts_with('\u{feff}') {
            line.remove(0);
        }
        if line.is_empty() {
            if std::mem::take(&mut self.has_data) {
                let mut data = std::mem::take(&mut self.data);
                data.pop();
                events.push(SseEvent {
                    id: self.last_id.clone(),
                    event: self.event.take().unwrap_or_else(|| "message".into()),
                    data,
                });
            } else {
                self.event = None;
            }
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line.as_str(), ""),
        };
        match field {
            "event" => self.event = Some(value.to_string()),
            "data" => {
                self.data.push_str(value);
                self.data.push('\n');
                self.has_data = true;
            }
            "id" if !value.contains('\0') => self.last_id = Some(value.to_string()),
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------------
// Progress

/// How progress is drawn.
#[derive(Debug, Clone, Copy)]
struct Style {
    /// Dim log lines, colour the marks.
    color: bool,
    /// Replace a step's start line with its end line when nothing came between.
    rewrite: bool,
}

impl Style {
    fn detect() -> Style {
        let terminal = std::io::stdout().is_terminal()
            && std::env::var("TERM").map_or(true, |term| term != "dumb");
        Style {
            color: terminal && std::env::var_os("NO_COLOR").is_none(),
            rewrite: terminal,
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// Prints task events: a line per step as it starts and ends, the step's
/// log indented under it.
struct Progress {
    titles: HashMap<String, String>,
    width: usize,
    style: Style,
    /// The step whose start line is the last line printed.
    started: Option<String>,
}

impl Progress {
    /// `steps`: the template's steps (`[{id, name, action}]`), for titles.
    fn new(steps: Option<&Value>, style: Style) -> Progress {
        let mut titles = HashMap::new();
        for (index, step) in steps
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let id = step
                .get("id")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| format!("steps[{index}]"));
            let title = step
                .get("name")
                .or_else(|| step.get("action"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            titles.insert(id, title);
        }
        let width = titles
            .keys()
            .map(|id| id.chars().count())
            .max()
            .unwrap_or(0);
        Progress {
            titles,
            width,
            style,
            started: None,
        }
    }

    fn event(&mut self, event: &TaskEvent) {
        let body = &event.data["body"];
        match event.kind.as_str() {
            "log" => self.log(body),
            "cancelled" => self.line(&self.style.paint("33", "! cancel requested")),
            "recovered" => {
                let message = output::cell(body.get("message"));
                self.line(&self.style.paint("33", &format!("! {message}")));
            }
            "completion" => {
                let status = body.get("status").and_then(Value::as_str).unwrap_or("?");
                let line = match status {
                    "completed" => self.style.paint("32", "✓ completed"),
                    other => self.style.paint("31", &format!("✗ {other}")),
                };
                self.line(&line);
            }
            _ => {}
        }
    }

    /// A log event's body: `{message, stepId?, status?}`.
    fn log(&mut self, body: &Value) {
        let message = body
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let step = body.get("stepId").and_then(Value::as_str);
        let status = body.get("status").and_then(Value::as_str);
        match (step, status) {
            (Some(step), Some(status)) => {
                self.learn(body);
                self.step(step, status, &message)
            }
            (Some(_), None) => {
                for line in message.lines() {
                    let line = self.style.paint("2", &format!("    {line}"));
                    self.line(&line);
                }
            }
            (None, _) => {
                for line in message.lines() {
                    self.line(&format!("  {line}"));
                }
            }
        }
    }

    /// Learns a step's title from its start event when the steps were not
    /// known beforehand.
    fn learn(&mut self, body: &Value) {
        let step = body.get("stepId").and_then(Value::as_str);
        let status = body.get("status").and_then(Value::as_str);
        if let (Some(step), Some("processing")) = (step, status)
            && !self.titles.contains_key(step)
        {
            let message = body.get("message").and_then(Value::as_str).unwrap_or("");
            let title = message.strip_prefix("Beginning step ").unwrap_or("");
            self.titles.insert(step.to_string(), title.to_string());
            self.width = self.width.max(step.chars().count());
        }
    }

    fn step(&mut self, step: &str, status: &str, message: &str) {
        let title = self.titles.get(step).cloned().unwrap_or_default();
        let label = format!("{step:width$}  {title}", width = self.width);
        let label = label.trim_end();
        match status {
            "processing" => {
                self.line(&format!("{} {label}", self.style.paint("36", "→")));
                self.started = Some(step.to_string());
            }
            "completed" => {
                self.finish(step, &format!("{} {label}", self.style.paint("32", "✓")));
            }
            "skipped" => {
                self.finish(step, &format!("- {label} (skipped)"));
            }
            "cancelled" => {
                self.finish(
                    step,
                    &format!("{} {label} (cancelled)", self.style.paint("33", "✗")),
                );
            }
            _ => {
                self.finish(step, &format!("{} {label}", self.style.paint("31", "✗")));
                for line in message.lines() {
                    let line = self.style.paint("31", &format!("    {line}"));
                    self.line(&line);
                }
            }
        }
    }

    /// A step's end line; on a terminal it replaces the start line when
    /// nothing was printed after it.
    fn finish(&mut self, step: &str, line: &str) {
        if self.style.rewrite && self.started.as_deref() == Some(step) {
            print!("\x1b[1A\r\x1b[2K");
        }
        self.line(line);
    }

    fn line(&mut self, line: &str) {
        println!("{line}");
        self.started = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(arguments: &[&str]) -> anyhow::Result<Value> {
        let arguments: Vec<String> = arguments.iter().map(|text| text.to_string()).collect();
        build_values(&[], &arguments, &[])
    }

    #[test]
    fn set_builds_nested_typed_values_and_later_ones_win() {
        let values = set(&[
            "name=orders",
            "owner=group:default/team-a",
            "repoUrl=pave?owner=team-a&repo=orders",
            "replicas=3",
            "ratio=1.5",
            "public=true",
            "tags=[a, b]",
            "limits={cpu: 2}",
            "database.engine=postgres",
            "database.size=10",
            "database.engine=mysql",
            "description=Hello: world # not a comment",
            "list=- a",
            "word=yes",
            "quoted=\"42\"",
            "empty=",
            "dotted\\.key=x",
        ])
        .unwrap();
        assert_eq!(
            values,
            json!({
                "name": "orders",
                "owner": "group:default/team-a",
                "repoUrl": "pave?owner=team-a&repo=orders",
                "replicas": 3,
                "ratio": 1.5,
                "public": true,
                "tags": ["a", "b"],
                "limits": {"cpu": 2},
                "database": {"engine": "mysql", "size": 10},
                "description": "Hello: world # not a comment",
                "list": "- a",
                "word": "yes",
                "quoted": "42",
                "empty": "",
                "dotted.key": "x",
            })
        );
    }

    #[test]
    fn set_replaces_what_is_in_the_way_and_null_removes() {
        let values = set(&["a=1", "a.b=2", "c.d=3", "c=4", "e.f=5", "e.f=null"]).unwrap();
        assert_eq!(values, json!({"a": {"b": 2}, "c": 4, "e": {}}));
    }

    #[test]
    fn set_string_keeps_text_and_comes_after_set() {
        let values = build_values(
            &[],
            &["version=1.10".into(), "port=8080".into()],
            &["version=1.10".into(), "enabled=true".into()],
        )
        .unwrap();
        assert_eq!(
            values,
            json!({"version": "1.10", "port": 8080, "enabled": "true"})
        );
    }

    #[test]
    fn values_files_merge_deeply_under_set() {
        let directory = tempfile::tempdir().unwrap();
        let first = directory.path().join("first.yaml");
        let second = directory.path().join("second.json");
        std::fs::write(
            &first,
            "name: orders\ndatabase:\n  engine: postgres\n  size: 10\nsystem: shop\n",
        )
        .unwrap();
        std::fs::write(
            &second,
            r#"{"database": {"size": 20}, "system": null, "owner": "team-a"}"#,
        )
        .unwrap();
        let values =
            build_values(&[first, second], &["database.engine=mysql".into()], &[]).unwrap();
        assert_eq!(
            values,
            json!({"name": "orders", "database": {"engine": "mysql", "size": 20}, "owner": "team-a"})
        );

        let list = directory.path().join("list.yaml");
        std::fs::write(&list, "- a\n- b\n").unwrap();
        let error = build_values(std::slice::from_ref(&list), &[], &[]).unwrap_err();
        assert!(
            error.to_string().contains("list.yaml must hold an object")
                && error.to_string().contains("not a list"),
            "{error}"
        );
        let broken = directory.path().join("broken.yaml");
        std::fs::write(&broken, "name: [unclosed\n").unwrap();
        let error = build_values(&[broken], &[], &[]).unwrap_err();
        assert!(
            error.to_string().contains("broken.yaml is not YAML"),
            "{error}"
        );
        let missing = directory.path().join("missing.yaml");
        let error = build_values(&[missing], &[], &[]).unwrap_err();
        assert!(format!("{error:#}").contains("missing.yaml"), "{error:#}");
    }

    #[test]
    fn bad_assignments_are_refused_with_the_argument_named() {
        let cases = [
            (vec!["novalue"], "--set `novalue`: expected key=value"),
            (vec!["=x"], "--set `=x`: the key before `=` is empty"),
            (vec!["a..b=x"], "the key `a..b` has an empty part"),
            (vec![".a=x"], "has an empty part"),
            (vec!["a.=x"], "has an empty part"),
        ];
        for (arguments, expected) in cases {
            let error = set(&arguments).unwrap_err().to_string();
            assert!(error.contains(expected), "{arguments:?}: {error}");
        }
        let error = build_values(&[], &[], &["nokey".into()]).unwrap_err();
        assert!(error.to_string().starts_with("--set-string `nokey`"));
        // `=` in the value is the value's.
        assert_eq!(set(&["a=b=c"]).unwrap(), json!({"a": "b=c"}));
    }

    #[test]
    fn secrets_are_pairs_and_never_echoed() {
        let secrets = parse_secrets(&["token=s3cret=x".into()]).unwrap();
        assert_eq!(Value::Object(secrets), json!({"token": "s3cret=x"}));
        let error = parse_secrets(&["s3cret".into()]).unwrap_err().to_string();
        assert!(error.contains("expected key=value") && !error.contains("s3cret"));
    }

    #[test]
    fn templates_are_catalog_references_unless_they_are_existing_paths() {
        let directory = tempfile::tempdir().unwrap();
        let file = directory.path().join("template.yaml");
        std::fs::write(&file, "kind: Template\n").unwrap();
        for reference in [
            "python-service",
            "template:default/python-service",
            "default/python-service",
        ] {
            assert_eq!(
                resolve_template(reference).unwrap(),
                Source::Catalog(reference.into())
            );
        }
        let path = file.display().to_string();
        assert_eq!(
            resolve_template(&path).unwrap(),
            Source::Local(file.clone())
        );
        let directory_path = directory.path().display().to_string();
        assert_eq!(
            resolve_template(&directory_path).unwrap(),
            Source::Local(file.clone())
        );
        let error = resolve_template("./nowhere/template.yaml").unwrap_err();
        assert!(error.to_string().contains("cannot find the template file"));
        let empty = tempfile::tempdir().unwrap();
        let error = resolve_template(&empty.path().display().to_string()).unwrap_err();
        assert!(error.to_string().contains("without a template.yaml"));
    }

    #[test]
    fn local_template_files_are_collected_within_limits() {
        let directory = tempfile::tempdir().unwrap();
        let root = directory.path();
        std::fs::create_dir_all(root.join("skeleton/app")).unwrap();
        std::fs::create_dir_all(root.join(".git/objects")).unwrap();
        std::fs::write(root.join("template.yaml"), "kind: Template\n").unwrap();
        std::fs::write(root.join("skeleton/app/main.py"), "print(1)\n").unwrap();
        std::fs::write(root.join("skeleton/README.md"), "# ${{ values.name }}\n").unwrap();
        std::fs::write(root.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(root.join("skeleton"), root.join("loop")).unwrap();
        let files = collect_files(root, 10, 1024).unwrap();
        let paths: Vec<&str> = files.iter().map(|(path, _)| path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "skeleton/README.md",
                "skeleton/app/main.py",
                "template.yaml"
            ]
        );
        assert_eq!(files[1].1, b"print(1)\n");

        let error = collect_files(root, 2, 1024).unwrap_err().to_string();
        assert!(error.contains("more than 2 files"), "{error}");
        let error = collect_files(root, 10, 20).unwrap_err().to_string();
        assert!(error.contains("add up to more than"), "{error}");
    }

    #[test]
    fn a_local_template_is_read_with_its_files() {
        let directory = tempfile::tempdir().unwrap();
        let root = directory.path();
        std::fs::create_dir_all(root.join("skeleton")).unwrap();
        std::fs::write(root.join("skeleton/hello.txt"), "Hello ${{ values.x }}!").unwrap();
        std::fs::write(
            root.join("template.yaml"),
            "apiVersion: v1\nkind: Location\n---\napiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata:\n  name: hello\n",
        )
        .unwrap();
        let local = LocalTemplate::load(&root.join("template.yaml")).unwrap();
        assert_eq!(local.entity["metadata"]["name"], "hello");
        let request = local.dry_run_request(json!({"x": "world"}), Map::new());
        let contents = request["directoryContents"].as_array().unwrap();
        assert_eq!(contents[0]["path"], "skeleton/hello.txt");
        assert_eq!(
            contents[0]["base64Content"],
            base64(b"Hello ${{ values.x }}!")
        );
        std::fs::write(root.join("template.yaml"), "kind: Component\n").unwrap();
        let error = LocalTemplate::load(&root.join("template.yaml"))
            .err()
            .unwrap();
        assert!(error.to_string().contains("holds no template"), "{error}");
    }

    #[test]
    fn base64_matches_the_standard_alphabet_and_padding() {
        for (input, expected) in [
            (&b""[..], ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg=="),
            (b"fooba", "Zm9vYmE="),
            (b"foobar", "Zm9vYmFy"),
            (&[0xff, 0xfe, 0x00], "//4A"),
        ] {
            assert_eq!(base64(input), expected);
            assert_eq!(base64_len(expected), input.len());
        }
    }

    fn events(parser: &mut SseParser, chunks: &[&[u8]]) -> Vec<SseEvent> {
        chunks.iter().flat_map(|chunk| parser.push(chunk)).collect()
    }

    #[test]
    fn sse_events_survive_any_chunk_boundary() {
        let stream = "id: 1\nevent: log\ndata: {\"a\":\"é\"}\n\n: keep-alive\n\nid: 2\r\nevent: completion\r\ndata: first\r\ndata:second\r\n\r\ndata: no id or event\n\n";
        let expected = vec![
            SseEvent {
                id: Some("1".into()),
                event: "log".into(),
                data: "{\"a\":\"é\"}".into(),
            },
            SseEvent {
                id: Some("2".into()),
                event: "completion".into(),
                data: "first\nsecond".into(),
            },
            SseEvent {
                id: Some("2".into()),
                event: "message".into(),
                data: "no id or event".into(),
            },
        ];
        let bytes = stream.as_bytes();
        // Whole, then split at every byte (mid-line, mid-CRLF, mid-UTF-8).
        assert_eq!(events(&mut SseParser::default(), &[bytes]), expected);
        for cut in 0..bytes.len() {
            let (head, tail) = bytes.split_at(cut);
            assert_eq!(
                events(&mut SseParser::default(), &[head, tail]),
                expected,
                "cut at {cut}"
            );
        }
        let single: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(events(&mut SseParser::default(), &single), expected);
    }

    #[test]
    fn sse_ignores_comments_unknown_fields_and_unfinished_events() {
        let mut parser = SseParser::default();
        let got = events(
            &mut parser,
            &[b"\xEF\xBB\xBFretry: 10\nevent: log\n\nfoo: bar\n:comment\ndata\n\nid: 7\ndata: half"],
        );
        assert_eq!(
            got,
            vec![SseEvent {
                id: None,
                event: "message".into(),
                data: String::new(),
            }]
        );
        // An event is only dispatched by its blank line.
        assert_eq!(parser.last_id.as_deref(), Some("7"));
        assert_eq!(
            parser.push(b"\n\n"),
            vec![SseEvent {
                id: Some("7".into()),
                event: "message".into(),
                data: "half".into(),
            }]
        );
    }

    #[test]
    fn output_shows_links_texts_and_other_keys() {
        let text = output_summary(Some(&json!({
            "links": [
                {"title": "Repository", "url": "http://x/git/a.git"},
                {"title": "Open in catalog", "entityRef": "component:default/orders"}
            ],
            "text": [{"title": "Next steps", "content": "Clone it.\n\nRun it."}],
            "remoteUrl": "http://x/git/a.git"
        })));
        assert_eq!(
            text,
            "\nLinks\n  Repository       http://x/git/a.git\n  Open in catalog  component:default/orders\n\nNext steps\n  Clone it.\n\n  Run it.\n\nOutput\n  remoteUrl: http://x/git/a.git\n"
        );
        let files = files_summary(&json!({"directoryContents": [
            {"path": "run.sh", "executable": true, "base64Content": base64(b"#!/bin/sh\n")},
            {"path": "hello.txt", "executable": false, "base64Content": base64(b"Hello world!")}
        ]}));
        assert_eq!(
            files,
            "\nFiles it would create (2 files, 22 bytes):\n  run.sh     10 bytes  executable\n  hello.txt  12 bytes\n"
        );
    }

    /// A server that answers each connection with the next canned stream
    /// and hands back the request heads it read.
    async fn canned_server(answers: Vec<String>) -> (String, tokio::task::JoinHandle<Vec<String>>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        // As main does: reqwest needs a TLS provider even for http://.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let handle = tokio::spawn(async move {
            let mut heads = Vec::new();
            for answer in answers {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if socket.read(&mut byte).await.unwrap() == 0 {
                        break;
                    }
                    head.push(byte[0]);
                }
                heads.push(String::from_utf8_lossy(&head).into_owned());
                socket.write_all(answer.as_bytes()).await.unwrap();
                socket.shutdown().await.unwrap();
            }
            heads
        });
        (format!("http://{address}"), handle)
    }

    fn sse(id: i64, kind: &str, body: Value) -> String {
        let data = json!({"id": id, "taskId": "t1", "type": kind, "body": body});
        format!("id: {id}\nevent: {kind}\ndata: {data}\n\n")
    }

    #[tokio::test]
    async fn a_dropped_stream_is_reopened_after_the_last_event() {
        let head =
            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n";
        let first = format!(
            "{head}{}{}id: 3\nevent: log\ndata: {{\"half",
            sse(
                1,
                "log",
                json!({"message": "Beginning step Fetch", "stepId": "fetch", "status": "processing"})
            ),
            sse(2, "log", json!({"message": "fetching", "stepId": "fetch"})),
        );
        let second = format!(
            "{head}: keep-alive\n\n{}{}",
            sse(
                3,
                "log",
                json!({"message": "Finished step Fetch", "stepId": "fetch", "status": "completed"})
            ),
            sse(
                4,
                "completion",
                json!({"status": "completed", "output": {"a": 1}})
            ),
        );
        let (url, server) = canned_server(vec![first, second]).await;
        let client = Client::new(&url, Some("pave_test".into())).unwrap();
        let mut seen = Vec::new();
        let completion = follow(&client, "t1", |event| {
            seen.push(event.data["id"].as_i64().unwrap());
        })
        .await
        .unwrap();
        assert_eq!(
            completion,
            json!({"status": "completed", "output": {"a": 1}})
        );
        assert_eq!(seen, [1, 2, 3, 4], "each event once, in order");
        let heads = server.await.unwrap();
        assert!(heads[0].starts_with("GET /api/scaffolder/v2/tasks/t1/eventstream HTTP/1.1"));
        assert!(
            heads[1].starts_with("GET /api/scaffolder/v2/tasks/t1/eventstream?after=2 "),
            "{}",
            heads[1]
        );
        assert!(heads[1].to_ascii_lowercase().contains("last-event-id: 2"));
        assert!(
            heads[1].contains("authorization: Bearer pave_test")
                || heads[1]
                    .to_ascii_lowercase()
                    .contains("authorization: bearer pave_test")
        );
    }

    #[tokio::test]
    async fn a_stream_that_keeps_failing_ends_with_the_task_status() {
        let head =
            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n";
        let mut answers: Vec<String> = (0..=RECONNECTS).map(|_| head.to_string()).collect();
        let task = json!({"id": "t1", "status": "processing"}).to_string();
        answers.push(format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{task}",
            task.len()
        ));
        let (url, server) = canned_server(answers).await;
        let client = Client::new(&url, Some("pave_test".into())).unwrap();
        let error = follow(&client, "t1", |_| {}).await.unwrap_err().to_string();
        assert!(
            error.contains("lost the event stream of task t1")
                && error.contains("still processing"),
            "{error}"
        );
        assert_eq!(server.await.unwrap().len(), RECONNECTS as usize + 2);
    }
}
