//! The developer portal: server-rendered pages over the same catalog and
//! the same Cedar policies as the API. Pages work without JavaScript (a
//! little of our own enhances them), ship inside the binary, and show a
//! viewer only what their policies let them read: hidden entities appear in
//! no list, count, relation or graph.
//!
//! Signing in takes an API token and starts a session (`session.rs`); every
//! form carries a CSRF token. Bad input in a URL or form gets a friendly
//! error page, never a stack trace.

pub mod apidoc;
mod assets;
mod create;
mod entity;
mod environments;
pub mod graph;
mod pages;
mod session;
mod views;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};

use crate::state::AppState;

pub use session::SESSION_COOKIE;

/// The portal's routes; none of them is under `/api`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home))
        .route("/catalog", get(pages::explorer))
        .route("/catalog/{kind}/{namespace}/{name}", get(entity::page))
        .route("/login", get(session::login_form).post(session::login))
        .route("/logout", post(session::logout))
        .route("/static/{file}", get(assets::serve))
        .merge(create::router())
        .merge(environments::router())
}

/// Whether a path belongs to the portal (for the not-found page's format).
pub fn is_portal_path(path: &str) -> bool {
    !(path.starts_with("/api/") || path == "/metrics" || path == "/healthz" || path == "/readyz")
}

/// Headers every portal page carries: no framing, no sniffing, scripts and
/// styles from this server only (the graph's SVG brings a `<style>`).
pub(crate) fn secure(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// A page that could not be shown, as the viewer sees it.
#[derive(Debug)]
pub(crate) struct PageError {
    pub status: StatusCode,
    pub title: &'static str,
    pub message: String,
}

impl PageError {
    pub fn bad_request(message: impl Into<String>) -> PageError {
        PageError {
            status: StatusCode::BAD_REQUEST,
            title: "That request did not make sense",
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> PageError {
        PageError {
            status: StatusCode::NOT_FOUND,
            title: "Not found",
            message: message.into(),
        }
    }

    fn internal(error: &dyn std::fmt::Display) -> PageError {
        // The detail goes to the log, never to the page.
        tracing::error!(%error, "portal page failed");
        PageError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            title: "Something went wrong",
            message: "The page could not be built. The error is in the server log; try again in a moment.".into(),
        }
    }
}

impl From<pave_catalog::CatalogError> for PageError {
    fn from(error: pave_catalog::CatalogError) -> PageError {
        match error {
            pave_catalog::CatalogError::Input(message) => PageError::bad_request(message),
            pave_catalog::CatalogError::NotFound(message) => PageError::not_found(message),
            other => PageError::internal(&other),
        }
    }
}

impl From<askama::Error> for PageError {
    fn from(error: askama::Error) -> PageError {
        PageError::internal(&error)
    }
}

impl From<pave_store::StoreError> for PageError {
    fn from(error: pave_store::StoreError) -> PageError {
        PageError::internal(&error)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let page = views::ErrorPage {
            chrome: views::Chrome::anonymous(self.title),
            status: self.status.as_u16(),
            heading: self.title,
            message: self.message,
        };
        let body = askama::Template::render(&page).unwrap_or_else(|_| {
            "<!doctype html><title>Error</title><p>Something went wrong.</p>".into()
        });
        secure((self.status, Html(body)).into_response())
    }
}

/// The friendly page for a path nothing serves.
pub fn not_found_page() -> Response {
    PageError::not_found("There is no page at this address. Start again from the catalog.")
        .into_response()
}

/// The friendly page for a method a page does not answer (such as opening
/// `/logout` in the address bar).
pub fn method_not_allowed_page() -> Response {
    PageError {
        status: StatusCode::METHOD_NOT_ALLOWED,
        title: "Not here",
        message:
            "This address is for a form's button, not for opening. Go back and use the button."
                .into(),
    }
    .into_response()
}

/// Renders a page template with the portal's headers.
pub(crate) fn render(template: &impl askama::Template) -> Result<Response, PageError> {
    Ok(secure(Html(template.render()?).into_response()))
}
