//! Starts `${{ values.name }}` on a free port and talks to it over real TCP
//! connections, in process and as the built binary.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::Duration;

use service::{serve, MAX_HEAD_BYTES, SERVICE_NAME};

/// The `${{ values.name }}` binary, built by Cargo for these tests. Kept on
/// one line whatever the length of the name.
#[rustfmt::skip]
const BINARY: &str = env!("CARGO_BIN_EXE_${{ values.name }}");

/// Serves on `127.0.0.1:0` in a background thread; returns the address.
fn start() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("local address");
    thread::spawn(move || serve(listener, SERVICE_NAME));
    address
}

/// Sends `request` as is and returns (status code, headers, body).
fn exchange(address: SocketAddr, request: &[u8]) -> (u16, String, String) {
    let mut stream = TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream.write_all(request).expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read answer");
    let (head, body) = answer.split_once("\r\n\r\n").expect("a complete response");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status code");
    (status, head.to_string(), body.to_string())
}

fn get(address: SocketAddr, path: &str) -> (u16, String, String) {
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: test\r\n\r\n");
    exchange(address, request.as_bytes())
}

#[test]
fn root_describes_the_service() {
    let (status, head, body) = get(start(), "/");
    assert_eq!(status, 200);
    assert!(head.contains("Content-Type: application/json"), "{head}");
    assert!(head.contains("Connection: close"), "{head}");
    assert!(
        body.contains(&format!("\"service\":\"{SERVICE_NAME}\"")),
        "{body}"
    );
}

#[test]
fn healthz_is_ok() {
    assert_eq!(get(start(), "/healthz"), get(start(), "/healthz?probe=1"));
    let (status, _head, body) = get(start(), "/healthz");
    assert_eq!((status, body.as_str()), (200, "ok\n"));
}

#[test]
fn unknown_paths_are_json_404s() {
    let (status, head, body) = get(start(), "/missing");
    assert_eq!(status, 404);
    assert!(head.contains("Content-Type: application/json"), "{head}");
    assert_eq!(body, r#"{"error":"not found","path":"/missing"}"#);
}

#[test]
fn bad_and_oversized_requests_are_refused() {
    let address = start();
    assert_eq!(exchange(address, b"hello\r\n\r\n").0, 400);
    let mut huge = b"GET / HTTP/1.1\r\nX-Padding: ".to_vec();
    huge.extend(vec![b'a'; MAX_HEAD_BYTES as usize]);
    huge.extend(b"\r\n\r\n");
    assert_eq!(exchange(address, &huge).0, 431);
}

#[test]
fn a_slow_client_does_not_block_others() {
    let address = start();
    // Connects and sends nothing: its thread waits while others are served.
    let _idle = TcpStream::connect(address).expect("connect");
    let handles: Vec<_> = (0..8)
        .map(|_| thread::spawn(move || get(address, "/healthz").0))
        .collect();
    for handle in handles {
        assert_eq!(handle.join().expect("request thread"), 200);
    }
}

/// Kills the child process when dropped, even if the test panics.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_binary_reads_port_from_the_environment() {
    let mut child = Running(
        Command::new(BINARY)
            .env("HOST", "127.0.0.1")
            .env("PORT", "0")
            .env("SERVICE_NAME", "from-env")
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the binary"),
    );
    let stderr = child.0.stderr.take().expect("stderr");
    let mut line = String::new();
    BufReader::new(stderr)
        .read_line(&mut line)
        .expect("read the first line");
    let address: SocketAddr = line
        .trim()
        .rsplit("http://")
        .next()
        .and_then(|address| address.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    let (status, _head, body) = get(address, "/");
    assert_eq!(status, 200);
    assert!(body.contains("\"service\":\"from-env\""), "{body}");
}
