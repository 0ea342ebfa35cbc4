//! The Cedar policy set: read it, replace it (validated, versioned), validate
//! a candidate, and ask what a policy set decides.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use pave_access::{
    Action, Decision, Diagnostic, PolicyError, PolicySnapshot, Principal, ResourceRef, policy,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::Json;
use crate::state::AppState;

/// The active policy set.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicySetView {
    /// The Cedar source.
    source: String,
    /// Increases with every change; send it back when replacing the set.
    version: i64,
    updated_at: String,
    updated_by: String,
    /// The ids of the policies in the set.
    policies: Vec<String>,
}

fn view(snapshot: &PolicySnapshot) -> Response {
    let body = PolicySetView {
        source: snapshot.source.clone(),
        version: snapshot.version,
        updated_at: snapshot.updated_at.clone(),
        updated_by: snapshot.updated_by.clone(),
        policies: snapshot.policy_ids(),
    };
    let mut response = axum::Json(body).into_response();
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", snapshot.version)) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

/// Reads the active policy set; its version is also the ETag.
#[utoipa::path(get, path = "/api/v1/policies", tag = "policies",
    responses((status = 200, description = "The active policy set", body = PolicySetView)))]
pub async fn read(State(state): State<AppState>) -> Response {
    view(&state.access.authorizer().snapshot())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaceRequest {
    /// The new Cedar source.
    source: String,
    /// The version this change is based on. When it is stale the answer is
    /// 409 and nothing changes. `If-Match: "<version>"` works too.
    version: Option<i64>,
    /// Apply the set even when it would stop the caller from changing
    /// policies again.
    #[serde(default)]
    force: bool,
}

fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .unwrap_or("")
        .trim()
        .trim_start_matches("W/")
        .trim_matches('"');
    text.parse::<i64>().map(Some).map_err(|_| {
        ApiError::input(format!(
            "If-Match: `{}` is not a policy version; use the ETag from GET /api/v1/policies",
            value.to_str().unwrap_or("?")
        ))
    })
}

/// Replaces the policy set. It is validated against the schema first; an
/// invalid set is refused with Cedar's diagnostics and the old set stays.
#[utoipa::path(put, path = "/api/v1/policies", tag = "policies", request_body = ReplaceRequest,
    responses((status = 200, description = "The new active set", body = PolicySetView),
              (status = 400, description = "The set is invalid (`error.diagnostics` says where), or would lock the caller out without `force`"),
              (status = 409, description = "The set changed since `version`")))]
pub async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Json(body): Json<ReplaceRequest>,
) -> Result<Response, ApiError> {
    let expected = match (if_match(&headers)?, body.version) {
        (Some(header), Some(field)) if header != field => {
            return Err(ApiError::input(format!(
                "If-Match says version {header} but the body says {field}; send one"
            )));
        }
        (header, field) => header.or(field),
    };
    if !body.force
        && state
            .access
            .would_lock_out(&body.source, &caller.principal)?
    {
        return Err(ApiError::input(format!(
            "this policy set would stop {} from changing policies again (policy.write would be denied); add a policy that permits it, or send force: true",
            caller.principal.reference
        )));
    }
    let snapshot = state
        .access
        .set_policies(&body.source, expected, &caller.actor())
        .await?;
    Ok(view(&snapshot))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidateRequest {
    source: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ValidateResponse {
    valid: bool,
    policies: Vec<String>,
    diagnostics: Vec<Diagnostic>,
}

/// Validates a policy set against the schema without saving it.
#[utoipa::path(post, path = "/api/v1/policies/validate", tag = "policies", request_body = ValidateRequest,
    responses((status = 200, description = "Whether the set is valid, and why not", body = ValidateResponse)))]
pub async fn validate(
    State(state): State<AppState>,
    Json(body): Json<ValidateRequest>,
) -> axum::Json<ValidateResponse> {
    let response = match policy::compile(&body.source, state.access.authorizer().schema()) {
        Ok(set) => ValidateResponse {
            valid: true,
            policies: set.policies().map(|p| p.id().to_string()).collect(),
            diagnostics: Vec::new(),
        },
        Err(PolicyError::Invalid { diagnostics }) => ValidateResponse {
            valid: false,
            policies: Vec::new(),
            diagnostics,
        },
        Err(error) => ValidateResponse {
            valid: false,
            policies: Vec::new(),
            diagnostics: vec![Diagnostic {
                message: error.to_string(),
                line: None,
                column: None,
                policy_id: None,
            }],
        },
    };
    axum::Json(response)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    /// `user:default/alice` or `service:ci`.
    principal: String,
    /// The groups to treat the principal as a member of.
    #[serde(default)]
    groups: Vec<String>,
    /// An action id such as `token.create`.
    action: String,
    /// `platform` or `token:ID`.
    resource: String,
    /// A policy set to try instead of the active one.
    source: Option<String>,
}

/// Answers what the policies decide for a principal, an action and a
/// resource, and which policies decided.
#[utoipa::path(post, path = "/api/v1/policies/check", tag = "policies", request_body = CheckRequest,
    responses((status = 200, description = "The decision", body = Decision), (status = 400, description = "Bad input")))]
pub async fn check(
    State(state): State<AppState>,
    _caller: Caller,
    Json(body): Json<CheckRequest>,
) -> Result<axum::Json<Decision>, ApiError> {
    let principal = Principal::parse(&body.principal, &body.groups)
        .map_err(|error| ApiError::input(error.to_string()))?;
    let action: Action = body
        .action
        .parse()
        .map_err(|error: pave_access::UnknownAction| ApiError::input(format!("action: {error}")))?;
    let resource = ResourceRef::parse(&body.resource)
        .map_err(|error| ApiError::input(format!("resource: {error}")))?;
    let resource = match state.access.resolve(resource).await? {
        // An entity in the catalog is checked with its real attributes.
        ResourceRef::Entity(attributes) => {
            let reference = pave_catalog_model::EntityRef::new(
                &attributes.kind,
                &attributes.namespace,
                &attributes.name,
            );
            match state.catalog.entity_by_ref(&reference).await {
                Ok(entity) => ResourceRef::Entity(Box::new(pave_catalog::attributes(&entity))),
                Err(pave_catalog::CatalogError::NotFound(_)) => ResourceRef::Entity(attributes),
                Err(error) => return Err(error.into()),
            }
        }
        other => other,
    };
    let authorizer = state.access.authorizer();
    let decision = match &body.source {
        Some(source) => {
            let set = policy::compile(source, authorizer.schema())?;
            authorizer.decide_with(&set, &principal, action, &resource)
        }
        None => authorizer.decide(&principal, action, &resource),
    };
    Ok(axum::Json(decision))
}
