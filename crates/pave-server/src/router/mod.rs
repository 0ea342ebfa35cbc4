//! Pave's router: the HTTP reverse proxy that makes environments reachable
//! at `http://<workload>--<environment>.localhost:7080/` (and at the hosts
//! of Score `route` resources).
//!
//! - [`RoutingTable`] maps a host (and a path prefix) to the process of a
//!   workload. The deploy engine replaces an environment's routes in one
//!   step with [`RoutingTable::set_environment`]; requests see the old or
//!   the new routes, never half of a switch.
//! - [`serve`] answers on a listener until told to stop: it forwards method,
//!   target, headers and streamed bodies, passes `Upgrade` (WebSocket)
//!   connections through byte for byte, and answers by itself with a small
//!   page when it cannot: 400 (no Host), 404 (no environment at that host),
//!   405 (`CONNECT`), 502 (the workload is not running) and 504 (connecting
//!   timed out).
//!
//! ## Why hand-written on hyper
//!
//! `axum-reverse-proxy` 2.4 (the maintained candidate; with
//! `default-features = false` it leaves TLS and aws-lc-rs out) fits badly:
//! its failures are fixed `Bad Gateway` strings (we name the workload and
//! environment and tell people what to do), it passes WebSocket upgrades
//! only (checked with `tokio-tungstenite`), not any `Upgrade`, and it brings
//! `tokio-tungstenite`, `url`, `rand` and tower's and tokio's `full`
//! features into the server binary. On hyper and hyper-util, which axum
//! already compiles, the proxy is a few hundred lines and adds no crate to
//! the build. Owning the accept loop also gives us the peer address for
//! `X-Forwarded-For`, header-size, idle and connection limits, and a
//! shutdown that does not wait forever on server-sent-event streams.
//!
//! ## Shape of the traffic
//!
//! Clients speak HTTP/1.1 to the router (browsers do, for `http://`);
//! upstreams are reached over HTTP/1.1 from a pool of kept-alive
//! connections. Bodies are never buffered: each frame is forwarded as it
//! arrives. The path prefix of a route is not stripped. No TLS: the router
//! listens on loopback only.
//!
//! Architecture invariant: the router knows hosts, ports and HTTP, nothing
//! of deployments; the deploy engine tells it what runs where.

mod idle;
mod pages;
mod proxy;
mod server;
mod table;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::io;
use std::time::Duration;

use tokio::net::TcpListener;

pub use proxy::REQUESTS;
pub use table::{Route, RoutingTable, Upstream};

/// The port `pave up` serves environments on.
pub const DEFAULT_PORT: u16 = 7080;

/// The limits and timeouts of the router.
#[derive(Debug, Clone)]
pub struct RouterOptions {
    /// How long opening a connection to a workload may take before 504.
    pub connect_timeout: Duration,
    /// How long a client may take to send a request head; also how long a
    /// kept-alive client connection may sit between requests.
    pub header_read_timeout: Duration,
    /// How long a connection may wait on its socket with no byte moving in
    /// either direction (stalled bodies, quiet event streams or WebSockets).
    pub idle_timeout: Duration,
    /// The largest request head accepted (hyper's minimum is 8 KiB).
    pub max_header_bytes: usize,
    /// Client connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// How long an unused pooled connection to a workload is kept.
    pub upstream_idle_timeout: Duration,
    /// On shutdown, how long in-flight requests get to finish before their
    /// connections are closed.
    pub shutdown_grace: Duration,
}

impl Default for RouterOptions {
    fn default() -> Self {
        RouterOptions {
            connect_timeout: Duration::from_secs(2),
            header_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(300),
            max_header_bytes: 64 * 1024,
            max_connections: 1024,
            upstream_idle_timeout: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(3),
        }
    }
}

/// Serves environments on `listener` with the default [`RouterOptions`]
/// until `shutdown` resolves; then in-flight requests get a short grace
/// period and every connection, upgraded ones included, is closed.
pub async fn serve(
    listener: TcpListener,
    table: RoutingTable,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    serve_with_options(listener, table, RouterOptions::default(), shutdown).await
}

/// [`serve`] with explicit limits and timeouts.
pub async fn serve_with_options(
    listener: TcpListener,
    table: RoutingTable,
    options: RouterOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    server::run(listener, table, options, shutdown).await
}

/// Why a workload or environment name cannot be part of a host name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostNameError {
    #[error("the {part} name is empty; give it a name of letters, digits and hyphens")]
    Empty { part: &'static str },
    #[error(
        "the {part} name {name:?} is {length} characters long; a host name label allows at most 63"
    )]
    TooLong {
        part: &'static str,
        name: String,
        length: usize,
    },
    #[error(
        "the {part} name {name:?} contains {character:?}; host names allow only letters, digits and hyphens"
    )]
    InvalidCharacter {
        part: &'static str,
        name: String,
        character: char,
    },
    #[error(
        "the {part} name {name:?} starts or ends with a hyphen; host name labels must start and end with a letter or digit"
    )]
    EdgeHyphen { part: &'static str, name: String },
    #[error(
        "the workload name {name:?} contains \"--\", which separates workload from environment in preview hosts; rename the workload"
    )]
    DoubleHyphen { name: String },
    #[error(
        "{label:?} is {length} characters long; the workload and environment names together must fit one host name label of 63 characters, so shorten one of them"
    )]
    LabelTooLong { label: String, length: usize },
}

/// The host of `workload` in `environment`:
/// `<workload>--<environment>.localhost`, lower-cased.
///
/// Both names must be DNS labels (letters, digits and inner hyphens, at most
/// 63 characters), the workload name must not contain `--` (so the host
/// splits one way only), and `<workload>--<environment>` is itself one
/// label, so it too must fit in 63 characters.
pub fn host_for(workload: &str, environment: &str) -> Result<String, HostNameError> {
    check_label("workload", workload)?;
    check_label("environment", environment)?;
    if workload.contains("--") {
        return Err(HostNameError::DoubleHyphen {
            name: workload.to_string(),
        });
    }
    let label = format!("{workload}--{environment}").to_ascii_lowercase();
    if label.len() > 63 {
        let length = label.len();
        return Err(HostNameError::LabelTooLong { label, length });
    }
    Ok(format!("{label}.localhost"))
}

/// The URL people open for `host` when the router listens on `port`.
pub fn url_for(host: &str, port: u16) -> String {
    if port == 80 {
        format!("http://{host}/")
    } else {
        format!("http://{host}:{port}/")
    }
}

fn check_label(part: &'static str, name: &str) -> Result<(), HostNameError> {
    if name.is_empty() {
        return Err(HostNameError::Empty { part });
    }
    if let Some(character) = name
        .chars()
        .find(|character| !(character.is_ascii_alphanumeric() || *character == '-'))
    {
        return Err(HostNameError::InvalidCharacter {
            part,
            name: name.to_string(),
            character,
        });
    }
    if name.len() > 63 {
        return Err(HostNameError::TooLong {
            part,
            name: name.to_string(),
            length: name.len(),
        });
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err(HostNameError::EdgeHyphen {
            part,
            name: name.to_string(),
        });
    }
    Ok(())
}
