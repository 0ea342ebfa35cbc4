//! Forwarding one request: pick the upstream, rewrite the headers, stream
//! both bodies, and splice upgraded connections together.

use std::error::Error as _;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use http_body_util::{Either, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{
    CONNECTION, EXPECT, FORWARDED, HOST, HeaderMap, HeaderName, HeaderValue, TE, TRAILER,
    TRANSFER_ENCODING, UPGRADE,
};
use hyper::upgrade::OnUpgrade;
use hyper::{Method, Request, Response, StatusCode, Uri, Version};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::sync::watch;

use super::RouterOptions;
use super::pages;
use super::server::stopped;
use super::table::{RoutingTable, Upstream, normalize_host};

/// The body of every response the router sends: the upstream's, streamed
/// frame by frame, or one of the router's own small pages.
pub(crate) type ResponseBody = Either<Incoming, Full<Bytes>>;

/// The counter of requests by outcome (`proxied`, `upgraded`,
/// `unknown_host`, `bad_request`, `upstream_down`, `upstream_timeout`).
pub const REQUESTS: &str = "pave_router_requests_total";

/// How long both sides get to finish an upgrade once the upstream said 101.
const UPGRADE_TIMEOUT: Duration = Duration::from_secs(10);

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");

/// Shared by every connection: the table, and one pool of upstream
/// connections.
#[derive(Clone)]
pub(crate) struct Proxy {
    table: RoutingTable,
    client: Client<HttpConnector, Incoming>,
    stopping: watch::Receiver<bool>,
}

impl Proxy {
    pub(crate) fn new(
        table: RoutingTable,
        options: &RouterOptions,
        stopping: watch::Receiver<bool>,
    ) -> Proxy {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(options.connect_timeout));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(options.upstream_idle_timeout)
            .pool_max_idle_per_host(32)
            .build(connector);
        Proxy {
            table,
            client,
            stopping,
        }
    }

    /// Answers one request; never fails: every problem becomes a page.
    pub(crate) async fn handle(
        &self,
        request: Request<Incoming>,
        peer: SocketAddr,
    ) -> Response<ResponseBody> {
        let (response, outcome) = self.forward(request, peer).await;
        metrics::counter!(REQUESTS, "outcome" => outcome).increment(1);
        response
    }

    async fn forward(
        &self,
        mut request: Request<Incoming>,
        peer: SocketAddr,
    ) -> (Response<ResponseBody>, &'static str) {
        if request.method() == Method::CONNECT {
            // A reverse proxy has nothing to tunnel to; refuse before routing.
            return (page(pages::connect_refused()), "bad_request");
        }
        let Some(authority) = routing_authority(&request) else {
            return (page(pages::missing_host()), "bad_request");
        };
        let Some(upstream) = self.table.resolve(&authority, request.uri().path()) else {
            let host = normalize_host(&authority);
            return (page(pages::unknown_host(&host)), "unknown_host");
        };
        let upgrade = requested_upgrade(request.headers());
        let client_upgrade = upgrade.is_some().then(|| hyper::upgrade::on(&mut request));
        let Some(outgoing) = upstream_request(request, &upstream, &authority, peer, upgrade) else {
            return (page(pages::missing_host()), "bad_request");
        };
        let mut response = match self.client.request(outgoing).await {
            Ok(response) => response,
            Err(error) => {
                let timed_out = is_timeout(&error);
                tracing::warn!(
                    workload = %upstream.workload,
                    environment = %upstream.environment,
                    upstream = %upstream.address,
                    error = %error,
                    cause = ?error.source(),
                    "cannot reach the upstream"
                );
                return if timed_out {
                    (
                        page(pages::connect_timeout(
                            &upstream.workload,
                            &upstream.environment,
                        )),
                        "upstream_timeout",
                    )
                } else {
                    (
                        page(pages::not_running(
                            &upstream.workload,
                            &upstream.environment,
                        )),
                        "upstream_down",
                    )
                };
            }
        };
        let mut outcome = "proxied";
        let switched = response.status() == StatusCode::SWITCHING_PROTOCOLS;
        let upstream_protocol = response.headers().get(UPGRADE).cloned();
        if switched {
            match (client_upgrade, upstream_protocol.clone()) {
                (Some(client), Some(_)) => {
                    let upstream_side = hyper::upgrade::on(&mut response);
                    splice(
                        client,
                        upstream_side,
                        self.stopping.clone(),
                        upstream.clone(),
                    );
                    outcome = "upgraded";
                }
                _ => {
                    tracing::warn!(
                        workload = %upstream.workload,
                        environment = %upstream.environment,
                        "the upstream switched protocols without being asked to"
                    );
                    return (
                        page(pages::not_running(
                            &upstream.workload,
                            &upstream.environment,
                        )),
                        "upstream_down",
                    );
                }
            }
        }
        remove_hop_by_hop(response.headers_mut());
        if let (true, Some(protocol)) = (switched, upstream_protocol) {
            let headers = response.headers_mut();
            headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
            headers.insert(UPGRADE, protocol);
        }
        (response.map(Either::Left), outcome)
    }
}

fn page(response: Response<Full<Bytes>>) -> Response<ResponseBody> {
    response.map(Either::Right)
}

/// The host the client asked for, as sent (port included): the authority of
/// an absolute-form request target wins over the Host header (RFC 9112
/// §3.2.2). `None` when there is none, or when Host is repeated or not text.
fn routing_authority(request: &Request<Incoming>) -> Option<String> {
    if let Some(authority) = request.uri().authority() {
        let without_user = authority.as_str().rsplit('@').next().unwrap_or_default();
        return (!without_user.is_empty()).then(|| without_user.to_string());
    }
    let mut hosts = request.headers().get_all(HOST).iter();
    let host = hosts.next()?;
    if hosts.next().is_some() {
        return None;
    }
    let host = host.to_str().ok()?.trim();
    (!host.is_empty()).then(|| host.to_string())
}

/// The protocol the client asks to switch to, when it asks properly
/// (`Connection: upgrade` plus `Upgrade: <protocol>`).
fn requested_upgrade(headers: &HeaderMap) -> Option<HeaderValue> {
    let asks = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case("upgrade"));
    if asks {
        headers.get(UPGRADE).cloned()
    } else {
        None
    }
}

/// The request as the upstream gets it: origin-form target, no hop-by-hop
/// headers, the forwarding headers added, the original Host kept (dev
/// servers build absolute URLs from it).
fn upstream_request(
    request: Request<Incoming>,
    upstream: &Upstream,
    authority: &str,
    peer: SocketAddr,
    upgrade: Option<HeaderValue>,
) -> Option<Request<Incoming>> {
    let (mut parts, body) = request.into_parts();
    let target = parts
        .uri
        .path_and_query()
        .map(|target| target.as_str())
        .filter(|target| target.starts_with('/'))
        .unwrap_or("/");
    parts.uri = Uri::builder()
        .scheme("http")
        .authority(upstream.address.to_string())
        .path_and_query(target)
        .build()
        .ok()?;
    parts.version = Version::HTTP_11;
    let headers = &mut parts.headers;
    remove_hop_by_hop(headers);
    // The router's server side already answers `100-continue` when the body
    // is first read; the upstream gets the body either way.
    headers.remove(EXPECT);
    if let Some(protocol) = upgrade {
        headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(UPGRADE, protocol);
    }
    let host = HeaderValue::from_str(authority).ok()?;
    headers.insert(HOST, host.clone());
    add_forwarding_headers(headers, peer, host);
    Some(Request::from_parts(parts, body))
}

/// `X-Forwarded-For` and `Forwarded` are appended to (the chain of proxies
/// is kept); `X-Forwarded-Host` and `X-Forwarded-Proto` describe this hop.
fn add_forwarding_headers(headers: &mut HeaderMap, peer: SocketAddr, host: HeaderValue) {
    let client = peer.ip().to_string();
    let earlier: Vec<&str> = headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect();
    let forwarded_for = if earlier.is_empty() {
        client.clone()
    } else {
        format!("{}, {client}", earlier.join(", "))
    };
    if let Ok(value) = HeaderValue::from_str(&forwarded_for) {
        headers.insert(X_FORWARDED_FOR, value);
    }
    let node = if peer.is_ipv6() {
        format!("\"[{client}]\"")
    } else {
        client
    };
    let quoted_host = host
        .to_str()
        .unwrap_or_default()
        .replace('\\', "\\\\")
        .replace('"', "\\\"");
    if let Ok(value) =
        HeaderValue::from_str(&format!("for={node};host=\"{quoted_host}\";proto=http"))
    {
        headers.append(FORWARDED, value);
    }
    headers.insert(X_FORWARDED_HOST, host);
    headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static("http"));
}

/// Drops the headers that describe one connection rather than the message
/// (RFC 9110 §7.6.1): those named by `Connection`, and the usual ones.
fn remove_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|token| HeaderName::from_bytes(token.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [
        CONNECTION,
        KEEP_ALIVE,
        TE,
        TRAILER,
        TRANSFER_ENCODING,
        UPGRADE,
    ] {
        headers.remove(name);
    }
    let proxy_headers: Vec<HeaderName> = headers
        .keys()
        .filter(|name| name.as_str().starts_with("proxy-"))
        .cloned()
        .collect();
    for name in proxy_headers {
        headers.remove(name);
    }
}

/// True when the connection attempt ran out of time (the connector turns
/// its timeout into `io::ErrorKind::TimedOut`).
fn is_timeout(error: &hyper_util::client::legacy::Error) -> bool {
    let mut cause = error.source();
    while let Some(current) = cause {
        if let Some(io_error) = current.downcast_ref::<io::Error>()
            && io_error.kind() == io::ErrorKind::TimedOut
        {
            return true;
        }
        cause = current.source();
    }
    false
}

/// Copies bytes both ways between the client and the upstream once both
/// upgrades complete, until either side closes or the router stops.
fn splice(
    client: OnUpgrade,
    upstream_side: OnUpgrade,
    stopping: watch::Receiver<bool>,
    upstream: Upstream,
) {
    tokio::spawn(async move {
        let upgraded = tokio::time::timeout(UPGRADE_TIMEOUT, async {
            tokio::try_join!(client, upstream_side)
        })
        .await;
        let (client, upstream_side) = match upgraded {
            Ok(Ok(both)) => both,
            Ok(Err(error)) => {
                tracing::debug!(%error, workload = %upstream.workload, "an upgrade did not complete");
                return;
            }
            Err(_) => {
                tracing::debug!(workload = %upstream.workload, "an upgrade timed out");
                return;
            }
        };
        let mut client = TokioIo::new(client);
        let mut upstream_side = TokioIo::new(upstream_side);
        tokio::select! {
            copied = tokio::io::copy_bidirectional(&mut client, &mut upstream_side) => {
                if let Err(error) = copied {
                    tracing::debug!(%error, workload = %upstream.workload, "an upgraded connection broke");
                }
            }
            () = stopped(stopping) => {}
        }
    });
}
