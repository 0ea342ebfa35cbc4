//! A component page's Deployments section, and its forms: Deploy, Roll back
//! and Promote.
//!
//! Each form runs the engine and waits for the outcome (the engine answers
//! once the new version is `Healthy` or `Failed`), then answers 303 to the
//! component's page with `?deployment=<id>`, which shows the outcome at the
//! top of the section. What the engine refuses before recording anything
//! (no such revision, an invalid `score.yaml`, nothing to roll back to) is
//! shown on the component's page, sent back with the error's status.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use pave_access::{Action, DeploymentTarget, Outcome};
use pave_catalog_model::EntityRef;
use pave_deploy::{
    DeployError, DeployRequest, Deployment, DeploymentFilter, DeploymentStatus, Environment,
};
use serde_json::{Value, json};

use super::{
    When, audit, check_csrf, deployment_urls, deployment_variables, forbidden, form_field,
    form_pairs, live_urls, may_platform, short, status_class,
};
use crate::entity_access::EntityAccess;
use crate::portal::PageError;
use crate::portal::session::Viewer;
use crate::portal::views::entity_href;
use crate::state::AppState;

/// Log lines shown of the active deployment's first process.
const LOG_LINES: usize = 50;
/// History rows shown per environment.
const HISTORY_ROWS: usize = 5;
/// The most deployments of a component read for its page.
const HISTORY_SCAN: i64 = 1000;

/// What the page says at the top of the section: the outcome of the
/// deployment a form just ran, or why the engine refused it.
pub enum Flash {
    None,
    /// `?deployment=<id>` after a form ran one.
    Deployment(String),
    /// A refusal, shown on the page the form came from.
    Error(String),
}

impl Flash {
    /// The flash a component page's URL asks for.
    pub fn from_query(raw: &Option<String>) -> Flash {
        crate::routes::catalog::pairs(raw)
            .into_iter()
            .find(|(key, _)| key == "deployment")
            .map(|(_, id)| id.trim().to_string())
            .filter(|id| !id.is_empty() && id.len() <= 64)
            .map_or(Flash::None, Flash::Deployment)
    }
}

/// One deployment as a row.
pub struct DeploymentView {
    pub id: String,
    /// `Healthy`, `Failed`…
    pub status: &'static str,
    /// The status as a CSS class.
    pub class: &'static str,
    pub kind: String,
    /// What was asked for (a branch or tag), when it is not the commit.
    pub revision: Option<String>,
    pub commit: String,
    pub commit_short: String,
    pub when: When,
    pub by: String,
    pub message: String,
    pub urls: Vec<String>,
    pub active: bool,
    pub failed: bool,
}

impl DeploymentView {
    pub fn of(deployment: &Deployment) -> DeploymentView {
        DeploymentView {
            id: deployment.id.clone(),
            status: deployment.status.as_str(),
            class: status_class(deployment.status),
            kind: deployment.kind.clone(),
            revision: Some(deployment.revision.clone()).filter(|revision| {
                !revision.is_empty()
                    && !deployment.commit.starts_with(revision.as_str())
                    && !revision.starts_with(deployment.commit.as_str())
            }),
            commit: deployment.commit.clone(),
            commit_short: short(&deployment.commit),
            when: When::of(&deployment.created_at),
            by: deployment.created_by.clone(),
            message: deployment.message.clone(),
            urls: deployment_urls(deployment),
            active: deployment.active,
            failed: matches!(
                deployment.status,
                DeploymentStatus::Failed | DeploymentStatus::Degraded
            ),
        }
    }
}

/// An environment a form may target.
pub struct Target {
    pub name: String,
    pub environment_type: String,
}

/// The last lines one stream of a process wrote.
pub struct LogStreamView {
    /// `stdout` or `stderr`.
    pub stream: String,
    pub lines: Vec<String>,
}

/// The last lines of the active deployment's first process, per stream: the
/// runtime keeps stdout and stderr apart and without times, so they cannot
/// be interleaved.
pub struct LogTail {
    pub process: String,
    /// The streams that have lines, stdout first.
    pub streams: Vec<LogStreamView>,
    /// Why there are none to show.
    pub problem: Option<String>,
}

impl LogTail {
    fn of(process: String, lines: Vec<(String, String)>) -> LogTail {
        let mut streams: Vec<LogStreamView> = Vec::new();
        for (stream, text) in lines {
            match streams.iter_mut().find(|shown| shown.stream == stream) {
                Some(shown) => shown.lines.push(text),
                None => streams.push(LogStreamView {
                    stream,
                    lines: vec![text],
                }),
            }
        }
        for shown in &mut streams {
            let skip = shown.lines.len().saturating_sub(LOG_LINES);
            shown.lines.drain(..skip);
        }
        LogTail {
            process,
            streams,
            problem: None,
        }
    }
}

/// The component in one environment.
pub struct EnvironmentDeployments {
    pub name: String,
    pub href: String,
    pub environment_type: String,
    pub active: Option<DeploymentView>,
    /// The newest few, the active one included.
    pub history: Vec<DeploymentView>,
    pub more: usize,
    /// Masked variables of the active deployment: container → pairs.
    pub variables: Vec<(String, Vec<(String, String)>)>,
    pub logs: Option<LogTail>,
    /// Shown when the viewer may deploy here and there is an earlier
    /// healthy deployment to go back to.
    pub can_rollback: bool,
    /// Environments the active version may be promoted to.
    pub promote_targets: Vec<Target>,
}

/// The outcome of a form, at the top of the section.
pub struct Notice {
    pub heading: String,
    pub deployment: DeploymentView,
    pub environment: String,
}

/// A component page's Deployments section.
pub struct DeploymentsSection {
    /// The component's page; the forms post below it.
    pub base: String,
    pub csrf: String,
    pub notice: Option<Notice>,
    pub error: Option<String>,
    /// Why the component cannot be deployed (no source location).
    pub unavailable: Option<String>,
    pub environments: Vec<EnvironmentDeployments>,
    /// Environments the viewer may deploy this component to.
    pub deploy_targets: Vec<Target>,
    /// Whether any environment exists.
    pub any_environment: bool,
}

/// Pipeline order: development, staging, production, then previews.
fn type_rank(environment: &Environment) -> u8 {
    match environment.environment_type.as_str() {
        "development" => 0,
        "staging" => 1,
        "production" => 2,
        _ => 3,
    }
}

fn target_of(environment: &Environment) -> DeploymentTarget {
    DeploymentTarget::new(
        environment.name.clone(),
        environment.environment_type.as_str(),
    )
}

/// The runtime's process name of a deployment's first process (read from
/// the instance, which is never shown).
fn first_process(deployment: &Deployment) -> String {
    deployment.resolved["instance"]["processes"][0]["name"]
        .as_str()
        .unwrap_or("main")
        .to_string()
}

async fn log_tail(state: &AppState, deployment: &Deployment) -> LogTail {
    let process = first_process(deployment);
    match state
        .deployer
        .runtime()
        .logs(&deployment.id, &process, LOG_LINES)
        .await
    {
        Ok(lines) => LogTail::of(
            process,
            lines
                .into_iter()
                .map(|line| (line.stream.to_string(), line.text))
                .collect(),
        ),
        Err(error) => LogTail {
            process,
            streams: Vec::new(),
            problem: Some(format!("No logs here: {error}.")),
        },
    }
}

/// Whether the engine would find an earlier healthy deployment to roll
/// back to (the same rule as [`pave_deploy::Deployer::rollback`]).
fn has_rollback_target(history: &[&Deployment]) -> bool {
    let active = history.iter().position(|deployment| deployment.active);
    history
        .iter()
        .skip(active.map_or(0, |index| index + 1))
        .any(|deployment| !deployment.active && deployment.status == DeploymentStatus::Healthy)
}

/// The Deployments section of a component's page; `None` for other kinds,
/// and for viewers who may not read deployments.
pub async fn section(
    state: &AppState,
    viewer: &Viewer,
    entity: &Value,
    reference: &EntityRef,
    flash: Flash,
) -> Result<Option<DeploymentsSection>, PageError> {
    if reference.kind != "component" || !may_platform(state, viewer, Action::DeploymentRead) {
        return Ok(None);
    }
    let component = reference.to_string();
    let access = EntityAccess::new(state, &viewer.principal);
    let mut environments = state.deployer.environments().list().await?;
    environments.sort_by(|a, b| (type_rank(a), &a.name).cmp(&(type_rank(b), &b.name)));
    let deployments = state
        .deployer
        .deployments(&DeploymentFilter {
            component: Some(component.clone()),
            environment: None,
            limit: Some(HISTORY_SCAN),
        })
        .await?;
    let unavailable = pave_deploy::source::source_of(entity, &component)
        .err()
        .map(|error| format!("Pave cannot deploy this component: {error}."));
    let allowed: BTreeMap<&str, bool> = environments
        .iter()
        .map(|environment| {
            let may = environment.status == "active"
                && access.may_deploy(Action::DeploymentCreate, entity, &target_of(environment));
            (environment.name.as_str(), may)
        })
        .collect();
    let is_allowed = |name: &str| unavailable.is_none() && allowed.get(name).copied() == Some(true);
    let deploy_targets: Vec<Target> = environments
        .iter()
        .filter(|environment| is_allowed(&environment.name))
        .map(|environment| Target {
            name: environment.name.clone(),
            environment_type: environment.environment_type.as_str().to_string(),
        })
        .collect();

    let mut shown = Vec::new();
    for environment in &environments {
        let history: Vec<&Deployment> = deployments
            .iter()
            .filter(|deployment| deployment.environment == environment.name)
            .collect();
        if history.is_empty() {
            continue;
        }
        let active = history.iter().find(|deployment| deployment.active).copied();
        let logs = match active {
            Some(deployment) => Some(log_tail(state, deployment).await),
            None => None,
        };
        let may_here = is_allowed(&environment.name);
        let promote_targets = if active.is_some() {
            deploy_targets
                .iter()
                .filter(|target| target.name != environment.name)
                .map(|target| Target {
                    name: target.name.clone(),
                    environment_type: target.environment_type.clone(),
                })
                .collect()
        } else {
            Vec::new()
        };
        shown.push(EnvironmentDeployments {
            href: format!(
                "/environments/{}",
                form_urlencoded::byte_serialize(environment.name.as_bytes()).collect::<String>()
            ),
            name: environment.name.clone(),
            environment_type: environment.environment_type.as_str().to_string(),
            active: active.map(|deployment| DeploymentView {
                urls: live_urls(state, deployment),
                ..DeploymentView::of(deployment)
            }),
            more: history.len().saturating_sub(HISTORY_ROWS),
            history: history
                .iter()
                .take(HISTORY_ROWS)
                .map(|deployment| DeploymentView::of(deployment))
                .collect(),
            variables: active.map(deployment_variables).unwrap_or_default(),
            logs,
            can_rollback: may_here && has_rollback_target(&history),
            promote_targets,
        });
    }

    let mut error = None;
    let notice = match flash {
        Flash::None => None,
        Flash::Error(message) => {
            error = Some(message);
            None
        }
        Flash::Deployment(id) => match state.deployer.deployment(&id).await {
            Ok(deployment) if deployment.component == component => Some(notice_of(&deployment)),
            Ok(_) | Err(DeployError::NotFound(_)) => None,
            Err(error) => return Err(error.into()),
        },
    };
    Ok(Some(DeploymentsSection {
        base: entity_href(&reference.kind, &reference.namespace, &reference.name),
        csrf: viewer.csrf.clone(),
        notice,
        error,
        unavailable,
        any_environment: !environments.is_empty(),
        environments: shown,
        deploy_targets,
    }))
}

fn notice_of(deployment: &Deployment) -> Notice {
    let what = match deployment.kind.as_str() {
        "rollback" => "Rolled back",
        "promote" => "Promoted",
        "preview" => "Previewed",
        _ => "Deployed",
    };
    Notice {
        heading: format!(
            "{what} to {}: {}",
            deployment.environment,
            deployment.status.as_str()
        ),
        environment: deployment.environment.clone(),
        deployment: DeploymentView::of(deployment),
    }
}

/// The component a form is about: a Component entity the viewer may read
/// (404 otherwise, as for a missing one).
async fn component(
    state: &AppState,
    viewer: &Viewer,
    kind: &str,
    namespace: &str,
    name: &str,
) -> Result<(EntityRef, Value), PageError> {
    let reference = EntityRef::new(kind, namespace, name);
    let missing =
        || PageError::not_found(format!("There is no component {reference} you may see."));
    if reference.kind != "component" {
        return Err(missing());
    }
    let entity = match state.catalog.entity_by_ref(&reference).await {
        Ok(entity) => entity,
        Err(pave_catalog::CatalogError::NotFound(_)) => return Err(missing()),
        Err(error) => return Err(error.into()),
    };
    if !EntityAccess::new(state, &viewer.principal).may_read(&entity) {
        return Err(missing());
    }
    Ok((reference, entity))
}

/// The environment a form targets, when the viewer may deploy the
/// component there; a refusal is audited and a 403 page.
async fn allowed_target(
    state: &AppState,
    viewer: &Viewer,
    entity: &Value,
    reference: &EntityRef,
    environment: &str,
) -> Result<Environment, PageError> {
    if environment.is_empty() {
        return Err(PageError::bad_request("Choose an environment."));
    }
    let found = match state.deployer.environments().get(environment).await {
        Ok(found) => found,
        Err(pave_deploy::EnvironmentError::NotFound(_)) => {
            return Err(PageError::bad_request(format!(
                "There is no environment `{environment}`. Reload the page to see the ones there are."
            )));
        }
        Err(error) => return Err(error.into()),
    };
    let target = target_of(&found);
    if !EntityAccess::new(state, &viewer.principal).may_deploy(
        Action::DeploymentCreate,
        entity,
        &target,
    ) {
        audit(
            state,
            viewer,
            Action::DeploymentCreate,
            format!("entity:{reference}"),
            Outcome::Denied,
            json!({"environment": target.environment, "environmentType": target.environment_type}),
        )
        .await;
        return Err(forbidden(format!(
            "{} may not deploy {reference} to {} environment `{}`.",
            viewer.principal.reference, target.environment_type, target.environment
        )));
    }
    Ok(found)
}

/// Answers a form that ran the engine: to the page with the outcome, or the
/// page again with why the engine refused.
async fn finish(
    state: &AppState,
    viewer: &Viewer,
    reference: &EntityRef,
    result: Result<Deployment, DeployError>,
    detail: Value,
) -> Result<Response, PageError> {
    let resource = format!("entity:{reference}");
    match result {
        Ok(deployment) => {
            let mut detail = detail;
            detail["deployment"] = json!(deployment.id);
            detail["status"] = json!(deployment.status.as_str());
            audit(
                state,
                viewer,
                Action::DeploymentCreate,
                resource,
                Outcome::Success,
                detail,
            )
            .await;
            let page = entity_href(&reference.kind, &reference.namespace, &reference.name);
            let id: String = form_urlencoded::byte_serialize(deployment.id.as_bytes()).collect();
            let mut response =
                Redirect::to(&format!("{page}?deployment={id}#deployments")).into_response();
            *response.status_mut() = StatusCode::SEE_OTHER;
            Ok(response)
        }
        Err(error) => {
            let status = match &error {
                DeployError::Input(_) => StatusCode::BAD_REQUEST,
                DeployError::NotFound(_) => StatusCode::NOT_FOUND,
                DeployError::Conflict(_) => StatusCode::CONFLICT,
                _ => return Err(error.into()),
            };
            let mut detail = detail;
            detail["error"] = json!(error.to_string());
            audit(
                state,
                viewer,
                Action::DeploymentCreate,
                resource,
                Outcome::Failed,
                detail,
            )
            .await;
            let mut response = crate::portal::entity::show(
                state,
                viewer,
                reference,
                Flash::Error(error.to_string()),
            )
            .await?;
            *response.status_mut() = status;
            Ok(response)
        }
    }
}

/// Deploys the component to the chosen environment at the chosen revision
/// (the source location's ref when none is given).
pub async fn deploy(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((kind, namespace, name)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = form_pairs(&body);
    check_csrf(&form, &viewer)?;
    let (reference, entity) = component(&state, &viewer, &kind, &namespace, &name).await?;
    let environment = form_field(&form, "environment").trim();
    let found = allowed_target(&state, &viewer, &entity, &reference, environment).await?;
    let revision = form_field(&form, "revision").trim();
    if revision.len() > 200 {
        return Err(PageError::bad_request(
            "A revision is a branch, a tag or a commit id, at most 200 characters.",
        ));
    }
    let revision = (!revision.is_empty()).then(|| revision.to_string());
    let result = state
        .deployer
        .deploy(DeployRequest {
            component: reference.to_string(),
            environment: found.name.clone(),
            revision: revision.clone(),
            created_by: viewer.principal.reference.to_string(),
        })
        .await;
    let detail = json!({"environment": found.name, "revision": revision});
    finish(&state, &viewer, &reference, result, detail).await
}

/// Rolls the component back in an environment to its last healthy
/// deployment before the active one.
pub async fn rollback(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((kind, namespace, name)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = form_pairs(&body);
    check_csrf(&form, &viewer)?;
    let (reference, entity) = component(&state, &viewer, &kind, &namespace, &name).await?;
    let environment = form_field(&form, "environment").trim();
    let found = allowed_target(&state, &viewer, &entity, &reference, environment).await?;
    let result = state
        .deployer
        .rollback(
            &reference.to_string(),
            &found.name,
            None,
            &viewer.principal.reference.to_string(),
        )
        .await;
    let detail = json!({"environment": found.name, "rollback": true});
    finish(&state, &viewer, &reference, result, detail).await
}

/// Deploys to another environment the commit that runs in this one.
pub async fn promote(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((kind, namespace, name)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = form_pairs(&body);
    check_csrf(&form, &viewer)?;
    let (reference, entity) = component(&state, &viewer, &kind, &namespace, &name).await?;
    let from = form_field(&form, "from").trim();
    let to = form_field(&form, "to").trim();
    if from.is_empty() {
        return Err(PageError::bad_request(
            "Say which environment to promote from.",
        ));
    }
    if from == to {
        return Err(PageError::bad_request(
            "Promote to another environment than the one it runs in.",
        ));
    }
    let found = allowed_target(&state, &viewer, &entity, &reference, to).await?;
    let result = state
        .deployer
        .promote(
            &reference.to_string(),
            from,
            &found.name,
            &viewer.principal.reference.to_string(),
        )
        .await;
    let detail = json!({"from": from, "to": found.name});
    finish(&state, &viewer, &reference, result, detail).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(id: &str, active: bool, status: DeploymentStatus) -> Deployment {
        Deployment {
            id: id.into(),
            component: "component:default/orders".into(),
            environment: "dev".into(),
            revision: "main".into(),
            commit: "0123456789abcdef".into(),
            workload: Value::Null,
            resolved: json!({"instance": {"processes": [{"name": "web"}]}}),
            status,
            message: String::new(),
            active,
            kind: "deploy".into(),
            based_on: None,
            created_by: "user:default/admin".into(),
            created_at: "2025-01-31T12:34:56.000000Z".into(),
            updated_at: "2025-01-31T12:34:56.000000Z".into(),
        }
    }

    #[test]
    fn log_tails_keep_the_last_lines_of_each_stream() {
        let mut lines: Vec<(String, String)> = (0..60)
            .map(|index| ("stdout".to_string(), format!("out {index}")))
            .collect();
        lines.push(("stderr".into(), "err".into()));
        let tail = LogTail::of("main".into(), lines);
        assert_eq!(tail.streams.len(), 2);
        assert_eq!(tail.streams[0].stream, "stdout");
        assert_eq!(tail.streams[0].lines.len(), LOG_LINES);
        assert_eq!(tail.streams[0].lines[0], "out 10");
        assert_eq!(tail.streams[1].lines, vec!["err".to_string()]);
        assert!(LogTail::of("main".into(), Vec::new()).streams.is_empty());
    }

    #[test]
    fn rollback_needs_an_earlier_healthy_deployment() {
        use DeploymentStatus::{Failed, Healthy};
        let newest_first = [
            deployment("3", true, Healthy),
            deployment("2", false, Failed),
            deployment("1", false, Healthy),
        ];
        let refs: Vec<&Deployment> = newest_first.iter().collect();
        assert!(has_rollback_target(&refs));
        assert!(!has_rollback_target(&refs[..2]));
        // A healthy one newer than the active one is not "earlier".
        let newer = [
            deployment("2", false, Healthy),
            deployment("1", true, Healthy),
        ];
        let refs: Vec<&Deployment> = newer.iter().collect();
        assert!(!has_rollback_target(&refs));
        assert_eq!(first_process(&newest_first[0]), "web");
    }

    /// The partial on its own, as entity.html includes it.
    #[derive(askama::Template)]
    #[template(source = "{% include \"env_component.html\" %}", ext = "html")]
    struct Partial {
        section: DeploymentsSection,
    }

    fn section(can_act: bool, status: DeploymentStatus) -> DeploymentsSection {
        let mut failed = deployment("2", false, status);
        failed.message = "the new version did not become ready: <script>alert(1)</script>".into();
        failed.revision = "feature/<b>".into();
        let mut active = deployment("1", true, DeploymentStatus::Healthy);
        active.resolved = json!({
            "urls": ["http://orders--dev.localhost:7080"],
            "variables": {"main": {"API_TOKEN": "********"}},
            "instance": {"processes": [{"name": "main", "env": {"API_TOKEN": "s3cret"}}]}
        });
        let targets = || {
            if can_act {
                vec![Target {
                    name: "staging".into(),
                    environment_type: "staging".into(),
                }]
            } else {
                Vec::new()
            }
        };
        DeploymentsSection {
            base: "/catalog/component/default/orders".into(),
            csrf: "token-1".into(),
            notice: Some(notice_of(&failed)),
            error: Some("revision `<i>x</i>` cannot be found".into()),
            unavailable: None,
            environments: vec![EnvironmentDeployments {
                name: "dev".into(),
                href: "/environments/dev".into(),
                environment_type: "development".into(),
                active: Some(DeploymentView::of(&active)),
                history: vec![DeploymentView::of(&failed), DeploymentView::of(&active)],
                more: 0,
                variables: super::super::deployment_variables(&active),
                logs: Some(LogTail::of(
                    "main".into(),
                    vec![
                        ("stdout".into(), "starting on 8080".into()),
                        ("stderr".into(), "<img src=x onerror=alert(1)>".into()),
                    ],
                )),
                can_rollback: can_act,
                promote_targets: targets(),
            }],
            deploy_targets: targets(),
            any_environment: true,
        }
    }

    #[test]
    fn the_section_escapes_everything_and_shows_only_allowed_buttons() {
        let html = askama::Template::render(&Partial {
            section: section(true, DeploymentStatus::Failed),
        })
        .unwrap();
        assert!(html.contains("Deployed to dev: Failed"), "{html}");
        assert!(html.contains("data-status=\"Failed\""));
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("<i>x"), "{html}");
        assert!(html.contains("&#60;script&#62;"), "{html}");
        assert!(html.contains("<dt>API_TOKEN</dt><dd class=\"wrap\">********</dd>"));
        assert!(!html.contains("s3cret"), "the instance leaked: {html}");
        assert!(html.contains("starting on 8080"));
        assert!(html.contains("log-stderr"));
        for form in ["/deploy\"", "/rollback\"", "/promote\""] {
            assert!(html.contains(form), "{form} missing: {html}");
        }
        assert!(html.contains("name=\"csrf\" value=\"token-1\""));
        // A failed deployment's notice offers no URL.
        assert!(!html.contains("deploy-url"), "{html}");

        let html = askama::Template::render(&Partial {
            section: section(false, DeploymentStatus::Failed),
        })
        .unwrap();
        for form in ["/deploy\"", "/rollback\"", "/promote\"", "name=\"csrf\""] {
            assert!(!html.contains(form), "{form} shown: {html}");
        }
        assert!(html.contains("starting on 8080"), "reading stays");
    }

    #[test]
    fn the_flash_comes_from_the_deployment_parameter_only() {
        assert!(matches!(
            Flash::from_query(&Some("deployment=abc&x=1".into())),
            Flash::Deployment(id) if id == "abc"
        ));
        assert!(matches!(Flash::from_query(&None), Flash::None));
        assert!(matches!(
            Flash::from_query(&Some(format!("deployment={}", "a".repeat(65)))),
            Flash::None
        ));
        let notice = notice_of(&deployment("1", true, DeploymentStatus::Healthy));
        assert_eq!(notice.heading, "Deployed to dev: Healthy");
    }
}
