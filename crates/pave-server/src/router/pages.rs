//! The router's own answers: small self-contained pages, no external assets.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue, X_CONTENT_TYPE_OPTIONS};
use hyper::{Response, StatusCode};

/// No environment owns the host.
pub(crate) fn unknown_host(host: &str) -> Response<Full<Bytes>> {
    let host = escape(host);
    page(
        StatusCode::NOT_FOUND,
        "No environment here",
        &format!(
            "<h1>No environment answers at {host}</h1>\
             <p>Preview and environment URLs look like \
             <code>http://&lt;workload&gt;--&lt;environment&gt;.localhost:&lt;router port&gt;/</code>. \
             Check the workload and environment names in the portal; the \
             environment may have expired or been torn down.</p>"
        ),
    )
}

/// The request has no host to route by.
pub(crate) fn missing_host() -> Response<Full<Bytes>> {
    page(
        StatusCode::BAD_REQUEST,
        "Bad request",
        "<h1>This request has no Host header</h1>\
         <p>Pave's router picks the environment from the host name; send a Host header \
         such as <code>web--dev.localhost</code>.</p>",
    )
}

/// `CONNECT`: the router forwards requests, it does not open tunnels.
pub(crate) fn connect_refused() -> Response<Full<Bytes>> {
    let mut response = page(
        StatusCode::METHOD_NOT_ALLOWED,
        "Method not allowed",
        "<h1>The router does not tunnel CONNECT requests</h1>\
         <p>It is a reverse proxy: send ordinary requests to \
         <code>http://&lt;workload&gt;--&lt;environment&gt;.localhost:&lt;router port&gt;/</code>.</p>",
    );
    response.headers_mut().insert(
        hyper::header::ALLOW,
        HeaderValue::from_static("GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"),
    );
    response
}

/// The upstream refused the connection or broke it.
pub(crate) fn not_running(workload: &str, environment: &str) -> Response<Full<Bytes>> {
    let (workload, environment) = (escape(workload), escape(environment));
    page(
        StatusCode::BAD_GATEWAY,
        "Not running",
        &format!(
            "<h1>{workload} in {environment} is not running or not ready</h1>\
             <p>The router could not reach the process of workload <code>{workload}</code> \
             in environment <code>{environment}</code>. It may still be starting, or it \
             stopped: look at its deployment status and logs in the portal, then reload \
             this page.</p>"
        ),
    )
}

/// Connecting to the upstream took longer than the connect timeout.
pub(crate) fn connect_timeout(workload: &str, environment: &str) -> Response<Full<Bytes>> {
    let (workload, environment) = (escape(workload), escape(environment));
    page(
        StatusCode::GATEWAY_TIMEOUT,
        "Timed out",
        &format!(
            "<h1>{workload} in {environment} did not answer in time</h1>\
             <p>The router could not open a connection to workload <code>{workload}</code> \
             in environment <code>{environment}</code> in time. It may be overloaded or \
             stuck: look at its status and logs, then reload this page.</p>"
        ),
    )
}

fn page(status: StatusCode, title: &str, body: &str) -> Response<Full<Bytes>> {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{title} · Pave</title>\
         <style>body{{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#222}}\
         code{{background:#f2f2f2;padding:0 .2em}}</style></head>\
         <body>{body}<p><small>Pave router · {code}</small></p></body></html>\n",
        code = status.as_u16()
    );
    let mut response = Response::new(Full::new(Bytes::from(html)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// Host headers come from the client: never put one in a page unescaped.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}
