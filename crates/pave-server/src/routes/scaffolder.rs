//! Backstage's scaffolder API (`/api/scaffolder/v2`): template actions,
//! parameter schemas, tasks with their event stream, cancel and dry run.
//! Handlers are thin: authorize, call the engine, shape the answer.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use base64::Engine as _;
use pave_access::{Action, NewEvent, Outcome, ResourceRef};
use pave_scaffold::tasks::{
    DryRunFile, DryRunRequest, NewTask, ScaffolderError, TaskEvent, TaskRecord,
};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::entity_access::{EntityAccess, readable_entity};
use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::state::AppState;

impl From<ScaffolderError> for ApiError {
    fn from(error: ScaffolderError) -> ApiError {
        match error {
            ScaffolderError::NotFound(message) => ApiError::not_found(message),
            ScaffolderError::Input { message, .. } => ApiError::input(message),
            ScaffolderError::Conflict(message) => {
                ApiError::new(StatusCode::CONFLICT, "ConflictError", message)
            }
            ScaffolderError::Store(error) => ApiError::from(error),
            ScaffolderError::Io(message) => {
                tracing::error!(%message, "scaffolder IO error");
                ApiError::internal(
                    "the scaffolder could not use its work directory; see the server log",
                )
            }
        }
    }
}

/// Every action templates may use, with its input schema.
#[utoipa::path(get, path = "/api/scaffolder/v2/actions", tag = "scaffolder",
    responses((status = 200, description = "[{id, description, schema: {input}}]", body = Object)))]
pub async fn actions(State(state): State<AppState>) -> axum::Json<Value> {
    let actions: Vec<Value> = state
        .scaffolder
        .actions()
        .actions()
        .map(|action| {
            json!({
                "id": action.name(),
                "description": action.description(),
                "schema": {"input": action.input_schema()},
            })
        })
        .collect();
    axum::Json(Value::Array(actions))
}

/// A template the caller may read (404 otherwise).
async fn readable_template(
    state: &AppState,
    caller: &Caller,
    reference: &str,
) -> Result<Value, ApiError> {
    readable_entity(
        state,
        &caller.principal,
        reference,
        "template",
        "templateRef",
    )
    .await
}

/// A template's parameter pages, as the wizard needs them.
#[utoipa::path(get, path = "/api/scaffolder/v2/templates/{namespace}/{kind}/{name}/parameter-schema", tag = "scaffolder",
    params(("namespace" = String, Path), ("kind" = String, Path), ("name" = String, Path)),
    responses((status = 200, description = "{title, description, steps: [{title, description, schema}]}", body = Object), (status = 404, description = "No such template")))]
pub async fn parameter_schema(
    State(state): State<AppState>,
    caller: Caller,
    Path((namespace, kind, name)): Path<(String, String, String)>,
) -> Result<axum::Json<Value>, ApiError> {
    if !kind.eq_ignore_ascii_case("template") {
        return Err(ApiError::not_found(format!(
            "no template named {kind}:{namespace}/{name}: templates have kind Template"
        )));
    }
    let entity = readable_template(&state, &caller, &format!("{kind}:{namespace}/{name}")).await?;
    let template = pave_scaffold::parse_template(&entity)
        .map_err(|error| ApiError::input(error.to_string()))?;
    let steps: Vec<Value> = template
        .parameters
        .iter()
        .map(|page| {
            json!({
                "title": page.title.clone().unwrap_or_else(|| "Fill in some steps".into()),
                "description": page.description,
                "schema": page.schema,
            })
        })
        .collect();
    Ok(axum::Json(json!({
        "title": template.title.unwrap_or(template.name),
        "description": template.description,
        "steps": steps,
    })))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateTask {
    /// `template:namespace/name` (or `namespace/name`, or `name`).
    template_ref: String,
    #[serde(default = "empty_object")]
    values: Value,
    /// Used by this run only; never stored or logged.
    #[serde(default)]
    secrets: BTreeMap<String, String>,
}

fn empty_object() -> Value {
    json!({})
}

/// Starts a template run.
#[utoipa::path(post, path = "/api/scaffolder/v2/tasks", tag = "scaffolder", request_body = CreateTask,
    responses((status = 201, description = "{id}", body = Object), (status = 400, description = "Bad template or values"), (status = 403, description = "Not allowed to run this template")))]
pub async fn create_task(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<CreateTask>,
) -> Result<(StatusCode, axum::Json<Value>), ApiError> {
    let template = readable_template(&state, &caller, &body.template_ref).await?;
    EntityAccess::new(&state, &caller.principal)
        .check_change(Action::ScaffolderTemplateRun, &template, &caller)
        .await?;
    let task = state
        .scaffolder
        .create_task(NewTask {
            template,
            values: body.values,
            secrets: body.secrets,
            created_by: caller.principal.reference.to_string(),
        })
        .await?;
    record(
        &state,
        &caller,
        Action::ScaffolderTemplateRun,
        format!("entity:{}", task.template_ref),
        json!({"task": task.id}),
    )
    .await;
    Ok((StatusCode::CREATED, axum::Json(json!({"id": task.id}))))
}

async fn record(
    state: &AppState,
    caller: &Caller,
    action: Action,
    resource: String,
    detail: Value,
) {
    let event = NewEvent {
        principal: caller.principal.reference.to_string(),
        action: action.name().into(),
        resource,
        outcome: Outcome::Success,
        request_id: Some(caller.request_id.clone()),
        detail,
    };
    if let Err(error) = state.access.record(event).await {
        tracing::error!(%error, "cannot write an audit event");
    }
}

/// A task as Backstage shows it.
fn task_json(task: &TaskRecord) -> Value {
    json!({
        "id": task.id,
        "spec": task.spec,
        "status": task.status,
        "createdAt": task.created_at,
        "lastHeartbeatAt": task.updated_at,
        "createdBy": task.created_by,
        "templateRef": task.template_ref,
        "output": task.output,
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListTasks {
    /// Only tasks created by this principal.
    created_by: Option<String>,
    /// At most this many (1–500, default 50).
    limit: Option<i64>,
    offset: Option<i64>,
}

/// Tasks the caller may read, newest first.
#[utoipa::path(get, path = "/api/scaffolder/v2/tasks", tag = "scaffolder", params(ListTasks),
    responses((status = 200, description = "{tasks, totalTasks}", body = Object)))]
pub async fn list_tasks(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ListTasks>,
) -> Result<axum::Json<Value>, ApiError> {
    let (tasks, total) = state
        .scaffolder
        .tasks(
            query.created_by.as_deref(),
            query.limit.unwrap_or(50),
            query.offset.unwrap_or(0),
        )
        .await?;
    let visible: Vec<Value> = tasks
        .iter()
        .filter(|task| may_read_task(&state, &caller, task))
        .map(task_json)
        .collect();
    // The total counts what the caller may see only when it saw everything.
    let total = if visible.len() == tasks.len() {
        total
    } else {
        visible.len() as i64
    };
    Ok(axum::Json(json!({"tasks": visible, "totalTasks": total})))
}

fn may_read_task(state: &AppState, caller: &Caller, task: &TaskRecord) -> bool {
    let resource = ResourceRef::Task {
        id: task.id.clone(),
        created_by: task.created_by.clone(),
        template: task.template_ref.clone(),
    };
    state
        .access
        .decide(&caller.principal, Action::ScaffolderTaskRead, &resource)
        .allowed
}

/// One task.
#[utoipa::path(get, path = "/api/scaffolder/v2/tasks/{id}", tag = "scaffolder",
    params(("id" = String, Path)),
    responses((status = 200, description = "The task", body = Object), (status = 404, description = "No such task")))]
pub async fn task(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    let task = state.scaffolder.task(&id).await?;
    Ok(axum::Json(task_json(&task)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct After {
    /// Only events after this event id.
    after: Option<i64>,
}

fn event_json(event: &TaskEvent) -> Value {
    json!(event)
}

/// A task's events so far (for clients that poll).
#[utoipa::path(get, path = "/api/scaffolder/v2/tasks/{id}/events", tag = "scaffolder",
    params(("id" = String, Path), After),
    responses((status = 200, description = "[event]", body = Object), (status = 404, description = "No such task")))]
pub async fn events(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<After>,
) -> Result<axum::Json<Value>, ApiError> {
    let (events, _) = state
        .scaffolder
        .next_events(&id, query.after, Duration::ZERO)
        .await?;
    Ok(axum::Json(Value::Array(
        events.iter().map(event_json).collect(),
    )))
}

/// A task's events as server-sent events: everything after `after` (or
/// `Last-Event-ID`), then new ones as they happen, ending with completion.
#[utoipa::path(get, path = "/api/scaffolder/v2/tasks/{id}/eventstream", tag = "scaffolder",
    params(("id" = String, Path), After),
    responses((status = 200, description = "text/event-stream of task events"), (status = 404, description = "No such task")))]
pub async fn event_stream(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    Query(query): Query<After>,
) -> Result<Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>>, ApiError> {
    // Fails early (404) for a task that does not exist.
    state.scaffolder.task(&id).await?;
    let last_event_id = headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<i64>().ok());
    // A reconnecting browser sends Last-Event-ID; it wins over the `after`
    // of the URL it first opened, or every reconnect would replay events.
    let after = last_event_id.or(query.after);
    let engine = state.scaffolder.clone();
    let stream = crate::task_events::follow(engine, id, after, Vec::new(), false);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// Cancels a task that has not finished.
#[utoipa::path(post, path = "/api/scaffolder/v2/tasks/{id}/cancel", tag = "scaffolder",
    params(("id" = String, Path)),
    responses((status = 200, description = "{status}", body = Object), (status = 404, description = "No such task"), (status = 409, description = "The task already finished")))]
pub async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    let task = state
        .scaffolder
        .cancel(&id, &caller.principal.reference.to_string())
        .await?;
    record(
        &state,
        &caller,
        Action::ScaffolderTaskCancel,
        format!("task:{id}"),
        json!({}),
    )
    .await;
    Ok(axum::Json(json!({"status": task.status})))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DryRun {
    /// The template entity, inline; or give `templateRef`.
    template: Option<Value>,
    /// A catalog template to dry-run with the files of its own location.
    template_ref: Option<String>,
    #[serde(default = "empty_object")]
    values: Value,
    #[serde(default)]
    secrets: BTreeMap<String, String>,
    /// The template's files: `[{path, base64Content}]`.
    #[serde(default)]
    directory_contents: Vec<DirectoryEntry>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DirectoryEntry {
    path: String,
    base64_content: String,
    /// The file's executable bit.
    #[serde(default)]
    executable: bool,
}

/// Runs a template given inline with no side effects.
#[utoipa::path(post, path = "/api/scaffolder/v2/dry-run", tag = "scaffolder", request_body = DryRun,
    responses((status = 200, description = "{log, directoryContents, output, error?}", body = Object), (status = 400, description = "Bad template, values or files")))]
pub async fn dry_run(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<DryRun>,
) -> Result<axum::Json<Value>, ApiError> {
    let mut files = Vec::with_capacity(body.directory_contents.len());
    for entry in body.directory_contents {
        let content = base64::engine::general_purpose::STANDARD
            .decode(entry.base64_content.as_bytes())
            .map_err(|error| {
                ApiError::input(format!(
                    "directoryContents `{}`: base64Content is not base64: {error}",
                    entry.path
                ))
            })?;
        files.push(DryRunFile {
            path: entry.path,
            executable: entry.executable,
            content,
        });
    }
    let (template, use_catalog_location) = match (body.template, body.template_ref) {
        (Some(template), None) => (template, false),
        (None, Some(reference)) => (readable_template(&state, &caller, &reference).await?, true),
        _ => {
            return Err(ApiError::input(
                "give either `template` (an inline template entity) or `templateRef` (a template in the catalog)",
            ));
        }
    };
    let result = state
        .scaffolder
        .dry_run(DryRunRequest {
            template,
            use_catalog_location,
            values: body.values,
            secrets: body.secrets,
            files,
            created_by: caller.principal.reference.to_string(),
        })
        .await?;
    let log: Vec<Value> = result
        .log
        .iter()
        .map(|event| {
            let mut body = json!({"message": event.message});
            if let Some(step) = &event.step_id {
                body["stepId"] = json!(step);
            }
            if let Some(status) = event.status {
                body["status"] = json!(status.as_str());
            }
            json!({"body": body})
        })
        .collect();
    let files: Vec<Value> = result
        .files
        .iter()
        .map(|file| {
            json!({
                "path": file.path,
                "executable": file.executable,
                "base64Content": base64::engine::general_purpose::STANDARD.encode(&file.content),
            })
        })
        .collect();
    let mut answer = json!({"log": log, "directoryContents": files, "output": result.output});
    if let Some(error) = result.error {
        answer["error"] = json!({"name": "TaskFailed", "message": error});
    }
    Ok(axum::Json(answer))
}
