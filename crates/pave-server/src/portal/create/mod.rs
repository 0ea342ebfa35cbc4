//! The portal's Create section: the template gallery, a wizard built from a
//! template's parameter pages, a review page, and a live page per task.
//!
//! It runs templates with the same engine ([`pave_scaffold::tasks::Scaffolder`])
//! and the same authorization as `/api/scaffolder/v2`: a template is listed
//! when the viewer may `catalog.entity.read` it and runnable when they may
//! `scaffolder.template.run` it (decided on the Template entity); a task is
//! shown when they may `scaffolder.task.read` it and cancelled when they may
//! `scaffolder.task.cancel` it (decided on the task: its creator and its
//! template). Every form carries the session's CSRF token.
//!
//! `wizard.rs` is the pure form model; `flow.rs` the wizard's pages,
//! `gallery.rs` the gallery, `task.rs` the task pages and their event
//! stream, `drafts.rs` where typed secrets wait between pages.

mod drafts;
mod flow;
mod gallery;
mod task;
pub(crate) mod wizard;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use pave_access::{Action, NewEvent, Outcome, ResourceRef};
use pave_scaffold::tasks::{ScaffolderError, TaskRecord};
use serde_json::Value;

use super::PageError;
use super::session::Viewer;
use crate::state::AppState;

/// The Create section's routes.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/create", get(gallery::page))
        .route(
            "/create/templates/{namespace}/{name}",
            get(flow::start).post(flow::submit),
        )
        .route("/create/tasks", get(task::list))
        .route("/create/tasks/{id}", get(task::page))
        .route("/create/tasks/{id}/events", get(task::events))
        .route("/create/tasks/{id}/cancel", post(task::cancel))
}

impl From<ScaffolderError> for PageError {
    fn from(error: ScaffolderError) -> PageError {
        match error {
            ScaffolderError::NotFound(message) => PageError::not_found(message),
            ScaffolderError::Input { message, .. } => PageError::bad_request(message),
            ScaffolderError::Conflict(message) => PageError {
                status: StatusCode::CONFLICT,
                title: "That cannot change any more",
                message,
            },
            ScaffolderError::Store(error) => PageError::from(error),
            ScaffolderError::Io(message) => PageError::internal(&message),
        }
    }
}

fn forbidden(message: impl Into<String>) -> PageError {
    PageError {
        status: StatusCode::FORBIDDEN,
        title: "Not allowed",
        message: message.into(),
    }
}

/// The pairs of a submitted form.
fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

fn form_field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// Refuses a form without the session's CSRF token.
fn check_csrf(form: &[(String, String)], viewer: &Viewer) -> Result<(), PageError> {
    if form_field(form, "csrf") == Some(viewer.csrf.as_str()) {
        Ok(())
    } else {
        Err(PageError::bad_request(
            "The form expired or came from another site. Reload the page and try again.",
        ))
    }
}

/// Writes an audit event for something done through the portal.
async fn audit(
    state: &AppState,
    viewer: &Viewer,
    action: Action,
    resource: String,
    outcome: Outcome,
    detail: Value,
) {
    let event = NewEvent {
        principal: viewer.principal.reference.to_string(),
        action: action.name().into(),
        resource,
        outcome,
        request_id: Some(viewer.request_id.clone()),
        detail,
    };
    if let Err(error) = state.access.record(event).await {
        tracing::error!(%error, "cannot write an audit event");
    }
}

/// Whether the viewer may do `action` on a task, decided on its creator
/// and template as the API decides it.
fn may_task(state: &AppState, viewer: &Viewer, action: Action, task: &TaskRecord) -> bool {
    let resource = ResourceRef::Task {
        id: task.id.clone(),
        created_by: task.created_by.clone(),
        template: task.template_ref.clone(),
    };
    state
        .access
        .decide(&viewer.principal, action, &resource)
        .allowed
}

/// A stored time (`2025-01-31T12:34:56.123456Z`) as people read it.
fn display_time(text: &str) -> String {
    match (text.get(..10), text.get(11..16)) {
        (Some(date), Some(time)) if text.as_bytes().get(10) == Some(&b'T') => {
            format!("{date} {time} UTC")
        }
        _ => text.to_string(),
    }
}

/// The status names tasks and steps show, as CSS classes too.
fn status_class(status: &str) -> &'static str {
    match status {
        "open" => "open",
        "processing" => "processing",
        "completed" => "completed",
        "failed" => "failed",
        "cancelled" => "cancelled",
        "skipped" => "skipped",
        _ => "waiting",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_minutes_in_utc() {
        assert_eq!(
            display_time("2025-01-31T12:34:56.123456Z"),
            "2025-01-31 12:34 UTC"
        );
        assert_eq!(display_time("yesterday"), "yesterday");
        assert_eq!(status_class("completed"), "completed");
        assert_eq!(status_class("<script>"), "waiting");
    }
}
