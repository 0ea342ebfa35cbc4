//! Long responses through the router: event streams, idle limits, shutdown.

use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::support::{TestRouter, bounded, event_upstream, get};
use crate::router::{Route, RouterOptions, RoutingTable};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn router_streams_server_sent_events_as_they_come() {
    bounded(async {
        // Generous, so a loaded machine still tells streaming from buffering.
        let gap = Duration::from_millis(500);
        let (upstream, log) = event_upstream(3, gap).await;
        let table = RoutingTable::new();
        table.set_environment(
            "dev",
            vec![Route::new("events--dev.localhost", upstream, "events")],
        );
        let router = TestRouter::start(table).await;

        let mut stream = TcpStream::connect(router.address).await.unwrap();
        stream
            .write_all(get("events--dev.localhost", "/stream").as_bytes())
            .await
            .unwrap();
        let mut seen = String::new();
        let mut buffer = [0_u8; 1024];
        let mut arrivals = Vec::new();
        while arrivals.len() < 3 {
            let read = stream.read(&mut buffer).await.unwrap();
            assert!(read > 0, "the stream ended early: {seen}");
            seen.push_str(&String::from_utf8_lossy(&buffer[..read]));
            for number in (arrivals.len() + 1)..=3 {
                if seen.contains(&format!("data: event {number}\n\n")) {
                    // What the upstream had sent when this event arrived.
                    arrivals.push((Instant::now(), log.sent.load(Ordering::SeqCst)));
                }
            }
        }
        assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");
        assert!(
            seen.to_ascii_lowercase()
                .contains("content-type: text/event-stream")
        );
        let sent_at = log.sent_at.lock().unwrap().clone();
        // Each event reached the client before the upstream sent the next
        // one: nothing was held back to be buffered.
        assert_eq!(
            arrivals[0].1, 1,
            "event 1 arrived only after event {} was sent",
            arrivals[0].1
        );
        assert_eq!(
            arrivals[1].1, 2,
            "event 2 arrived only after event {} was sent",
            arrivals[1].1
        );
        // And loosely on time: the first event well before the next is sent.
        let delay = arrivals[0].0.duration_since(sent_at[0]);
        assert!(delay < Duration::from_millis(400), "event 1 took {delay:?}");
        router.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn router_shutdown_closes_open_streams() {
    bounded(async {
        let (upstream, _) = event_upstream(0, Duration::ZERO).await;
        let table = RoutingTable::new();
        table.set_environment(
            "dev",
            vec![Route::new("events--dev.localhost", upstream, "events")],
        );
        let options = RouterOptions {
            shutdown_grace: Duration::from_millis(300),
            ..RouterOptions::default()
        };
        let router = TestRouter::start_with(table, options).await;
        let mut stream = TcpStream::connect(router.address).await.unwrap();
        stream
            .write_all(get("events--dev.localhost", "/").as_bytes())
            .await
            .unwrap();
        let mut buffer = [0_u8; 512];
        let read = stream.read(&mut buffer).await.unwrap();
        assert!(String::from_utf8_lossy(&buffer[..read]).starts_with("HTTP/1.1 200"));
        let started = Instant::now();
        router.stop().await;
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "shutdown waited {:?}",
            started.elapsed()
        );
        // The client sees its connection end.
        let mut rest = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut rest))
            .await
            .expect("the connection stayed open after shutdown");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn router_closes_connections_that_stay_idle() {
    bounded(async {
        let (upstream, _) = event_upstream(0, Duration::ZERO).await;
        let table = RoutingTable::new();
        table.set_environment(
            "dev",
            vec![Route::new("events--dev.localhost", upstream, "events")],
        );
        let options = RouterOptions {
            idle_timeout: Duration::from_millis(300),
            header_read_timeout: Duration::from_millis(300),
            ..RouterOptions::default()
        };
        let router = TestRouter::start_with(table, options).await;

        // A quiet event stream is cut after the idle timeout.
        let mut stream = TcpStream::connect(router.address).await.unwrap();
        stream
            .write_all(get("events--dev.localhost", "/").as_bytes())
            .await
            .unwrap();
        let started = Instant::now();
        let mut everything = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut everything))
            .await
            .expect("a silent stream was kept open")
            .ok();
        assert!(started.elapsed() >= Duration::from_millis(250));

        // A client that never finishes its request head is dropped too.
        let mut stream = TcpStream::connect(router.address).await.unwrap();
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: ev")
            .await
            .unwrap();
        let mut rest = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest))
            .await
            .expect("a half-sent request head was kept open")
            .ok();
        router.stop().await;
    })
    .await;
}
