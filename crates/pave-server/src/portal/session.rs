//! Signing in and out of the portal, and the viewer of each page.
//!
//! The session cookie is HttpOnly and SameSite=Lax and holds only a random
//! secret; the server keeps its hash, the CSRF token and the expiry. The
//! sign-in form, which has no session yet, is protected by a double-submit
//! cookie instead.

use axum::body::Bytes;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use pave_access::{AuthenticationError, NewEvent, Outcome, Principal, session::SESSION_HOURS};
use serde::Deserialize;
use serde_json::json;

use super::{PageError, render, views};
use crate::request_id::RequestId;
use crate::state::AppState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "pave_session";
/// The sign-in form's double-submit cookie.
const LOGIN_CSRF_COOKIE: &str = "pave_login_csrf";

/// Who is looking at a page: the session's principal with the groups the
/// catalog gives them, and the CSRF token their forms must carry.
pub(crate) struct Viewer {
    pub principal: Principal,
    pub csrf: String,
    pub request_id: String,
}

/// The value of cookie `name`, if the request has it.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// Cookies get `Secure` when the browser reached us over HTTPS (through a
/// proxy that says so); `pave up` on 127.0.0.1 is plain HTTP.
fn secure_flag(headers: &HeaderMap) -> &'static str {
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|proto| proto.eq_ignore_ascii_case("https"));
    if https { "; Secure" } else { "" }
}

fn set_cookie(response: &mut Response, value: String) {
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// Where to go after signing in: a path on this server, never elsewhere.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.starts_with("/login")
                && !path.starts_with("/logout") =>
        {
            path.to_string()
        }
        _ => "/".to_string(),
    }
}

fn request_id(parts: &Parts) -> String {
    parts
        .extensions
        .get::<RequestId>()
        .map(|id| id.0.clone())
        .unwrap_or_default()
}

fn to_login(next: &str) -> Response {
    let target: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("next", next)
        .finish();
    Redirect::to(&format!("/login?{target}")).into_response()
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Viewer, Response> {
        let next = parts
            .uri
            .path_and_query()
            .map(|path| path.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let Some(value) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(to_login(&next));
        };
        match state.access.resume_session(value).await {
            Ok((principal, session)) => Ok(Viewer {
                principal: crate::auth::with_catalog_groups(state, principal).await,
                csrf: session.csrf,
                request_id: request_id(parts),
            }),
            Err(AuthenticationError::Store(error)) => Err(PageError::from(error).into_response()),
            // Ended, expired, or its token revoked: sign in again.
            Err(_) => Err(to_login(&next)),
        }
    }
}

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

fn login_page(
    next: &str,
    error: Option<String>,
    status: StatusCode,
    headers: &HeaderMap,
) -> Result<Response, PageError> {
    let csrf = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let page = views::LoginPage {
        chrome: views::Chrome::anonymous("Sign in"),
        csrf: csrf.clone(),
        next: next.to_string(),
        error,
    };
    let mut response = render(&page)?;
    *response.status_mut() = status;
    set_cookie(
        &mut response,
        format!(
            "{LOGIN_CSRF_COOKIE}={csrf}; Path=/login; HttpOnly; SameSite=Strict; Max-Age=3600{}",
            secure_flag(headers)
        ),
    );
    Ok(response)
}

/// The sign-in page (or, when already signed in, where it would lead).
pub async fn login_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<LoginQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, PageError> {
    let next = safe_next(query.as_ref().ok().and_then(|query| query.next.as_deref()));
    if let Some(value) = cookie(&headers, SESSION_COOKIE)
        && state.access.resume_session(value).await.is_ok()
    {
        return Ok(Redirect::to(&next).into_response());
    }
    login_page(&next, None, StatusCode::OK, &headers)
}

fn field(form: &[(String, String)], name: &str) -> Option<String> {
    form.iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.clone())
}

async fn audit(
    state: &AppState,
    principal: String,
    action: &str,
    outcome: Outcome,
    request_id: &str,
    detail: serde_json::Value,
) {
    let event = NewEvent {
        principal,
        action: action.into(),
        resource: "portal".into(),
        outcome,
        request_id: Some(request_id.to_string()),
        detail,
    };
    if let Err(error) = state.access.record(event).await {
        tracing::error!(%error, "cannot write an audit event");
    }
}

/// Checks the token and starts a session.
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    request_id: Option<axum::Extension<RequestId>>,
    body: Bytes,
) -> Result<Response, PageError> {
    let request_id = request_id.map(|id| id.0.0.clone()).unwrap_or_default();
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let next = safe_next(field(&form, "next").as_deref());
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE);
    if expected.is_none() || expected != field(&form, "csrf").as_deref() {
        return Err(PageError::bad_request(
            "The sign-in form expired or came from another site. Reload the sign-in page and try again.",
        ));
    }
    let token = field(&form, "token").unwrap_or_default();
    let token = token.trim();
    if token.is_empty() {
        return login_page(
            &next,
            Some("Paste an API token (it starts with pave_).".into()),
            StatusCode::BAD_REQUEST,
            &headers,
        );
    }
    match state.access.start_session(token).await {
        Ok(started) => {
            audit(
                &state,
                started.principal.reference.to_string(),
                "portal.session.start",
                Outcome::Success,
                &request_id,
                json!({"token": started.session.token_id, "expiresAt": started.session.expires_at}),
            )
            .await;
            let mut response = Redirect::to(&next).into_response();
            *response.status_mut() = StatusCode::SEE_OTHER;
            let flag = secure_flag(&headers);
            set_cookie(
                &mut response,
                format!(
                    "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{flag}",
                    started.cookie,
                    SESSION_HOURS * 3600
                ),
            );
            set_cookie(
                &mut response,
                format!(
                    "{LOGIN_CSRF_COOKIE}=; Path=/login; HttpOnly; SameSite=Strict; Max-Age=0{flag}"
                ),
            );
            Ok(response)
        }
        Err(AuthenticationError::Store(error)) => Err(error.into()),
        Err(error) => {
            audit(
                &state,
                "anonymous".into(),
                "portal.session.start",
                Outcome::Unauthenticated,
                &request_id,
                json!({"reason": error.to_string()}),
            )
            .await;
            login_page(
                &next,
                Some(format!("Sign-in failed: {error}.")),
                StatusCode::UNAUTHORIZED,
                &headers,
            )
        }
    }
}

/// Ends the session (the form must carry its CSRF token).
pub async fn logout(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    if field(&form, "csrf").as_deref() != Some(viewer.csrf.as_str()) {
        return Err(PageError::bad_request(
            "The sign-out form expired or came from another site. Reload the page and try again.",
        ));
    }
    if let Some(value) = cookie(&headers, SESSION_COOKIE) {
        state.access.end_session(value).await?;
    }
    audit(
        &state,
        viewer.principal.reference.to_string(),
        "portal.session.end",
        Outcome::Success,
        &viewer.request_id,
        json!({}),
    )
    .await;
    let mut response = Redirect::to("/login").into_response();
    *response.status_mut() = StatusCode::SEE_OTHER;
    set_cookie(
        &mut response,
        format!(
            "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
            secure_flag(&headers)
        ),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next(Some("/catalog?kind=api")), "/catalog?kind=api");
        assert_eq!(safe_next(Some("//evil.example/")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(Some("/login")), "/");
        assert_eq!(safe_next(Some("/logout")), "/");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn cookies_are_found_by_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; pave_session=abc; b=2"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, "missing"), None);
    }
}
