//! `${{ values.name }}`: a small HTTP/1.1 service on the standard library.
//!
//! - `GET /` answers JSON describing the service.
//! - `GET /healthz` answers `ok` (Pave's readiness and liveness probes).
//! - Anything else is a JSON 404 (or 405 for another method on a known path).
//!
//! Each connection gets its own thread and one response, then is closed
//! (`Connection: close`). The request line and headers are read with a size
//! limit and a timeout, so a slow or oversized client cannot tie up memory.

use std::env;
use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

/// The name the service reports when `SERVICE_NAME` is not set.
pub const SERVICE_NAME: &str = "${{ values.name }}";
/// Where the service listens when `HOST` is not set.
pub const DEFAULT_HOST: &str = "127.0.0.1";
/// The port when `PORT` is not set.
pub const DEFAULT_PORT: u16 = ${{ values.port }};
/// The most bytes accepted for the request line and headers together.
pub const MAX_HEAD_BYTES: u64 = 8 * 1024;
/// How long a client may take to send its request, or to read the answer.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the service listens and what it calls itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Interface to listen on, e.g. `127.0.0.1` or `0.0.0.0`.
    pub host: String,
    /// TCP port; `0` picks a free one.
    pub port: u16,
    /// Name reported by `GET /`.
    pub service_name: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            host: DEFAULT_HOST.to_string(),
            port: DEFAULT_PORT,
            service_name: SERVICE_NAME.to_string(),
        }
    }
}

impl Config {
    /// Reads `HOST`, `PORT` and `SERVICE_NAME` from the process environment.
    pub fn from_env() -> Result<Config, String> {
        Config::from_lookup(|key| env::var(key).ok())
    }

    /// Reads the settings through `lookup`; unset or empty means the default.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, String> {
        let set = |key: &str| lookup(key).filter(|value| !value.trim().is_empty());
        let mut config = Config::default();
        if let Some(host) = set("HOST") {
            config.host = host.trim().to_string();
        }
        if let Some(port) = set("PORT") {
            config.port = port
                .trim()
                .parse()
                .map_err(|_| format!("PORT must be a number between 0 and 65535, got `{port}`"))?;
        }
        if let Some(name) = set("SERVICE_NAME") {
            config.service_name = name;
        }
        Ok(config)
    }

    /// The address to bind, e.g. `127.0.0.1:${{ values.port }}` or `[::1]:${{ values.port }}`.
    pub fn address(&self) -> String {
        if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// An HTTP response before it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code, e.g. 200.
    pub status: u16,
    /// `Content-Type` header value.
    pub content_type: &'static str,
    /// Extra headers, e.g. `Allow`.
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: String,
}

impl Response {
    fn text(status: u16, body: &str) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            headers: Vec::new(),
            body: body.to_string(),
        }
    }

    fn json(status: u16, body: String) -> Response {
        Response {
            status,
            content_type: "application/json",
            headers: Vec::new(),
            body,
        }
    }

    fn error(status: u16, message: &str) -> Response {
        Response::json(status, format!("{{\"error\":{}}}", json_string(message)))
    }
}

/// The answer to `method` on `target` (the path, with an optional query).
pub fn route(service_name: &str, method: &str, target: &str) -> Response {
    let path = target.split(['?', '#']).next().unwrap_or(target);
    let known = matches!(path, "/" | "/healthz");
    if known && method != "GET" && method != "HEAD" {
        let mut response = Response::error(405, "method not allowed");
        response.headers.push(("Allow", "GET, HEAD".to_string()));
        return response;
    }
    match path {
        "/" => Response::json(
            200,
            format!(
                "{{\"service\":{},\"message\":{}}}",
                json_string(service_name),
                json_string(&format!("Hello from {service_name}!"))
            ),
        ),
        "/healthz" => Response::text(200, "ok\n"),
        _ => Response::json(
            404,
            format!("{{\"error\":\"not found\",\"path\":{}}}", json_string(path)),
        ),
    }
}

/// `text` as a JSON string literal, quotes included.
pub fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            control if u32::from(control) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(control));
            }
            other => out.push(other),
        }
    }
    out.push('"');
    out
}

/// The request line of a request whose head was read completely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLine {
    /// E.g. `GET`.
    pub method: String,
    /// E.g. `/healthz?verbose=1`.
    pub target: String,
}

/// Why a request head could not be read.
#[derive(Debug)]
pub enum HeadError {
    /// The client closed the connection before sending anything.
    Closed,
    /// Not an HTTP/1.x request.
    Malformed,
    /// Request line and headers are longer than [`MAX_HEAD_BYTES`].
    TooLarge,
    /// Reading failed (including a timeout).
    Io(io::Error),
}

/// Reads the request line and headers (up to the empty line) from `reader`,
/// reading at most [`MAX_HEAD_BYTES`]. Headers are skipped: no endpoint uses
/// them, and there is no request body to read.
pub fn read_head(reader: impl Read) -> Result<RequestLine, HeadError> {
    let mut reader = BufReader::new(reader.take(MAX_HEAD_BYTES));
    let mut line = Vec::new();
    let mut request_line: Option<RequestLine> = None;
    loop {
        line.clear();
        let read = reader.read_until(b'\n', &mut line).map_err(HeadError::Io)?;
        if read == 0 || !line.ends_with(b"\n") {
            // End of input before the empty line that ends the head.
            return Err(if reader.get_ref().limit() == 0 {
                HeadError::TooLarge
            } else if request_line.is_none() && line.is_empty() {
                HeadError::Closed
            } else {
                HeadError::Malformed
            });
        }
        let text = std::str::from_utf8(&line).map_err(|_| HeadError::Malformed)?;
        let text = text.trim_end_matches(['\r', '\n']);
        match &request_line {
            None => request_line = Some(parse_request_line(text)?),
            Some(_) if text.is_empty() => break,
            Some(_) if !text.contains(':') => return Err(HeadError::Malformed),
            Some(_) => {}
        }
    }
    request_line.ok_or(HeadError::Malformed)
}

fn parse_request_line(text: &str) -> Result<RequestLine, HeadError> {
    let mut parts = text.split(' ');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(method), Some(target), Some(version), None)
            if !method.is_empty()
                && method.bytes().all(|byte| byte.is_ascii_uppercase())
                && target.starts_with('/')
                && version.starts_with("HTTP/1.") =>
        {
            Ok(RequestLine {
                method: method.to_string(),
                target: target.to_string(),
            })
        }
        _ => Err(HeadError::Malformed),
    }
}

/// Writes `response` as HTTP/1.1 with `Connection: close`; no body for `HEAD`.
pub fn write_response(mut out: impl Write, response: &Response, head: bool) -> io::Result<()> {
    let reason = match response.status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        _ => "Unknown",
    };
    let mut text = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        response.status,
        response.content_type,
        response.body.len()
    );
    for (name, value) in &response.headers {
        let _ = write!(text, "{name}: {value}\r\n");
    }
    text.push_str("\r\n");
    if !head {
        text.push_str(&response.body);
    }
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Answers one connection: reads one request, writes one response, closes.
pub fn handle(stream: TcpStream, service_name: &str) -> io::Result<()> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let (response, head) = match read_head(&stream) {
        Ok(request) => (
            route(service_name, &request.method, &request.target),
            request.method == "HEAD",
        ),
        Err(HeadError::Closed) => return Ok(()),
        Err(HeadError::Malformed) => return refuse(&stream, 400, "bad request"),
        Err(HeadError::TooLarge) => return refuse(&stream, 431, "request head too large"),
        Err(HeadError::Io(error)) => return Err(error),
    };
    write_response(&stream, &response, head)
}

/// Answers a request that could not be read, then reads and drops what the
/// client is still sending for a moment: closing a socket with unread input
/// resets the connection, and the client could lose the answer.
fn refuse(stream: &TcpStream, status: u16, message: &str) -> io::Result<()> {
    write_response(stream, &Response::error(status, message), false)?;
    stream.shutdown(Shutdown::Write)?;
    stream.set_read_timeout(Some(Duration::from_secs(1)))?;
    let _ = io::copy(&mut Read::take(stream, 64 * 1024), &mut io::sink());
    Ok(())
}

/// Serves connections from `listener` forever, one thread per connection.
/// Returns only if accepting fails for good.
pub fn serve(listener: TcpListener, service_name: &str) -> io::Result<()> {
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                let name = service_name.to_string();
                thread::spawn(move || {
                    if let Err(error) = handle(stream, &name) {
                        eprintln!("{name}: connection failed: {error}");
                    }
                });
            }
            // E.g. the client reset the connection before it was accepted, or
            // too many open files: log it and keep serving.
            Err(error) => {
                eprintln!("{service_name}: accept failed: {error}");
                thread::sleep(Duration::from_millis(10));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |key| {
            pairs
                .iter()
                .find(|(name, _)| *name == key)
                .map(|(_, value)| value.to_string())
        }
    }

    #[test]
    fn config_defaults_and_overrides() {
        assert_eq!(Config::from_lookup(lookup(&[])).unwrap(), Config::default());
        let config = Config::from_lookup(lookup(&[
            ("HOST", "0.0.0.0"),
            ("PORT", "9000"),
            ("SERVICE_NAME", "other"),
        ]))
        .unwrap();
        assert_eq!(config.address(), "0.0.0.0:9000");
        assert_eq!(config.service_name, "other");
        assert_eq!(
            Config::from_lookup(lookup(&[("PORT", "")])).unwrap().port,
            DEFAULT_PORT
        );
    }

    #[test]
    fn bad_port_is_refused() {
        for port in ["http", "-1", "65536"] {
            let error = Config::from_lookup(lookup(&[("PORT", port)])).unwrap_err();
            assert!(error.contains("PORT"), "{error}");
        }
    }

    #[test]
    fn ipv6_hosts_are_bracketed() {
        let config = Config::from_lookup(lookup(&[("HOST", "::1"), ("PORT", "80")])).unwrap();
        assert_eq!(config.address(), "[::1]:80");
    }

    #[test]
    fn routes() {
        let root = route("svc", "GET", "/");
        assert_eq!(root.status, 200);
        assert_eq!(
            root.body,
            r#"{"service":"svc","message":"Hello from svc!"}"#
        );
        assert_eq!(route("svc", "GET", "/healthz?x=1").body, "ok\n");
        assert_eq!(route("svc", "HEAD", "/healthz").status, 200);
        assert_eq!(route("svc", "GET", "/nope").status, 404);
        assert_eq!(route("svc", "POST", "/").status, 405);
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_string("a\"b\\c\n\u{1}é"), r#""a\"b\\c\n\u0001é""#);
    }

    #[test]
    fn reads_a_request_head() {
        let request = read_head(&b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"[..]).unwrap();
        assert_eq!(request.method, "GET");
        assert_eq!(request.target, "/healthz");
    }

    #[test]
    fn refuses_bad_heads() {
        assert!(matches!(read_head(&b""[..]), Err(HeadError::Closed)));
        assert!(matches!(
            read_head(&b"nonsense\r\n\r\n"[..]),
            Err(HeadError::Malformed)
        ));
        assert!(matches!(
            read_head(&b"GET / HTTP/1.1\r\nHost: x\r\n"[..]),
            Err(HeadError::Malformed)
        ));
        let mut huge = b"GET / HTTP/1.1\r\n".to_vec();
        huge.extend(vec![b'a'; MAX_HEAD_BYTES as usize]);
        assert!(matches!(read_head(&huge[..]), Err(HeadError::TooLarge)));
    }

    #[test]
    fn writes_responses() {
        let mut out = Vec::new();
        write_response(&mut out, &route("svc", "GET", "/healthz"), false).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(text.contains("Connection: close\r\n"), "{text}");
        assert!(text.ends_with("\r\n\r\nok\n"), "{text}");
    }
}
