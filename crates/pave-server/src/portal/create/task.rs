//! A task's page (its steps, their logs, the error or the output), the
//! list of tasks, the task's events as server-sent events for the page's
//! script, and Cancel.
//!
//! A task the viewer may not `scaffolder.task.read` answers 404 exactly as
//! a missing one does.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use pave_access::{Action, Outcome, ResourceRef};
use pave_catalog_model::parse_ref;
use pave_scaffold::tasks::{EventType, Scaffolder, TaskEvent, TaskRecord, TaskStatus};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{audit, check_csrf, display_time, forbidden, form_pairs, may_task, status_class};
use crate::portal::entity::safe_href;
use crate::portal::session::Viewer;
use crate::portal::views::{Chrome, entity_href};
use crate::portal::{PageError, render};
use crate::state::AppState;

/// The most events a task page reads.
const MAX_EVENTS: usize = 10_000;
/// The most tasks the list shows.
const LIST_SIZE: usize = 50;
/// Tasks of others read to find those the viewer may see.
const LIST_SCAN: i64 = 500;

/// One step of a task, with its log.
pub struct StepView {
    pub id: String,
    pub name: String,
    pub action: String,
    /// waiting, processing, completed, failed, skipped or cancelled.
    pub status: &'static str,
    pub lines: Vec<String>,
}

/// An output link: a link when its target is safe, else text.
pub struct OutputLink {
    pub title: String,
    pub href: Option<String>,
    pub text: String,
}

/// An output text block (Markdown, shown as text with its line breaks).
pub struct OutputText {
    pub title: String,
    pub content: String,
}

#[derive(askama::Template)]
#[template(path = "create_task.html")]
pub struct TaskPage {
    pub chrome: Chrome,
    pub id: String,
    pub template_title: String,
    pub template_ref: String,
    pub template_href: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub created_at_iso: String,
    pub status: &'static str,
    pub finished: bool,
    pub steps: Vec<StepView>,
    /// Events of the task as a whole (cancel, restart).
    pub log: Vec<String>,
    pub error: Option<String>,
    pub links: Vec<OutputLink>,
    pub texts: Vec<OutputText>,
    /// Other output keys, as text.
    pub other: Vec<(String, String)>,
    pub can_cancel: bool,
    pub csrf: String,
    /// The last event shown; the live view continues after it.
    pub after: i64,
}

/// One task in the list.
pub struct TaskRow {
    pub href: String,
    pub id: String,
    pub template: String,
    pub status: &'static str,
    pub created_by: String,
    pub created_at: String,
    pub created_at_iso: String,
}

#[derive(askama::Template)]
#[template(path = "create_tasks.html")]
pub struct TaskList {
    pub chrome: Chrome,
    pub tasks: Vec<TaskRow>,
    pub mine_only: bool,
}

/// A task the viewer may read (404 otherwise, as for a missing one).
async fn readable(state: &AppState, viewer: &Viewer, id: &str) -> Result<TaskRecord, PageError> {
    let missing = || PageError::not_found(format!("There is no task {id} you may see."));
    let task = match state.scaffolder.task(id).await {
        Ok(task) => task,
        Err(pave_scaffold::tasks::ScaffolderError::NotFound(_)) => return Err(missing()),
        Err(error) => return Err(error.into()),
    };
    if may_task(state, viewer, Action::ScaffolderTaskRead, &task) {
        Ok(task)
    } else {
        Err(missing())
    }
}

/// Every event of a task so far (at most [`MAX_EVENTS`]).
async fn all_events(scaffolder: &Scaffolder, id: &str) -> Result<Vec<TaskEvent>, PageError> {
    let mut events: Vec<TaskEvent> = Vec::new();
    loop {
        let after = events.last().map(|event| event.id);
        let (more, _) = scaffolder.next_events(id, after, Duration::ZERO).await?;
        if more.is_empty() || events.len() >= MAX_EVENTS {
            return Ok(events);
        }
        events.extend(more);
    }
}

fn text(value: &Value, pointer: &str) -> String {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// The template's title as the task recorded it, else its reference.
fn template_title(task: &TaskRecord) -> String {
    let title = text(&task.spec, "/templateInfo/entity/metadata/title");
    if !title.is_empty() {
        return title;
    }
    let name = text(&task.spec, "/templateInfo/entity/metadata/name");
    if name.is_empty() {
        task.template_ref.clone()
    } else {
        name
    }
}

/// The portal page of an entity reference, when it reads as one.
fn ref_href(reference: &str) -> Option<String> {
    let parsed = parse_ref(reference, None, "default").ok()?;
    Some(entity_href(&parsed.kind, &parsed.namespace, &parsed.name))
}

/// The task's steps from its spec, with the statuses and log lines of
/// `events`; events that belong to no step go to the task's own log.
fn steps_and_log(task: &TaskRecord, events: &[TaskEvent]) -> (Vec<StepView>, Vec<String>) {
    let mut steps: Vec<StepView> = task
        .spec
        .get("steps")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(index, step)| {
            let id = step
                .get("id")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| format!("steps[{index}]"));
            let action = text(step, "/action");
            let name = step
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| id.clone());
            StepView {
                id,
                name,
                action,
                status: "waiting",
                lines: Vec::new(),
            }
        })
        .collect();
    let mut log = Vec::new();
    for event in events {
        let message = text(&event.body, "/message");
        if event.event_type == EventType::Completion {
            continue;
        }
        let step_id = text(&event.body, "/stepId");
        match steps
            .iter_mut()
            .find(|step| !step_id.is_empty() && step.id == step_id)
        {
            Some(step) => {
                if let Some(status) = event.body.get("status").and_then(Value::as_str) {
                    step.status = status_class(status);
                }
                if !message.is_empty() {
                    step.lines.push(message);
                }
            }
            None if !message.is_empty() => log.push(message),
            None => {}
        }
    }
    (steps, log)
}

/// The error a failed task ended with.
fn error_of(task: &TaskRecord, events: &[TaskEvent]) -> Option<String> {
    if task.status != TaskStatus::Failed {
        return None;
    }
    events
        .iter()
        .rev()
        .find(|event| event.event_type == EventType::Completion)
        .map(|event| text(&event.body, "/error/message"))
        .filter(|message| !message.is_empty())
        .or_else(|| Some("The task failed; the step logs above say where.".into()))
}

/// A completed task's output: links (safe targets only), texts, the rest.
fn output_of(output: Option<&Value>) -> (Vec<OutputLink>, Vec<OutputText>, Vec<(String, String)>) {
    let Some(Value::Object(output)) = output else {
        return (Vec::new(), Vec::new(), Vec::new());
    };
    let links = output
        .get("links")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|link| {
            let url = text(link, "/url");
            let entity_ref = text(link, "/entityRef");
            let (href, target) = if !entity_ref.is_empty() {
                (ref_href(&entity_ref), entity_ref)
            } else {
                (safe_href(&url), url)
            };
            let title = match text(link, "/title") {
                title if title.is_empty() => target.clone(),
                title => title,
            };
            OutputLink {
                title,
                href,
                text: target,
            }
        })
        .collect();
    let texts = output
        .get("text")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|block| OutputText {
            title: text(block, "/title"),
            content: match block.get("content") {
                Some(Value::String(content)) => content.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            },
        })
        .collect();
    let other = output
        .iter()
        .filter(|(key, _)| *key != "links" && *key != "text")
        .map(|(key, value)| {
            let shown = match value {
                Value::String(text) => text.clone(),
                other => serde_json::to_string_pretty(other).unwrap_or_default(),
            };
            (key.clone(), shown)
        })
        .collect();
    (links, texts, other)
}

/// A task's page.
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let task = readable(&state, &viewer, &id).await?;
    let events = all_events(&state.scaffolder, &id).await?;
    // Events written since the task was read may say it finished.
    let task = if !task.status.is_finished()
        && events
            .iter()
            .any(|event| event.event_type == EventType::Completion)
    {
        state.scaffolder.task(&id).await?
    } else {
        task
    };
    let (steps, log) = steps_and_log(&task, &events);
    let (links, texts, other) = output_of(task.output.as_ref());
    let finished = task.status.is_finished();
    let template_title = template_title(&task);
    let page = TaskPage {
        chrome: Chrome::for_viewer(&format!("Task · {template_title}"), &viewer, "create"),
        template_href: ref_href(&task.template_ref),
        template_ref: task.template_ref.clone(),
        template_title,
        created_by: task.created_by.clone(),
        created_at: display_time(&task.created_at),
        created_at_iso: task.created_at.clone(),
        status: status_class(task.status.as_str()),
        finished,
        error: error_of(&task, &events),
        steps,
        log,
        links,
        texts,
        other,
        can_cancel: !finished && may_task(&state, &viewer, Action::ScaffolderTaskCancel, &task),
        csrf: viewer.csrf.clone(),
        after: events.last().map_or(0, |event| event.id),
        id: task.id,
    };
    render(&page)
}

#[derive(Deserialize)]
pub struct ListQuery {
    mine: Option<String>,
}

/// The tasks the viewer may read, newest first.
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let mine_only = query
        .ok()
        .and_then(|Query(query)| query.mine)
        .is_some_and(|mine| !mine.is_empty() && mine != "0");
    // Listing tasks is reading the platform, as the API's gate decides it.
    let listing = state.access.decide(
        &viewer.principal,
        Action::ScaffolderTaskList,
        &ResourceRef::Platform,
    );
    if !listing.allowed {
        return Err(forbidden(format!(
            "{} may not list tasks.",
            viewer.principal.reference
        )));
    }
    let me = viewer.principal.reference.to_string();
    let (mut tasks, _) = state
        .scaffolder
        .tasks(Some(&me), LIST_SIZE as i64, 0)
        .await?;
    if !mine_only {
        let (others, _) = state.scaffolder.tasks(None, LIST_SCAN, 0).await?;
        tasks.extend(others);
    }
    tasks.retain(|task| may_task(&state, &viewer, Action::ScaffolderTaskRead, task));
    tasks.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
    tasks.dedup_by(|a, b| a.id == b.id);
    tasks.truncate(LIST_SIZE);
    let rows = tasks
        .iter()
        .map(|task| TaskRow {
            href: format!("/create/tasks/{}", task.id),
            id: task.id.clone(),
            template: template_title(task),
            status: status_class(task.status.as_str()),
            created_by: task.created_by.clone(),
            created_at: display_time(&task.created_at),
            created_at_iso: task.created_at.clone(),
        })
        .collect();
    render(&TaskList {
        chrome: Chrome::for_viewer("Tasks", &viewer, "create"),
        tasks: rows,
        mine_only,
    })
}

#[derive(Deserialize)]
pub struct After {
    after: Option<i64>,
}

/// The task's events after `after` (or `Last-Event-ID`) as server-sent
/// events, then new ones as they happen, ending with completion; 204 when
/// the task has finished and nothing is left to send.
pub async fn events(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Result<Query<After>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let task = readable(&state, &viewer, &id).await?;
    let last_event_id = headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<i64>().ok());
    let after = last_event_id.or(query.ok().and_then(|Query(query)| query.after));
    let (first, finished) = state
        .scaffolder
        .next_events(&id, after, Duration::ZERO)
        .await?;
    if first.is_empty() && (finished || task.status.is_finished()) {
        // EventSource does not reconnect after a 204.
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let stream = crate::task_events::follow(state.scaffolder.clone(), id, after, first, finished);
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}

/// Cancels a task that has not finished, then shows it again.
pub async fn cancel(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = form_pairs(&body);
    check_csrf(&form, &viewer)?;
    let task = readable(&state, &viewer, &id).await?;
    if !may_task(&state, &viewer, Action::ScaffolderTaskCancel, &task) {
        audit(
            &state,
            &viewer,
            Action::ScaffolderTaskCancel,
            format!("task:{id}"),
            Outcome::Denied,
            json!({"via": "portal"}),
        )
        .await;
        return Err(forbidden(format!(
            "{} may not cancel task {id}.",
            viewer.principal.reference
        )));
    }
    match state
        .scaffolder
        .cancel(&id, &viewer.principal.reference.to_string())
        .await
    {
        Ok(_) => {
            audit(
                &state,
                &viewer,
                Action::ScaffolderTaskCancel,
                format!("task:{id}"),
                Outcome::Success,
                json!({"via": "portal"}),
            )
            .await;
        }
        // It finished meanwhile: its page says how.
        Err(pave_scaffold::tasks::ScaffolderError::Conflict(_)) => {}
        Err(error) => return Err(error.into()),
    }
    let mut response = Redirect::to(&format!("/create/tasks/{id}")).into_response();
    *response.status_mut() = StatusCode::SEE_OTHER;
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(status: TaskStatus, output: Option<Value>) -> TaskRecord {
        TaskRecord {
            id: "t-1".into(),
            template_ref: "template:default/python-service".into(),
            spec: json!({
                "templateInfo": {"entity": {"metadata": {"name": "python-service", "title": "Python service"}}},
                "steps": [
                    {"id": "fetch", "name": "Fetch the skeleton", "action": "fetch:template"},
                    {"id": "publish", "action": "publish:git"},
                    {"action": "catalog:register"}
                ]
            }),
            status,
            created_by: "user:default/alice".into(),
            created_at: "2025-01-31T12:34:56.000000Z".into(),
            updated_at: "2025-01-31T12:34:56.000000Z".into(),
            output,
        }
    }

    fn event(id: i64, event_type: EventType, body: Value) -> TaskEvent {
        TaskEvent {
            id,
            task_id: "t-1".into(),
            event_type,
            body,
            created_at: String::new(),
        }
    }

    #[test]
    fn events_become_step_statuses_and_logs() {
        let task = task(TaskStatus::Failed, None);
        let events = vec![
            event(
                1,
                EventType::Log,
                json!({"stepId": "fetch", "status": "processing", "message": "Beginning step Fetch"}),
            ),
            event(
                2,
                EventType::Log,
                json!({"stepId": "fetch", "message": "Fetching ./skeleton"}),
            ),
            event(
                3,
                EventType::Log,
                json!({"stepId": "fetch", "status": "completed", "message": "Finished step Fetch"}),
            ),
            event(
                4,
                EventType::Log,
                json!({"stepId": "publish", "status": "failed", "message": "no <b>"}),
            ),
            event(
                5,
                EventType::Cancelled,
                json!({"message": "Cancelled by someone"}),
            ),
            event(
                6,
                EventType::Completion,
                json!({"status": "failed", "error": {"message": "step `publish` failed"}}),
            ),
        ];
        let (steps, log) = steps_and_log(&task, &events);
        assert_eq!(steps.len(), 3);
        assert_eq!(
            (
                steps[0].id.as_str(),
                steps[0].name.as_str(),
                steps[0].status
            ),
            ("fetch", "Fetch the skeleton", "completed")
        );
        assert_eq!(steps[0].lines.len(), 3);
        assert_eq!(
            (steps[1].name.as_str(), steps[1].status),
            ("publish", "failed")
        );
        assert_eq!(
            (steps[2].id.as_str(), steps[2].status),
            ("steps[2]", "waiting")
        );
        assert_eq!(log, vec!["Cancelled by someone".to_string()]);
        assert_eq!(
            error_of(&task, &events).as_deref(),
            Some("step `publish` failed")
        );
        assert_eq!(template_title(&task), "Python service");
    }

    #[test]
    fn outputs_link_only_to_safe_targets_and_entities() {
        let (links, texts, other) = output_of(Some(&json!({
            "links": [
                {"title": "Repository", "url": "file:///var/pave/repositories/team-a/orders.git"},
                {"title": "Docs", "url": "https://docs.example/orders"},
                {"title": "Bad", "url": "javascript:alert(1)"},
                {"title": "Open in catalog", "entityRef": "component:default/orders"},
                {"url": "/catalog"}
            ],
            "text": [{"title": "Next steps", "content": "**orders** is ready\n<script>"}],
            "remoteUrl": "file:///x"
        })));
        assert_eq!(links[0].href, None);
        assert_eq!(
            links[0].text,
            "file:///var/pave/repositories/team-a/orders.git"
        );
        assert_eq!(
            links[1].href.as_deref(),
            Some("https://docs.example/orders")
        );
        assert_eq!(links[2].href, None);
        assert_eq!(
            links[3].href.as_deref(),
            Some("/catalog/component/default/orders")
        );
        assert_eq!(links[4].title, "/catalog");
        assert_eq!(texts[0].content, "**orders** is ready\n<script>");
        assert_eq!(
            other,
            vec![("remoteUrl".to_string(), "file:///x".to_string())]
        );
        assert!(output_of(None).0.is_empty());
    }

    #[test]
    fn the_task_page_escapes_what_templates_output() {
        let task = task(TaskStatus::Completed, None);
        let (steps, log) = steps_and_log(&task, &[]);
        let page = TaskPage {
            chrome: Chrome::anonymous("Task"),
            id: "t-1".into(),
            template_title: "Python service".into(),
            template_ref: task.template_ref.clone(),
            template_href: ref_href(&task.template_ref),
            created_by: task.created_by.clone(),
            created_at: display_time(&task.created_at),
            created_at_iso: task.created_at.clone(),
            status: "completed",
            finished: true,
            steps,
            log,
            error: None,
            links: vec![OutputLink {
                title: "<i>x</i>".into(),
                href: None,
                text: "file:///x".into(),
            }],
            texts: vec![OutputText {
                title: "Next".into(),
                content: "a\n<script>alert(1)</script>".into(),
            }],
            other: Vec::new(),
            can_cancel: false,
            csrf: "c".into(),
            after: 0,
        };
        let html = askama::Template::render(&page).unwrap();
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(html.contains("&#60;i&#62;x&#60;/i&#62;"), "{html}");
        assert!(html.contains("/catalog/template/default/python-service"));
        assert!(
            !html.contains("http-equiv=\"refresh\""),
            "a finished task is not reloaded"
        );
        assert!(!html.contains("data-task-events"), "nor followed");
    }
}
