//! Real parts for the router's tests: the router on 127.0.0.1:0, small
//! upstream servers, and a raw HTTP/1.1 client that sends exactly the bytes
//! a test writes.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::router::{RouterOptions, RoutingTable, serve_with_options};

/// Every test's whole body runs under this bound.
pub(super) async fn bounded<T>(test: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), test)
        .await
        .expect("the test took longer than 30 s")
}

/// The router under test.
pub(super) struct TestRouter {
    pub(super) address: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestRouter {
    pub(super) async fn start(table: RoutingTable) -> TestRouter {
        TestRouter::start_with(table, RouterOptions::default()).await
    }

    pub(super) async fn start_with(table: RoutingTable, options: RouterOptions) -> TestRouter {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve_with_options(listener, table, options, async {
            let _ = stopped.await;
        }));
        TestRouter {
            address,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops the router and waits for `serve` to return.
    pub(super) async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

impl Drop for TestRouter {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// An upstream that answers every request with a JSON description of it:
/// `{"name", "method", "target", "headers": {name: [values]}}`. It also
/// sends a hop-by-hop header pair the router must drop.
pub(super) async fn echo_upstream(name: &str) -> SocketAddr {
    async fn echo(State(name): State<Arc<str>>, request: Request) -> Response {
        let mut headers = Map::new();
        for (header, value) in request.headers() {
            let values = headers
                .entry(header.as_str().to_string())
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(values) = values {
                values.push(Value::String(
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                ));
            }
        }
        let target = request
            .uri()
            .path_and_query()
            .map(|target| target.as_str().to_string())
            .unwrap_or_default();
        let description = json!({
            "name": &*name,
            "method": request.method().as_str(),
            "target": target,
            "headers": headers,
        });
        (
            [
                ("connection", "x-upstream-hop"),
                ("x-upstream-hop", "dropped"),
                ("keep-alive", "timeout=5"),
                ("x-upstream-kept", "kept"),
            ],
            axum::Json(description),
        )
            .into_response()
    }
    let router = Router::new()
        .fallback(echo)
        .with_state(Arc::<str>::from(name));
    spawn_axum(router).await
}

/// What the event-stream upstream did, for the test to compare with what
/// the client saw.
#[derive(Clone, Default)]
pub(super) struct StreamLog {
    /// How many events the upstream has sent so far.
    pub(super) sent: Arc<AtomicUsize>,
    /// When each event was handed to the connection.
    pub(super) sent_at: Arc<std::sync::Mutex<Vec<Instant>>>,
}

/// An upstream that answers with server-sent events: `count` events,
/// `gap` apart (the first right away), or none when `count` is zero (the
/// stream then stays open and silent).
pub(super) async fn event_upstream(count: usize, gap: Duration) -> (SocketAddr, StreamLog) {
    let log = StreamLog::default();
    let handler_log = log.clone();
    let router = Router::new().fallback(move || {
        let log = handler_log.clone();
        async move {
            let (events, receiver) = mpsc::channel::<String>(1);
            tokio::spawn(async move {
                if count == 0 {
                    // Keep the stream open, saying nothing, until the client leaves.
                    events.closed().await;
                    return;
                }
                for number in 1..=count {
                    if number > 1 {
                        tokio::time::sleep(gap).await;
                    }
                    log.sent_at.lock().unwrap().push(Instant::now());
                    log.sent.fetch_add(1, Ordering::SeqCst);
                    if events
                        .send(format!("id: {number}\ndata: event {number}\n\n"))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            });
            let body = futures_util::stream::unfold(receiver, |mut receiver| async move {
                receiver
                    .recv()
                    .await
                    .map(|event| (Ok::<_, Infallible>(event), receiver))
            });
            (
                [
                    ("content-type", "text/event-stream"),
                    ("cache-control", "no-cache"),
                ],
                Body::from_stream(body),
            )
                .into_response()
        }
    });
    (spawn_axum(router).await, log)
}

/// A WebSocket upstream that echoes every text and binary message, and
/// prefixes text with the path it was reached at.
pub(super) async fn websocket_echo_upstream() -> SocketAddr {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::handshake::server::{
        Request as HandshakeRequest, Response as HandshakeResponse,
    };

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut path = String::new();
                // The handshake callback's signature is tungstenite's.
                #[allow(clippy::result_large_err)]
                let callback = |request: &HandshakeRequest, response: HandshakeResponse| {
                    path = request.uri().path().to_string();
                    Ok(response)
                };
                let Ok(mut socket) = tokio_tungstenite::accept_hdr_async(stream, callback).await
                else {
                    return;
                };
                while let Some(Ok(message)) = socket.next().await {
                    let reply = match message {
                        Message::Text(text) => Message::text(format!("{path} {}", text.as_str())),
                        Message::Binary(bytes) => Message::Binary(bytes),
                        Message::Close(_) => break,
                        _ => continue,
                    };
                    if socket.send(reply).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    address
}

async fn spawn_axum(router: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    address
}

/// A loopback address where nothing listens (bound, then released).
pub(super) async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    address
}

/// A response as read off the wire.
#[derive(Debug)]
pub(super) struct RawResponse {
    pub(super) status: u16,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: String,
}

impl RawResponse {
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(header, _)| header.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub(super) fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.body))
    }
}

/// `GET target` with `Host: host`, on a connection closed after the answer.
pub(super) fn get(host: &str, target: &str) -> String {
    format!("GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
}

/// Sends `request` as written and reads the answer until the router closes
/// the connection (so send `Connection: close`).
pub(super) async fn send_raw(router: SocketAddr, request: &str) -> RawResponse {
    let mut stream = TcpStream::connect(router).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).await.unwrap();
    parse_response(&bytes)
}

fn parse_response(bytes: &[u8]) -> RawResponse {
    let text = String::from_utf8_lossy(bytes);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no complete response head in {text:?}"));
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    RawResponse {
        status,
        headers,
        body: body.to_string(),
    }
}
