//! About the server itself: metrics, the API description, and who the caller is.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use pave_access::Principal;

use crate::auth::Caller;
use crate::state::AppState;

/// Prometheus metrics in the text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "server",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String)))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}

/// This document: every route, in OpenAPI 3.1.
#[utoipa::path(get, path = "/api/openapi.json", tag = "server",
    responses((status = 200, description = "The OpenAPI document", body = Object)))]
pub async fn openapi(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.openapi.as_str().to_owned(),
    )
}

/// The principal and groups behind the caller's token.
#[utoipa::path(get, path = "/api/v1/whoami", tag = "session",
    responses((status = 200, description = "The caller", body = Object)))]
pub async fn whoami(caller: Caller) -> Json<Principal> {
    Json(caller.principal)
}
