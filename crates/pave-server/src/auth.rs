//! The gate every API route passes: find the route's declared action
//! (deny when there is none), authenticate the bearer token, ask Cedar, and
//! audit every refusal and every failed change.

use axum::extract::{MatchedPath, RawPathParams, Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use pave_access::{
    Actor, AuthenticationError, GroupRef, NewEvent, Outcome, Principal, ResourceKind, ResourceRef,
    principal::PrincipalKind,
};
use serde_json::json;

use crate::error::ApiError;
use crate::request_id::RequestId;
use crate::state::AppState;

/// The authenticated caller of a request, for handlers.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    pub request_id: String,
}

impl Caller {
    pub fn actor(&self) -> Actor {
        Actor::new(&self.principal, Some(self.request_id.clone()))
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Caller, ApiError> {
        // Only the gate inserts a caller; a handler asking for one on a route
        // without the gate is a server bug, answered without detail.
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::internal("this route is missing its authorization gate"))
    }
}

fn bearer(headers: &HeaderMap) -> Result<&str, AuthenticationError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or(AuthenticationError::Missing)?;
    let value = value.to_str().map_err(|_| AuthenticationError::Malformed)?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or(AuthenticationError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AuthenticationError::Malformed);
    }
    Ok(token.trim())
}

/// Records how a request ended when no handler recorded it.
async fn audit(
    state: &AppState,
    principal: String,
    action: &str,
    resource: String,
    outcome: Outcome,
    request_id: &str,
    detail: serde_json::Value,
) {
    let event = NewEvent {
        principal,
        action: action.to_string(),
        resource,
        outcome,
        request_id: Some(request_id.to_string()),
        detail,
    };
    // Failing to audit must not hide the refusal from the caller, but it
    // must be loud: an operator needs to know the log has a hole.
    if let Err(error) = state.access.record(event).await {
        tracing::error!(%error, "cannot write an audit event");
    }
}

/// Adds the groups the catalog's User and Group entities give a user (its
/// `memberOf` groups and their parents) to the groups on its token.
pub(crate) async fn with_catalog_groups(state: &AppState, mut principal: Principal) -> Principal {
    if principal.reference.kind != PrincipalKind::User {
        return principal;
    }
    match state
        .catalog
        .groups_of(&principal.reference.to_string())
        .await
    {
        Ok(groups) => {
            for group in groups
                .iter()
                .filter_map(|group| GroupRef::parse(group).ok())
            {
                if !principal.groups.contains(&group) {
                    principal.groups.push(group);
                }
            }
        }
        // Without the catalog the token's own groups still apply.
        Err(error) => tracing::warn!(%error, "cannot read the caller's groups from the catalog"),
    }
    principal
}

/// The authorization middleware, installed as a route layer on the API.
pub async fn gate(
    State(state): State<AppState>,
    matched: MatchedPath,
    path_params: RawPathParams,
    mut request: Request,
    next: Next,
) -> Response {
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .map(|id| id.0.clone())
        .unwrap_or_default();
    let method = request.method().clone();
    let route = format!("{method} {}", matched.as_str());
    let Some(action) = state.routes.action(&method, matched.as_str()) else {
        tracing::error!(%route, "route has no declared action; denying");
        audit(
            &state,
            "unknown".into(),
            "undeclared",
            route.clone(),
            Outcome::Denied,
            &request_id,
            json!({"reason": "the route declares no action"}),
        )
        .await;
        return ApiError::forbidden(format!("{route} declares no action, so it is denied"))
            .into_response();
    };

    let resource = match action.resource_kind() {
        ResourceKind::Platform | ResourceKind::Entity => ResourceRef::Platform,
        ResourceKind::Token => ResourceRef::Token {
            id: path_id(&path_params),
            principal: String::new(),
        },
        ResourceKind::Environment => ResourceRef::Environment {
            name: path_param(&path_params, "name"),
            environment_type: String::new(),
        },
        ResourceKind::Task => ResourceRef::Task {
            id: path_id(&path_params),
            created_by: String::new(),
            template: String::new(),
        },
    };

    let principal = match bearer(request.headers()) {
        Ok(token) => state.access.authenticate(token).await,
        Err(error) => Err(error),
    };
    let principal = match principal {
        Ok(principal) => principal,
        Err(AuthenticationError::Store(error)) => return ApiError::from(error).into_response(),
        Err(error) => {
            audit(
                &state,
                "anonymous".into(),
                action.name(),
                resource.to_string(),
                Outcome::Unauthenticated,
                &request_id,
                json!({"route": route, "reason": error.to_string()}),
            )
            .await;
            return ApiError::from(error).into_response();
        }
    };

    let principal = with_catalog_groups(&state, principal).await;
    let resource = match state.access.resolve(resource).await {
        Ok(resource) => resource,
        Err(error) => return ApiError::from(error).into_response(),
    };
    let resource = with_resource_attributes(&state, resource).await;
    // Environments are readable by everyone, so saying one does not exist
    // tells nobody anything; deciding on an unknown type would deny even
    // admins with a misleading 403.
    if let ResourceRef::Environment {
        name,
        environment_type,
    } = &resource
        && !name.is_empty()
        && environment_type.is_empty()
    {
        return ApiError::not_found(format!("there is no environment `{name}`")).into_response();
    }
    // Actions on catalog entities are decided per entity by their handlers
    // (a list shows what the caller may read; a change checks its entity);
    // a platform-level answer here would be wrong for owners.
    // So are environments about to be created: their name and type are in
    // the request body, which the handler reads.
    let decided_by_handler = action.applies_to_entities()
        || matches!(&resource, ResourceRef::Environment { name, .. } if name.is_empty());
    let decision =
        (!decided_by_handler).then(|| state.access.decide(&principal, action, &resource));
    if let Some(decision) = decision.filter(|decision| !decision.allowed) {
        audit(
            &state,
            principal.reference.to_string(),
            action.name(),
            resource.to_string(),
            Outcome::Denied,
            &request_id,
            json!({"route": route, "policies": decision.policies, "errors": decision.errors}),
        )
        .await;
        return ApiError::forbidden(format!(
            "{} may not {action} on {resource}",
            principal.reference
        ))
        .into_response();
    }

    let caller_reference = principal.reference.to_string();
    request.extensions_mut().insert(Caller {
        principal,
        request_id: request_id.clone(),
    });
    let response = next.run(request).await;
    let status = response.status();
    if !action.is_read() && (status.is_client_error() || status.is_server_error()) {
        audit(
            &state,
            caller_reference,
            action.name(),
            resource.to_string(),
            Outcome::Failed,
            &request_id,
            json!({"route": route, "status": status.as_u16()}),
        )
        .await;
    }
    response
}

/// The `{id}` path parameter, or "" when the route has none.
fn path_id(path_params: &RawPathParams) -> String {
    path_param(path_params, "id")
}

/// A path parameter, or "" when the route has none.
fn path_param(path_params: &RawPathParams, wanted: &str) -> String {
    path_params
        .iter()
        .find(|(name, _)| *name == wanted)
        .map(|(_, value)| value.to_string())
        .unwrap_or_default()
}

/// Fills in what policies decide on: who created a task and from which
/// template, an environment's type. An unknown task keeps empty attributes:
/// only those who may act on any task get past the gate, and the handler
/// answers 404; an unknown environment is answered 404 by the gate.
async fn with_resource_attributes(state: &AppState, resource: ResourceRef) -> ResourceRef {
    match resource {
        ResourceRef::Task { id, .. } => match state.scaffolder.task(&id).await {
            Ok(task) => ResourceRef::Task {
                id,
                created_by: task.created_by,
                template: task.template_ref,
            },
            Err(_) => ResourceRef::Task {
                id,
                created_by: String::new(),
                template: String::new(),
            },
        },
        ResourceRef::Environment { name, .. } if !name.is_empty() => {
            // Policies decide by the environment's type; an unknown one keeps
            // an empty type and the handler answers 404.
            let environment_type = state
                .deployer
                .environments()
                .get(&name)
                .await
                .map(|environment| environment.environment_type.as_str().to_string())
                .unwrap_or_default();
            ResourceRef::Environment {
                name,
                environment_type,
            }
        }
        other => other,
    }
}
