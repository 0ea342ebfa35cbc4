//! The audit log: filtered, paged reads and chain verification.

use axum::extract::State;
use pave_access::{AuditFilter, AuditPage, VerifyReport};

use crate::error::ApiError;
use crate::extract::Query;
use crate::state::AppState;

/// Lists audit events, newest first. Filters combine with AND; pass the
/// returned `nextCursor` as `cursor` for the next page.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit",
    params(
        ("principal" = Option<String>, Query, description = "Only this principal, such as user:default/alice"),
        ("action" = Option<String>, Query, description = "Only this action, such as token.create"),
        ("resource" = Option<String>, Query, description = "Only this resource, such as token:0123456789abcdef"),
        ("outcome" = Option<String>, Query, description = "success, denied, unauthenticated or failed"),
        ("requestId" = Option<String>, Query, description = "Only this request"),
        ("since" = Option<String>, Query, description = "RFC 3339 time, inclusive"),
        ("until" = Option<String>, Query, description = "RFC 3339 time, exclusive"),
        ("cursor" = Option<String>, Query, description = "nextCursor from the previous page"),
        ("limit" = Option<u32>, Query, description = "1 to 500, default 50"),
    ),
    responses((status = 200, description = "A page of events", body = AuditPage), (status = 400, description = "Bad filter")))]
pub async fn list(
    State(state): State<AppState>,
    Query(filter): Query<AuditFilter>,
) -> Result<axum::Json<AuditPage>, ApiError> {
    Ok(axum::Json(state.access.audit(&filter).await?))
}

/// Walks the hash chain and names the first event that was altered or removed.
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit",
    responses((status = 200, description = "The verification report", body = VerifyReport)))]
pub async fn verify(State(state): State<AppState>) -> Result<axum::Json<VerifyReport>, ApiError> {
    Ok(axum::Json(state.access.verify_audit().await?))
}
