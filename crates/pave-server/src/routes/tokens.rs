//! API tokens: create (the secret is in this one response only), list,
//! read, revoke.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use jiff::{Span, Timestamp};
use pave_access::{GroupRef, IssuedToken, NewToken, PrincipalRef, TokenRecord};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Include revoked and expired tokens.
    #[serde(default)]
    all: bool,
}

/// Lists tokens (never their secrets), newest first.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", params(ListParams),
    responses((status = 200, description = "The tokens", body = Object)))]
pub async fn list(
    State(state): State<AppState>,
    Query(params): Query<ListParams>,
) -> Result<axum::Json<Value>, ApiError> {
    let items = state.access.list_tokens(params.all).await?;
    Ok(axum::Json(json!({ "items": items })))
}

/// What a new token is for.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateRequest {
    /// What the token is for, such as "ci pipeline".
    name: String,
    /// Who the token acts as (`user:default/alice`, `service:ci`); the caller when absent.
    principal: Option<String>,
    /// The groups the principal is in (`group:default/team-a`); the caller's when `principal` is absent.
    groups: Option<Vec<String>>,
    /// When the token stops working (RFC 3339).
    expires_at: Option<String>,
    /// How long the token works, such as `30d` or `12h` (instead of `expiresAt`).
    expires_in: Option<String>,
}

/// Creates a token. The response holds the secret; nothing else ever will.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = CreateRequest,
    responses((status = 201, description = "The new token, with its secret", body = IssuedToken),
              (status = 400, description = "Bad input")))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<CreateRequest>,
) -> Result<(StatusCode, axum::Json<IssuedToken>), ApiError> {
    let (principal, groups) = match &body.principal {
        Some(text) => {
            let principal = PrincipalRef::parse(text)
                .map_err(|e| ApiError::input(format!("principal: {e}")))?;
            let groups = body
                .groups
                .iter()
                .flatten()
                .map(|group| {
                    GroupRef::parse(group).map_err(|e| ApiError::input(format!("groups: {e}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            (principal, groups)
        }
        None => {
            if body.groups.is_some() {
                return Err(ApiError::input(
                    "groups: give `principal` too; without it the token is the caller's and keeps the caller's groups",
                ));
            }
            (
                caller.principal.reference.clone(),
                caller.principal.groups.clone(),
            )
        }
    };
    let expires_at = match (&body.expires_at, &body.expires_in) {
        (Some(_), Some(_)) => {
            return Err(ApiError::input(
                "give either expiresAt or expiresIn, not both",
            ));
        }
        (Some(at), None) => Some(at.parse::<Timestamp>().map_err(|error| {
            ApiError::input(format!(
                "expiresAt: `{at}` is not an RFC 3339 time such as 2027-01-31T00:00:00Z: {error}"
            ))
        })?),
        (None, Some(duration)) => Some(expiry_after(duration)?),
        (None, None) => None,
    };
    let issued = state
        .access
        .create_token(
            NewToken {
                name: body.name,
                principal,
                groups,
                expires_at,
            },
            &caller.actor(),
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(issued)))
}

/// `now + duration`, where duration reads like `30d`, `12h` or `1h30m`.
fn expiry_after(text: &str) -> Result<Timestamp, ApiError> {
    let span: Span = text.parse().map_err(|error| {
        ApiError::input(format!(
            "expiresIn: `{text}` is not a duration such as 30d, 12h or 1h30m: {error}"
        ))
    })?;
    let now = pave_store::now();
    let end = now
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .checked_add(span)
        .map_err(|error| ApiError::input(format!("expiresIn: `{text}` is too long: {error}")))?
        .timestamp();
    if end <= now {
        return Err(ApiError::input(format!(
            "expiresIn: `{text}` must be positive"
        )));
    }
    Ok(end)
}

/// Reads one token (without its secret).
#[utoipa::path(get, path = "/api/v1/tokens/{id}", tag = "tokens",
    params(("id" = String, Path, description = "The token id")),
    responses((status = 200, description = "The token", body = TokenRecord), (status = 404, description = "No such token")))]
pub async fn read(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<axum::Json<TokenRecord>, ApiError> {
    Ok(axum::Json(state.access.get_token(&id).await?))
}

/// Revokes a token; it fails at its next use.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens",
    params(("id" = String, Path, description = "The token id")),
    responses((status = 200, description = "The revoked token", body = TokenRecord), (status = 404, description = "No such token")))]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<TokenRecord>, ApiError> {
    Ok(axum::Json(
        state.access.revoke_token(&id, &caller.actor()).await?,
    ))
}
