//! Webhooks from repository hosts: pull requests get preview environments,
//! pushes redeploy environments that follow a branch.
//!
//! These routes take no token: a delivery proves itself with the shared
//! secret (GitHub: an HMAC-SHA256 of the body in `X-Hub-Signature-256`;
//! GitLab: the secret token in `X-Gitlab-Token`), compared in constant time.
//! A delivery id seen before is a replay and is ignored. The work itself
//! (starting processes and waiting for them) runs after the answer, because
//! hosts give webhooks only a few seconds.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, KeyInit, Mac};
use pave_access::{NewEvent, Outcome};
use pave_deploy::webhook::{self, RepositoryEvent};
use pave_deploy::{DeployError, PreviewSettings};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::state::AppState;

/// The principal webhook work is recorded as.
const GITHUB_PRINCIPAL: &str = "service:github-webhook";
const GITLAB_PRINCIPAL: &str = "service:gitlab-webhook";

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// GitHub's `X-Hub-Signature-256: sha256=<hex>` over the raw body.
pub fn github_signature_matches(secret: &str, body: &[u8], signature: &str) -> bool {
    let Some(hex_tag) = signature.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(tag) = hex::decode(hex_tag) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    // `verify_slice` compares in constant time.
    mac.verify_slice(&tag).is_ok()
}

/// GitHub deliveries.
#[utoipa::path(post, path = "/api/v1/webhooks/github", tag = "deploy",
    request_body(content = Object, description = "GitHub's pull_request or push payload", content_type = "application/json"),
    responses((status = 202, description = "Accepted; the preview is being made or torn down", body = Object),
              (status = 200, description = "Ignored (a replay, or an event previews do not use)", body = Object),
              (status = 401, description = "Bad or missing signature"), (status = 400, description = "Bad payload")),
    security(()))]
pub async fn github(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, axum::Json<Value>), ApiError> {
    let Some(secret) = state.webhooks.github_secret.as_deref() else {
        return Err(ApiError::not_found(
            "GitHub webhooks are not configured; set PAVE_WEBHOOK_GITHUB_SECRET (or deploy.webhooks.githubSecret)",
        ));
    };
    let signature = header(&headers, "x-hub-signature-256").unwrap_or("");
    if !github_signature_matches(secret, &body, signature) {
        refused(
            &state,
            GITHUB_PRINCIPAL,
            "the X-Hub-Signature-256 signature does not match",
        )
        .await;
        return Err(ApiError::unauthenticated(
            "the X-Hub-Signature-256 signature does not match the body; check the webhook secret",
        ));
    }
    let event = header(&headers, "x-github-event").unwrap_or("").to_string();
    let delivery = header(&headers, "x-github-delivery")
        .unwrap_or("")
        .to_string();
    handle(
        &state,
        "github",
        GITHUB_PRINCIPAL,
        &delivery,
        &body,
        |payload| webhook::github(&event, payload),
    )
    .await
}

/// GitLab deliveries.
#[utoipa::path(post, path = "/api/v1/webhooks/gitlab", tag = "deploy",
    request_body(content = Object, description = "GitLab's Merge Request Hook or Push Hook payload", content_type = "application/json"),
    responses((status = 202, description = "Accepted", body = Object), (status = 200, description = "Ignored", body = Object),
              (status = 401, description = "Bad or missing token"), (status = 400, description = "Bad payload")),
    security(()))]
pub async fn gitlab(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, axum::Json<Value>), ApiError> {
    let Some(token) = state.webhooks.gitlab_token.as_deref() else {
        return Err(ApiError::not_found(
            "GitLab webhooks are not configured; set PAVE_WEBHOOK_GITLAB_TOKEN (or deploy.webhooks.gitlabToken)",
        ));
    };
    let given = header(&headers, "x-gitlab-token").unwrap_or("");
    if !bool::from(given.as_bytes().ct_eq(token.as_bytes())) {
        refused(
            &state,
            GITLAB_PRINCIPAL,
            "the X-Gitlab-Token does not match",
        )
        .await;
        return Err(ApiError::unauthenticated(
            "the X-Gitlab-Token does not match; check the webhook's secret token",
        ));
    }
    let event = header(&headers, "x-gitlab-event").unwrap_or("").to_string();
    let delivery = header(&headers, "x-gitlab-event-uuid")
        .or_else(|| header(&headers, "idempotency-key"))
        .unwrap_or("")
        .to_string();
    handle(
        &state,
        "gitlab",
        GITLAB_PRINCIPAL,
        &delivery,
        &body,
        |payload| webhook::gitlab(&event, payload),
    )
    .await
}

async fn refused(state: &AppState, principal: &str, reason: &str) {
    let event = NewEvent {
        principal: principal.into(),
        action: "webhook.receive".into(),
        resource: "platform".into(),
        outcome: Outcome::Unauthenticated,
        request_id: None,
        detail: json!({"reason": reason}),
    };
    if let Err(error) = state.access.record(event).await {
        tracing::error!(%error, "cannot write an audit event");
    }
}

async fn handle(
    state: &AppState,
    provider: &str,
    principal: &str,
    delivery: &str,
    body: &[u8],
    parse: impl FnOnce(&Value) -> Result<RepositoryEvent, webhook::PayloadError>,
) -> Result<(StatusCode, axum::Json<Value>), ApiError> {
    if delivery.is_empty() {
        return Err(ApiError::input(
            "the delivery has no id header (X-GitHub-Delivery, X-Gitlab-Event-UUID or Idempotency-Key), so a replay could not be told apart",
        ));
    }
    let payload: Value = serde_json::from_slice(body)
        .map_err(|error| ApiError::input(format!("the payload is not JSON: {error}")))?;
    let event = parse(&payload).map_err(|error| ApiError::input(error.to_string()))?;
    if !state
        .deployer
        .record_delivery(provider, delivery)
        .await
        .map_err(deploy_error)?
    {
        return Ok((
            StatusCode::OK,
            axum::Json(json!({"ignored": format!("delivery {delivery} was handled before")})),
        ));
    }
    let settings = PreviewSettings {
        base_environment: state.webhooks.preview_base.clone(),
        ttl_seconds: state.webhooks.preview_ttl_seconds,
        actor: principal.to_string(),
    };
    let deployer = state.deployer.clone();
    let access = std::sync::Arc::clone(&state.access);
    let principal = principal.to_string();
    match event {
        RepositoryEvent::Ignored(what) => {
            Ok((StatusCode::OK, axum::Json(json!({"ignored": what}))))
        }
        RepositoryEvent::PullRequestUpdated(pull) => {
            let components = deployer
                .components_of_repository(&pull.repository)
                .await
                .map_err(deploy_error)?;
            if components.is_empty() {
                return Ok((
                    StatusCode::OK,
                    axum::Json(
                        json!({"ignored": "no catalog component comes from this repository"}),
                    ),
                ));
            }
            let environment = pave_deploy::preview_name(pull.number);
            let answer = json!({"environment": environment, "components": components, "headCommit": pull.head_commit});
            tokio::spawn(async move {
                let outcome = deployer.open_preview(&pull, &settings).await;
                let (result, detail) = match &outcome {
                    Ok(preview) => (
                        Outcome::Success,
                        json!({"environment": preview.environment, "urls": preview.urls}),
                    ),
                    Err(error) => (Outcome::Failed, json!({"error": error.to_string()})),
                };
                record(
                    &access,
                    &principal,
                    "preview.create",
                    &format!("environment:pr-{}", pull.number),
                    result,
                    detail,
                )
                .await;
            });
            Ok((StatusCode::ACCEPTED, axum::Json(answer)))
        }
        RepositoryEvent::PullRequestClosed(pull) => {
            let environment = pave_deploy::preview_name(pull.number);
            let answer = json!({"environment": environment, "tearingDown": true});
            tokio::spawn(async move {
                let outcome = deployer.close_preview(pull.number).await;
                let (result, detail) = match &outcome {
                    Ok(existed) => (Outcome::Success, json!({"existed": existed})),
                    Err(error) => (Outcome::Failed, json!({"error": error.to_string()})),
                };
                record(
                    &access,
                    &principal,
                    "environment.delete",
                    &format!("environment:pr-{}", pull.number),
                    result,
                    detail,
                )
                .await;
            });
            Ok((StatusCode::ACCEPTED, axum::Json(answer)))
        }
        RepositoryEvent::Push {
            repository,
            branch,
            head_commit,
        } => {
            let answer = json!({"branch": branch, "headCommit": head_commit});
            tokio::spawn(async move {
                let outcome = deployer
                    .follow_push(&repository, &branch, &head_commit, &principal)
                    .await;
                let (result, detail) = match &outcome {
                    Ok(deployments) => (
                        Outcome::Success,
                        json!({"deployments": deployments.iter().map(|d| &d.id).collect::<Vec<_>>()}),
                    ),
                    Err(error) => (Outcome::Failed, json!({"error": error.to_string()})),
                };
                record(
                    &access,
                    &principal,
                    "deployment.create",
                    &format!("branch:{branch}"),
                    result,
                    detail,
                )
                .await;
            });
            Ok((StatusCode::ACCEPTED, axum::Json(answer)))
        }
    }
}

async fn record(
    access: &pave_access::Access,
    principal: &str,
    action: &str,
    resource: &str,
    outcome: Outcome,
    detail: Value,
) {
    let event = NewEvent {
        principal: principal.into(),
        action: action.into(),
        resource: resource.into(),
        outcome,
        request_id: None,
        detail,
    };
    if let Err(error) = access.record(event).await {
        tracing::error!(%error, "cannot write an audit event");
    }
}

/// Engine errors as API errors.
pub(crate) fn deploy_error(error: DeployError) -> ApiError {
    match error {
        DeployError::Input(message) => ApiError::input(message),
        DeployError::NotFound(message) => ApiError::not_found(message),
        DeployError::Conflict(message) => {
            ApiError::new(StatusCode::CONFLICT, "ConflictError", message)
        }
        DeployError::Store(error) => ApiError::from(error),
        DeployError::Runtime(error) => {
            tracing::error!(%error, "runtime error");
            ApiError::internal(format!("the runtime failed: {error}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::github_signature_matches;

    #[test]
    fn github_signatures_are_hmac_sha256_of_the_body() {
        // From GitHub's documentation on validating webhook deliveries.
        let secret = "It's a Secret to Everybody";
        let body = b"Hello, World!";
        let signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert!(github_signature_matches(secret, body, signature));
        assert!(!github_signature_matches(
            secret,
            b"Hello, World?",
            signature
        ));
        assert!(!github_signature_matches("other", body, signature));
        assert!(!github_signature_matches(secret, body, "sha1=abc"));
        assert!(!github_signature_matches(secret, body, "sha256=zz"));
    }
}
