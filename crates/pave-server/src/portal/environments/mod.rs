//! The portal's environments and deployments: the environments page (each
//! environment's type, status, expiry, URLs and what runs there, and a form
//! to make one), an environment's page (details, deployments, previews based
//! on it, Delete), and on each component's page its deployments per
//! environment with Deploy, Roll back and Promote.
//!
//! It drives the same engine ([`pave_deploy::Deployer`]) under the same
//! policies as `/api/v1/environments` and `/api/v1/deployments`:
//!
//! - reading environments is `environment.read`, reading deployments (and
//!   their logs) `deployment.read`, both on the platform;
//! - making an environment is `environment.create` and deleting one
//!   `environment.delete`, decided on the environment (its name and type);
//! - deploying, rolling back and promoting are `deployment.create`, decided
//!   on the component's catalog entity with the target environment (name and
//!   type) in the context ([`EntityAccess::may_deploy`]).
//!
//! A button is shown only when its action would be allowed, and every form's
//! handler decides again (a refusal is a 403 page and an audit event). Every
//! form carries the session's CSRF token. A deployment's runtime instance
//! (`resolved.instance`, which holds unmasked variables) is never shown; its
//! masked variables (`resolved.variables`) are.
//!
//! `pages.rs` holds the environment pages, `component.rs` the component
//! section and its forms.

mod component;
mod pages;

use std::collections::HashMap;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use pave_access::{Action, NewEvent, Outcome, ResourceRef};
use pave_catalog_model::parse_ref;
use pave_deploy::{DeployError, Deployment, DeploymentStatus};
use serde_json::Value;

use super::PageError;
use super::session::Viewer;
use super::views::entity_href;
use crate::entity_access::EntityAccess;
use crate::state::AppState;

pub(super) use component::{DeploymentsSection, Flash, section};

/// The section's routes.
pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/environments", get(pages::list).post(pages::create))
        .route("/environments/{name}", get(pages::detail))
        .route("/environments/{name}/delete", post(pages::delete))
        .route(
            "/catalog/{kind}/{namespace}/{name}/deploy",
            post(component::deploy),
        )
        .route(
            "/catalog/{kind}/{namespace}/{name}/rollback",
            post(component::rollback),
        )
        .route(
            "/catalog/{kind}/{namespace}/{name}/promote",
            post(component::promote),
        )
}

impl From<DeployError> for PageError {
    fn from(error: DeployError) -> PageError {
        match error {
            DeployError::Input(message) => PageError::bad_request(message),
            DeployError::NotFound(message) => PageError::not_found(message),
            DeployError::Conflict(message) => PageError {
                status: StatusCode::CONFLICT,
                title: "That cannot be done now",
                message,
            },
            DeployError::Store(error) => PageError::from(error),
            other => PageError::internal(&other),
        }
    }
}

impl From<pave_deploy::EnvironmentError> for PageError {
    fn from(error: pave_deploy::EnvironmentError) -> PageError {
        PageError::from(DeployError::from(error))
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

/// A form field's value ("" when absent).
fn form_field<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter()
        .find(|(key, _)| key == name)
        .map_or("", |(_, value)| value.as_str())
}

/// Refuses a form without the session's CSRF token.
fn check_csrf(form: &[(String, String)], viewer: &Viewer) -> Result<(), PageError> {
    if form_field(form, "csrf") == viewer.csrf {
        Ok(())
    } else {
        Err(PageError::bad_request(
            "The form expired or came from another site. Reload the page and try again.",
        ))
    }
}

/// Writes an audit event for something done (or refused) through the portal.
async fn audit(
    state: &AppState,
    viewer: &Viewer,
    action: Action,
    resource: String,
    outcome: Outcome,
    mut detail: Value,
) {
    if let Some(object) = detail.as_object_mut() {
        object.insert("via".into(), Value::String("portal".into()));
    }
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

/// Whether the viewer may do a platform-level action (reading environments
/// or deployments), as the API's gate decides it.
fn may_platform(state: &AppState, viewer: &Viewer, action: Action) -> bool {
    state
        .access
        .decide(&viewer.principal, action, &ResourceRef::Platform)
        .allowed
}

/// Whether the viewer may do `action` on an environment of that name and type.
fn may_environment(
    state: &AppState,
    viewer: &Viewer,
    action: Action,
    name: &str,
    environment_type: &str,
) -> bool {
    let resource = ResourceRef::Environment {
        name: name.to_string(),
        environment_type: environment_type.to_string(),
    };
    state
        .access
        .decide(&viewer.principal, action, &resource)
        .allowed
}

/// A time, as people read it: relative (`in 2 days`, `5 minutes ago`), the
/// exact time (for a `title`) and the stored text (for `datetime`).
pub struct When {
    pub relative: String,
    pub exact: String,
    pub iso: String,
}

impl When {
    pub fn of(stored: &str) -> When {
        let relative = match pave_store::parse_time(stored) {
            Ok(time) => {
                let seconds = time.as_second() - jiff::Timestamp::now().as_second();
                relative(seconds)
            }
            Err(_) => stored.to_string(),
        };
        When {
            relative,
            exact: display_time(stored),
            iso: stored.to_string(),
        }
    }
}

/// `seconds` from now (negative: in the past) as words.
fn relative(seconds: i64) -> String {
    let amount = seconds.unsigned_abs();
    if amount < 45 {
        return "just now".into();
    }
    let (count, unit) = match amount {
        0..90 => (1, "minute"),
        90..2_700 => (amount.div_ceil(60).min(44), "minute"),
        2_700..5_400 => (1, "hour"),
        5_400..129_600 => ((amount + 1_800) / 3_600, "hour"),
        129_600..3_888_000 => ((amount + 43_200) / 86_400, "day"),
        _ => ((amount + 1_296_000) / 2_592_000, "month"),
    };
    let words = format!("{count} {unit}{}", if count == 1 { "" } else { "s" });
    if seconds > 0 {
        format!("in {words}")
    } else {
        format!("{words} ago")
    }
}

/// A stored time (`2025-01-31T12:34:56.123456Z`) as people read it.
fn display_time(text: &str) -> String {
    match (text.get(..10), text.get(11..19)) {
        (Some(date), Some(time)) if text.as_bytes().get(10) == Some(&b'T') => {
            format!("{date} {time} UTC")
        }
        _ => text.to_string(),
    }
}

/// A deployment status as a CSS class.
fn status_class(status: DeploymentStatus) -> &'static str {
    match status {
        DeploymentStatus::Pending => "pending",
        DeploymentStatus::Progressing => "progressing",
        DeploymentStatus::Healthy => "healthy",
        DeploymentStatus::Degraded => "degraded",
        DeploymentStatus::Failed => "failed",
    }
}

/// A commit as shown: its first 12 digits.
fn short(commit: &str) -> String {
    commit.get(..12).unwrap_or(commit).to_string()
}

/// The URLs an active deployment answers at now: the router's routes for
/// its workload in its environment. The recorded `resolved.urls` carry the
/// router's port at the time of the deploy, which a restart on another port
/// (`PAVE_ROUTER_LISTEN=127.0.0.1:0`) makes stale; they are the fallback.
fn live_urls(state: &AppState, deployment: &Deployment) -> Vec<String> {
    let workload = deployment
        .workload
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let urls = state.environment_urls(&deployment.environment, Some(workload));
    if urls.is_empty() {
        return deployment_urls(deployment);
    }
    urls
}

/// A deployment's URLs as it recorded them (`resolved.urls`).
fn deployment_urls(deployment: &Deployment) -> Vec<String> {
    deployment.resolved["urls"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|url| super::entity::safe_href(url).is_some())
        .map(str::to_string)
        .collect()
}

/// A deployment's masked variables (`resolved.variables`): container →
/// (name, value). Never the runtime instance.
fn deployment_variables(deployment: &Deployment) -> Vec<(String, Vec<(String, String)>)> {
    deployment.resolved["variables"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(container, variables)| {
            let pairs = variables
                .as_object()
                .into_iter()
                .flatten()
                .map(|(name, value)| {
                    let value = value
                        .as_str()
                        .map_or_else(|| value.to_string(), str::to_string);
                    (name.clone(), value)
                })
                .collect();
            (container.clone(), pairs)
        })
        .collect()
}

/// How a component of a deployment is shown: its label and, when the
/// viewer may read it, its page. Components the viewer may not read are
/// left out (`None`), as everywhere in the portal.
struct ComponentLink {
    label: String,
    href: Option<String>,
}

/// The components of `references` as the viewer may see them.
async fn component_links(
    state: &AppState,
    viewer: &Viewer,
    references: &[String],
) -> Result<HashMap<String, ComponentLink>, PageError> {
    let mut unique: Vec<String> = references.to_vec();
    unique.sort();
    unique.dedup();
    let found = state
        .catalog
        .entities_by_refs(&unique, &["kind".into(), "metadata".into(), "spec".into()])
        .await?;
    let access = EntityAccess::new(state, &viewer.principal);
    let mut links = HashMap::new();
    for (reference, entity) in unique.into_iter().zip(found) {
        let parsed = parse_ref(&reference, Some("component"), "default").ok();
        let label = parsed
            .as_ref()
            .map_or_else(|| reference.clone(), |parsed| parsed.name.clone());
        match entity {
            Some(entity) if access.may_read(&entity) => {
                let href =
                    parsed.map(|parsed| entity_href(&parsed.kind, &parsed.namespace, &parsed.name));
                links.insert(reference, ComponentLink { label, href });
            }
            // Hidden from this viewer: left out.
            Some(_) => {}
            // No longer in the catalog: its name, without a link.
            None => {
                links.insert(reference, ComponentLink { label, href: None });
            }
        }
    }
    Ok(links)
}

/// The environment types the form offers, in order. Previews are made for
/// pull requests (webhooks, `pave preview create`, the API), not here.
const FORM_TYPES: &[&str] = &["development", "staging", "production"];

/// The name environment types are decided on before one is named: the
/// policies need a name, and the form's types are offered by type. The
/// real name is decided again when the form is sent.
const PLACEHOLDER_NAME: &str = "new-environment";

/// The types of environment the viewer may create (decided per type on a
/// placeholder name).
fn creatable_types(state: &AppState, viewer: &Viewer) -> Vec<&'static str> {
    FORM_TYPES
        .iter()
        .copied()
        .filter(|environment_type| {
            may_environment(
                state,
                viewer,
                Action::EnvironmentCreate,
                PLACEHOLDER_NAME,
                environment_type,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_relative_and_exact() {
        assert_eq!(relative(10), "just now");
        assert_eq!(relative(-10), "just now");
        assert_eq!(relative(60), "in 1 minute");
        assert_eq!(relative(-300), "5 minutes ago");
        assert_eq!(relative(3_600), "in 1 hour");
        assert_eq!(relative(-7_200), "2 hours ago");
        assert_eq!(relative(2 * 86_400), "in 2 days");
        assert_eq!(relative(3 * 86_400 - 5), "in 3 days");
        assert_eq!(relative(-40 * 86_400), "40 days ago");
        assert_eq!(relative(-60 * 86_400), "2 months ago");
        assert_eq!(
            display_time("2025-01-31T12:34:56.123456Z"),
            "2025-01-31 12:34:56 UTC"
        );
        assert_eq!(display_time("soon"), "soon");
        let when = When::of("not a time");
        assert_eq!(when.relative, "not a time");
    }

    #[test]
    fn variables_are_the_masked_ones_and_urls_only_web_ones() {
        let deployment = Deployment {
            id: "d".into(),
            component: "component:default/orders".into(),
            environment: "dev".into(),
            revision: "main".into(),
            commit: "0123456789abcdef".into(),
            workload: Value::Null,
            resolved: serde_json::json!({
                "urls": ["http://orders--dev.localhost:7080", "javascript:alert(1)"],
                "variables": {"main": {"API_TOKEN": "********", "VERSION": "v1"}},
                "instance": {"processes": [{"env": {"API_TOKEN": "s3cret"}}]}
            }),
            status: DeploymentStatus::Healthy,
            message: String::new(),
            active: true,
            kind: "deploy".into(),
            based_on: None,
            created_by: "user:default/admin".into(),
            created_at: "2025-01-31T12:34:56.000000Z".into(),
            updated_at: "2025-01-31T12:34:56.000000Z".into(),
        };
        assert_eq!(
            deployment_urls(&deployment),
            vec!["http://orders--dev.localhost:7080".to_string()]
        );
        let variables = deployment_variables(&deployment);
        assert_eq!(variables[0].0, "main");
        assert_eq!(
            variables[0].1,
            vec![
                ("API_TOKEN".to_string(), "********".to_string()),
                ("VERSION".to_string(), "v1".to_string())
            ]
        );
        assert_eq!(short(&deployment.commit), "0123456789ab");
        assert_eq!(status_class(DeploymentStatus::Failed), "failed");
    }
}
