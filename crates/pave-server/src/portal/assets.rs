//! The portal's static files, compiled into the binary: no CDN, no build
//! step, works offline.

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::{PageError, secure};

const STYLESHEET: &str = include_str!("../../assets/pave.css");
const SCRIPT: &str = include_str!("../../assets/pave.js");
const ICON: &str = include_str!("../../assets/pave.svg");

pub async fn serve(Path(file): Path<String>) -> Result<Response, PageError> {
    let (body, kind) = match file.as_str() {
        "pave.css" => (STYLESHEET, "text/css; charset=utf-8"),
        "pave.js" => (SCRIPT, "text/javascript; charset=utf-8"),
        "pave.svg" => (ICON, "image/svg+xml"),
        _ => return Err(PageError::not_found(format!("There is no file `{file}`."))),
    };
    let mut response = ([(header::CONTENT_TYPE, kind)], body).into_response();
    // Assets change only with the binary; an hour keeps pages fast without
    // serving a stale stylesheet for long after an upgrade.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    Ok(secure(response))
}
