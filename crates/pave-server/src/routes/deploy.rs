//! Environments, deployments and previews (`/api/v1/environments`,
//! `/api/v1/deployments`, `/api/v1/previews`). Handlers are thin: decide,
//! call the deploy engine, shape the answer. Deploying is decided on the
//! component's catalog entity with the target environment in the context.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use pave_access::{Action, DeploymentTarget, NewEvent, Outcome, ResourceRef};
use pave_catalog_model::parse_ref;
use pave_deploy::webhook::PullRequestEvent;
use pave_deploy::{
    DeployRequest, Deployment, DeploymentFilter, Environment, EnvironmentType, NewEnvironment,
    PreviewSettings,
};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::entity_access::{EntityAccess, readable_entity};
use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::routes::webhooks::deploy_error;
use crate::state::AppState;

/// A deployment as the API shows it: without the runtime instance, which
/// holds unmasked variables.
pub(crate) fn deployment_json(deployment: &Deployment) -> Value {
    let mut value = serde_json::to_value(deployment).unwrap_or(Value::Null);
    if let Some(resolved) = value.get_mut("resolved").and_then(Value::as_object_mut) {
        resolved.remove("instance");
    }
    value
}

/// The deployments whose component the caller may read: the others are
/// left out, as hidden catalog entities are everywhere else.
async fn readable(
    state: &AppState,
    caller: &Caller,
    deployments: Vec<Deployment>,
) -> Vec<Deployment> {
    let access = EntityAccess::new(state, &caller.principal);
    let Some(visible) = access.visible() else {
        return deployments;
    };
    let mut decided: std::collections::HashMap<String, bool> = std::collections::HashMap::new();
    let mut kept = Vec::with_capacity(deployments.len());
    for deployment in deployments {
        let allowed = match decided.get(&deployment.component) {
            Some(allowed) => *allowed,
            None => {
                let allowed = match parse_ref(&deployment.component, Some("component"), "default") {
                    Ok(reference) => state
                        .catalog
                        .entity_by_ref(&reference)
                        .await
                        .is_ok_and(|entity| visible(&entity)),
                    Err(_) => false,
                };
                decided.insert(deployment.component.clone(), allowed);
                allowed
            }
        };
        if allowed {
            kept.push(deployment);
        }
    }
    kept
}

/// One deployment the caller may see (404 otherwise, as for a missing one).
async fn readable_deployment(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<Deployment, ApiError> {
    let deployment = state.deployer.deployment(id).await.map_err(deploy_error)?;
    readable(state, caller, vec![deployment])
        .await
        .pop()
        .ok_or_else(|| ApiError::not_found(format!("there is no deployment `{id}`")))
}

async fn environment_json(
    state: &AppState,
    caller: &Caller,
    environment: &Environment,
) -> Result<Value, ApiError> {
    let mut value = serde_json::to_value(environment).unwrap_or(Value::Null);
    let deployments = state
        .deployer
        .deployments(&DeploymentFilter {
            component: None,
            environment: Some(environment.name.clone()),
            limit: Some(1000),
        })
        .await
        .map_err(deploy_error)?;
    let deployments = readable(state, caller, deployments).await;
    let running: Vec<Value> = deployments
        .iter()
        .filter(|deployment| deployment.active || deployment.status.is_in_progress())
        .map(|deployment| {
            json!({
                "id": deployment.id,
                "component": deployment.component,
                "commit": deployment.commit,
                "status": deployment.status,
                "active": deployment.active,
                "urls": deployment.resolved["urls"],
            })
        })
        .collect();
    value["deployments"] = Value::Array(running);
    value["urls"] = json!(state.environment_urls(&environment.name, None));
    Ok(value)
}

/// Every environment with its URLs and what runs there.
#[utoipa::path(get, path = "/api/v1/environments", tag = "deploy",
    responses((status = 200, description = "{items}", body = Object)))]
pub async fn list_environments(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<Value>, ApiError> {
    let environments = state
        .deployer
        .environments()
        .list()
        .await
        .map_err(|e| deploy_error(e.into()))?;
    let mut items = Vec::with_capacity(environments.len());
    for environment in &environments {
        items.push(environment_json(&state, &caller, environment).await?);
    }
    Ok(axum::Json(json!({"items": items})))
}

/// One environment.
#[utoipa::path(get, path = "/api/v1/environments/{name}", tag = "deploy",
    params(("name" = String, Path)),
    responses((status = 200, description = "The environment", body = Object), (status = 404, description = "No such environment")))]
pub async fn get_environment(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    let environment = state
        .deployer
        .environments()
        .get(&name)
        .await
        .map_err(|error| deploy_error(error.into()))?;
    Ok(axum::Json(
        environment_json(&state, &caller, &environment).await?,
    ))
}

/// Creates an environment; decided on its type (development and preview
/// environments for anyone by default, staging and production for admins).
#[utoipa::path(post, path = "/api/v1/environments", tag = "deploy", request_body = Object,
    responses((status = 201, description = "The environment", body = Object), (status = 400, description = "Bad name, type or preview fields"), (status = 409, description = "It exists")))]
pub async fn create_environment(
    State(state): State<AppState>,
    caller: Caller,
    Json(request): Json<NewEnvironment>,
) -> Result<(StatusCode, axum::Json<Value>), ApiError> {
    let environment_type = request
        .environment_type
        .unwrap_or(if request.source.is_some() {
            EnvironmentType::Preview
        } else {
            EnvironmentType::Development
        });
    let resource = ResourceRef::Environment {
        name: request.name.clone(),
        environment_type: environment_type.as_str().to_string(),
    };
    let decision = state
        .access
        .decide(&caller.principal, Action::EnvironmentCreate, &resource);
    if !decision.allowed {
        audit(&state, &caller, Action::EnvironmentCreate, &resource.to_string(), Outcome::Denied, json!({"route": "POST /api/v1/environments", "type": environment_type.as_str(), "policies": decision.policies})).await;
        return Err(ApiError::forbidden(format!(
            "{} may not create {} environments",
            caller.principal.reference,
            environment_type.as_str()
        )));
    }
    let environment = state
        .deployer
        .environments()
        .create(request, &caller.principal.reference.to_string())
        .await
        .map_err(|error| deploy_error(error.into()))?;
    audit(
        &state,
        &caller,
        Action::EnvironmentCreate,
        &resource.to_string(),
        Outcome::Success,
        json!({"type": environment_type.as_str()}),
    )
    .await;
    Ok((
        StatusCode::CREATED,
        axum::Json(environment_json(&state, &caller, &environment).await?),
    ))
}

/// Tears an environment down: its processes, routes and checkouts.
#[utoipa::path(delete, path = "/api/v1/environments/{name}", tag = "deploy",
    params(("name" = String, Path)),
    responses((status = 204, description = "Torn down"), (status = 404, description = "No such environment"), (status = 409, description = "Other environments are based on it")))]
pub async fn delete_environment(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .deployer
        .delete_environment(&name)
        .await
        .map_err(deploy_error)?;
    audit(
        &state,
        &caller,
        Action::EnvironmentDelete,
        &format!("environment:{name}"),
        Outcome::Success,
        json!({}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

async fn audit(
    state: &AppState,
    caller: &Caller,
    action: Action,
    resource: &str,
    outcome: Outcome,
    detail: Value,
) {
    let event = NewEvent {
        principal: caller.principal.reference.to_string(),
        action: action.name().into(),
        resource: resource.into(),
        outcome,
        request_id: Some(caller.request_id.clone()),
        detail,
    };
    if let Err(error) = state.access.record(event).await {
        tracing::error!(%error, "cannot write an audit event");
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeployBody {
    /// `component:namespace/name`, `namespace/name` or `name`.
    component: String,
    environment: String,
    /// A branch, tag or commit; the source location's ref by default.
    revision: Option<String>,
}

/// The component entity the caller may read (404 otherwise).
async fn component(state: &AppState, caller: &Caller, reference: &str) -> Result<Value, ApiError> {
    readable_entity(
        state,
        &caller.principal,
        reference,
        "component",
        "component",
    )
    .await
}

/// Checks that the caller may read `component` and deploy it to
/// `environment` (deploy, rollback and promote all are `deployment.create`).
async fn check_deploy(
    state: &AppState,
    caller: &Caller,
    component_ref: &str,
    environment: &str,
) -> Result<(), ApiError> {
    let entity = component(state, caller, component_ref).await?;
    let found = state
        .deployer
        .environments()
        .get(environment)
        .await
        .map_err(|error| deploy_error(error.into()))?;
    let target = DeploymentTarget::new(environment, found.environment_type.as_str());
    EntityAccess::new(state, &caller.principal)
        .check_deploy(Action::DeploymentCreate, &entity, &target, caller)
        .await
}

/// Audits a new deployment and answers 201 with it.
async fn created(
    state: &AppState,
    caller: &Caller,
    deployment: &Deployment,
    detail: Value,
) -> (StatusCode, axum::Json<Value>) {
    audit(
        state,
        caller,
        Action::DeploymentCreate,
        &format!("entity:{}", deployment.component),
        Outcome::Success,
        detail,
    )
    .await;
    (StatusCode::CREATED, axum::Json(deployment_json(deployment)))
}

/// What a deploy would change, without changing anything.
#[utoipa::path(post, path = "/api/v1/deployments/plan", tag = "deploy", request_body = DeployBody,
    responses((status = 200, description = "{component, environment, commit, current?, changes, variables, urls}", body = Object)))]
pub async fn plan(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<DeployBody>,
) -> Result<axum::Json<Value>, ApiError> {
    component(&state, &caller, &body.component).await?;
    let plan = state
        .deployer
        .plan(&DeployRequest {
            component: body.component,
            environment: body.environment,
            revision: body.revision,
            created_by: caller.principal.reference.to_string(),
        })
        .await
        .map_err(deploy_error)?;
    Ok(axum::Json(
        serde_json::to_value(plan).unwrap_or(Value::Null),
    ))
}

/// Deploys a component and answers when it is `Healthy` or `Failed` (the
/// previous version keeps serving).
#[utoipa::path(post, path = "/api/v1/deployments", tag = "deploy", request_body = DeployBody,
    responses((status = 201, description = "The deployment record", body = Object), (status = 400, description = "No such revision, an invalid score.yaml, an unresolvable placeholder"), (status = 403, description = "Not allowed to deploy it there")))]
pub async fn deploy(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<DeployBody>,
) -> Result<(StatusCode, axum::Json<Value>), ApiError> {
    check_deploy(&state, &caller, &body.component, &body.environment).await?;
    let deployment = state
        .deployer
        .deploy(DeployRequest {
            component: body.component,
            environment: body.environment.clone(),
            revision: body.revision,
            created_by: caller.principal.reference.to_string(),
        })
        .await
        .map_err(deploy_error)?;
    let detail = json!({"deployment": deployment.id, "environment": body.environment, "status": deployment.status});
    Ok(created(&state, &caller, &deployment, detail).await)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RollbackBody {
    component: String,
    environment: String,
    /// A deployment id; the last healthy one before the active one by default.
    to: Option<String>,
}

/// Rolls back: deploys again the commit of an earlier deployment.
#[utoipa::path(post, path = "/api/v1/deployments/rollback", tag = "deploy", request_body = RollbackBody,
    responses((status = 201, description = "The new deployment", body = Object), (status = 409, description = "Nothing healthy to roll back to")))]
pub async fn rollback(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<RollbackBody>,
) -> Result<(StatusCode, axum::Json<Value>), ApiError> {
    check_deploy(&state, &caller, &body.component, &body.environment).await?;
    let deployment = state
        .deployer
        .rollback(
            &body.component,
            &body.environment,
            body.to.as_deref(),
            &caller.principal.reference.to_string(),
        )
        .await
        .map_err(deploy_error)?;
    let detail = json!({"deployment": deployment.id, "rollbackTo": deployment.based_on});
    Ok(created(&state, &caller, &deployment, detail).await)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PromoteBody {
    component: String,
    from: String,
    to: String,
}

/// Deploys to `to` the commit that runs in `from`, with `to`'s config.
#[utoipa::path(post, path = "/api/v1/deployments/promote", tag = "deploy", request_body = PromoteBody,
    responses((status = 201, description = "The new deployment", body = Object), (status = 409, description = "It does not run in `from`")))]
pub async fn promote(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<PromoteBody>,
) -> Result<(StatusCode, axum::Json<Value>), ApiError> {
    check_deploy(&state, &caller, &body.component, &body.to).await?;
    let deployment = state
        .deployer
        .promote(
            &body.component,
            &body.from,
            &body.to,
            &caller.principal.reference.to_string(),
        )
        .await
        .map_err(deploy_error)?;
    let detail = json!({"deployment": deployment.id, "from": body.from, "to": body.to});
    Ok(created(&state, &caller, &deployment, detail).await)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListDeployments {
    component: Option<String>,
    environment: Option<String>,
    /// 1–1000, default 100.
    limit: Option<i64>,
}

/// Deployments, newest first (history).
#[utoipa::path(get, path = "/api/v1/deployments", tag = "deploy", params(ListDeployments),
    responses((status = 200, description = "{items}", body = Object)))]
pub async fn list_deployments(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ListDeployments>,
) -> Result<axum::Json<Value>, ApiError> {
    let deployments = state
        .deployer
        .deployments(&DeploymentFilter {
            component: query.component,
            environment: query.environment,
            limit: query.limit,
        })
        .await
        .map_err(deploy_error)?;
    let deployments = readable(&state, &caller, deployments).await;
    Ok(axum::Json(
        json!({"items": deployments.iter().map(deployment_json).collect::<Vec<_>>()}),
    ))
}

/// One deployment.
#[utoipa::path(get, path = "/api/v1/deployments/{id}", tag = "deploy",
    params(("id" = String, Path)),
    responses((status = 200, description = "The deployment", body = Object), (status = 404, description = "No such deployment")))]
pub async fn get_deployment(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    let deployment = readable_deployment(&state, &caller, &id).await?;
    Ok(axum::Json(deployment_json(&deployment)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LogsQuery {
    /// The container; the first one by default.
    process: Option<String>,
    /// Lines per stream (1–5000, default 200).
    tail: Option<usize>,
    /// `true`: server-sent events (`event: line`), the tail first, then
    /// lines as they are written, until the deployment stops running.
    follow: Option<bool>,
}

/// The last lines a deployment's process wrote, or (`follow=true`) a stream
/// of them as they are written.
#[utoipa::path(get, path = "/api/v1/deployments/{id}/logs", tag = "deploy",
    params(("id" = String, Path), LogsQuery),
    responses((status = 200, description = "{process, lines: [{stream, text}]}, or text/event-stream of lines with follow=true", body = Object), (status = 404, description = "Not running here")))]
pub async fn logs(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<LogsQuery>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let deployment = readable_deployment(&state, &caller, &id).await?;
    let process = match query.process {
        Some(process) => process,
        None => deployment.resolved["instance"]["processes"][0]["name"]
            .as_str()
            .unwrap_or("main")
            .to_string(),
    };
    let not_running =
        |error| ApiError::not_found(format!("no logs for deployment `{id}`: {error}"));
    let runtime = state.deployer.runtime();
    let lines = runtime
        .logs(&id, &process, query.tail.unwrap_or(200).clamp(1, 5000))
        .await
        .map_err(not_running)?;
    if !query.follow.unwrap_or(false) {
        return Ok(axum::Json(json!({"process": process, "lines": lines})).into_response());
    }
    let follower = runtime
        .follow_logs(&id, &process)
        .await
        .map_err(not_running)?;
    let tail = futures_util::stream::iter(lines);
    let live = futures_util::stream::unfold(follower, |mut follower| async move {
        follower.next().await.map(|line| (line, follower))
    });
    use futures_util::StreamExt;
    let events = tail.chain(live).map(|line| {
        Ok::<_, std::convert::Infallible>(
            axum::response::sse::Event::default()
                .event("line")
                .data(json!(line).to_string()),
        )
    });
    Ok(axum::response::sse::Sse::new(events)
        .keep_alive(
            axum::response::sse::KeepAlive::new().interval(std::time::Duration::from_secs(15)),
        )
        .into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PreviewBody {
    /// A component whose repository the pull request is in.
    component: String,
    pull_request: u64,
    /// The pull request's branch.
    branch: String,
    /// The commit to run; the branch's head by default.
    head_commit: Option<String>,
    /// The environment to start from; the configured base (`dev`) by default.
    base: Option<String>,
    ttl_seconds: Option<u64>,
}

/// Creates or updates a pull request's preview, for teams without webhooks.
#[utoipa::path(post, path = "/api/v1/previews", tag = "deploy", request_body = PreviewBody,
    responses((status = 201, description = "{environment, created, deployments, urls}", body = Object), (status = 403, description = "Not an owner of every component")))]
pub async fn create_preview(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<PreviewBody>,
) -> Result<(StatusCode, axum::Json<Value>), ApiError> {
    let entity = component(&state, &caller, &body.component).await?;
    let reference = parse_ref(&body.component, Some("component"), "default")
        .map_err(|error| ApiError::input(error.to_string()))?
        .to_string();
    let source = pave_deploy::source::source_of(&entity, &reference).map_err(ApiError::input)?;
    let environment = pave_deploy::preview_name(body.pull_request);
    // Every component the preview deploys must be the caller's to preview.
    let components = state
        .deployer
        .components_of_repository(std::slice::from_ref(&source.remote))
        .await
        .map_err(deploy_error)?;
    let target = DeploymentTarget::new(environment.clone(), "preview");
    let access = EntityAccess::new(&state, &caller.principal);
    for other in &components {
        let other = component(&state, &caller, other).await?;
        access
            .check_deploy(Action::PreviewCreate, &other, &target, &caller)
            .await?;
    }
    let head_commit = match body.head_commit {
        Some(commit) => commit,
        None => state
            .deployer
            .resolve_revision(&source.remote, &body.branch)
            .await
            .map_err(deploy_error)?,
    };
    let outcome = state
        .deployer
        .open_preview(
            &PullRequestEvent {
                repository: vec![source.remote.clone()],
                number: body.pull_request,
                branch: body.branch,
                head_commit,
                base_branch: String::new(),
            },
            &PreviewSettings {
                base_environment: body
                    .base
                    .unwrap_or_else(|| state.webhooks.preview_base.clone()),
                ttl_seconds: body
                    .ttl_seconds
                    .unwrap_or(state.webhooks.preview_ttl_seconds),
                actor: caller.principal.reference.to_string(),
            },
        )
        .await
        .map_err(deploy_error)?;
    audit(
        &state,
        &caller,
        Action::PreviewCreate,
        &format!("environment:{environment}"),
        Outcome::Success,
        json!({"urls": outcome.urls}),
    )
    .await;
    let mut answer = serde_json::to_value(&outcome).unwrap_or(Value::Null);
    if let Some(deployments) = answer.get_mut("deployments").and_then(Value::as_array_mut) {
        *deployments = outcome.deployments.iter().map(deployment_json).collect();
    }
    Ok((StatusCode::CREATED, axum::Json(answer)))
}
