//! Plain HTTP through the router: routing, headers, error pages, prefixes,
//! switching.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::Instant;

use super::support::{TestRouter, bounded, closed_port, echo_upstream, get, send_raw};
use crate::router::{Route, RouterOptions, RoutingTable, host_for};

#[tokio::test]
async fn router_sends_each_environment_to_its_own_upstream() {
    bounded(async {
        let dev = echo_upstream("dev").await;
        let preview = echo_upstream("pr-7").await;
        let table = RoutingTable::new();
        let dev_host = host_for("web", "dev").unwrap();
        let preview_host = host_for("web", "pr-7").unwrap();
        table.set_environment("dev", vec![Route::new(&dev_host, dev, "web")]);
        table.set_environment("pr-7", vec![Route::new(&preview_host, preview, "web")]);
        let router = TestRouter::start(table).await;

        let answer = send_raw(
            router.address,
            &get("web--dev.localhost:7080", "/orders/42?page=2&q=a%20b"),
        )
        .await;
        assert_eq!(answer.status, 200, "{answer:?}");
        let echoed = answer.json();
        assert_eq!(echoed["name"], "dev");
        assert_eq!(echoed["method"], "GET");
        assert_eq!(echoed["target"], "/orders/42?page=2&q=a%20b");
        assert_eq!(echoed["headers"]["host"][0], "web--dev.localhost:7080");

        let answer = send_raw(router.address, &get("WEB--PR-7.localhost", "/")).await;
        assert_eq!(answer.status, 200, "{answer:?}");
        assert_eq!(answer.json()["name"], "pr-7");

        // A request body goes through, whatever the method.
        let post = "POST /submit HTTP/1.1\r\nHost: web--pr-7.localhost\r\n\
                    Content-Type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";
        let answer = send_raw(router.address, post).await;
        assert_eq!(answer.status, 200, "{answer:?}");
        assert_eq!(answer.json()["method"], "POST");
        assert_eq!(answer.json()["headers"]["content-length"][0], "5");
        router.stop().await;
    })
    .await;
}

#[tokio::test]
async fn router_forwards_headers_and_drops_hop_by_hop_ones() {
    bounded(async {
        let upstream = echo_upstream("dev").await;
        let table = RoutingTable::new();
        table.set_environment(
            "dev",
            vec![Route::new("web--dev.localhost", upstream, "web")],
        );
        let router = TestRouter::start(table).await;

        let request = "GET /headers HTTP/1.1\r\n\
                       Host: web--dev.localhost:7080\r\n\
                       Connection: close, X-Hop\r\n\
                       X-Hop: secret\r\n\
                       Keep-Alive: timeout=5\r\n\
                       Proxy-Authorization: Basic Zm9vOmJhcg==\r\n\
                       Proxy-Connection: keep-alive\r\n\
                       TE: trailers\r\n\
                       Trailer: X-Checksum\r\n\
                       Upgrade: h2c\r\n\
                       X-Custom: kept\r\n\
                       Accept: text/plain\r\n\
                       Cookie: session=1\r\n\
                       X-Forwarded-For: 192.0.2.7\r\n\r\n";
        let answer = send_raw(router.address, request).await;
        assert_eq!(answer.status, 200, "{answer:?}");
        let headers = &answer.json()["headers"];
        assert_eq!(headers["x-custom"][0], "kept");
        assert_eq!(headers["accept"][0], "text/plain");
        assert_eq!(headers["cookie"][0], "session=1");
        for dropped in [
            "x-hop",
            "keep-alive",
            "proxy-authorization",
            "proxy-connection",
            "te",
            "trailer",
            "upgrade",
        ] {
            assert!(
                headers.get(dropped).is_none(),
                "{dropped} reached the upstream: {headers}"
            );
        }
        // Connection: the router's own, not the client's list.
        assert!(
            headers["connection"].as_array().is_none_or(|values| values
                .iter()
                .all(|value| !value.as_str().unwrap_or_default().contains("X-Hop"))),
            "{headers}"
        );
        assert_eq!(headers["x-forwarded-for"][0], "192.0.2.7, 127.0.0.1");
        assert_eq!(headers["x-forwarded-host"][0], "web--dev.localhost:7080");
        assert_eq!(headers["x-forwarded-proto"][0], "http");
        assert_eq!(
            headers["forwarded"][0],
            "for=127.0.0.1;host=\"web--dev.localhost:7080\";proto=http"
        );

        // And on the way back: the upstream's hop-by-hop headers stay behind.
        assert_eq!(answer.header("x-upstream-kept"), Some("kept"));
        assert_eq!(answer.header("x-upstream-hop"), None, "{answer:?}");
        assert_eq!(answer.header("keep-alive"), None, "{answer:?}");
        router.stop().await;
    })
    .await;
}

#[tokio::test]
async fn router_takes_the_host_from_an_absolute_form_target() {
    bounded(async {
        let dev = echo_upstream("dev").await;
        let table = RoutingTable::new();
        table.set_environment("dev", vec![Route::new("web--dev.localhost", dev, "web")]);
        let router = TestRouter::start(table).await;
        let request = "GET http://web--dev.localhost:7080/path?x=1 HTTP/1.1\r\n\
                       Host: somewhere-else.localhost\r\nConnection: close\r\n\r\n";
        let answer = send_raw(router.address, request).await;
        assert_eq!(answer.status, 200, "{answer:?}");
        let echoed = answer.json();
        assert_eq!(echoed["target"], "/path?x=1");
        assert_eq!(echoed["headers"]["host"][0], "web--dev.localhost:7080");
        router.stop().await;
    })
    .await;
}

#[tokio::test]
async fn router_answers_unknown_hosts_with_a_404_page() {
    bounded(async {
        let router = TestRouter::start(RoutingTable::new()).await;
        let answer = send_raw(router.address, &get("api--gone.localhost:7080", "/x")).await;
        assert_eq!(answer.status, 404);
        assert_eq!(
            answer.header("content-type"),
            Some("text/html; charset=utf-8")
        );
        assert!(
            answer
                .body
                .contains("No environment answers at api--gone.localhost"),
            "{}",
            answer.body
        );
        assert!(
            answer
                .body
                .contains("&lt;workload&gt;--&lt;environment&gt;.localhost")
        );
        // Self-contained: no scripts, stylesheets or images to fetch.
        assert!(!answer.body.contains("src=") && !answer.body.contains("<link"));
        assert!(
            answer.body.len() < 2048,
            "the page grew to {} bytes",
            answer.body.len()
        );

        // The host is escaped, never echoed as markup.
        let answer = send_raw(router.address, &get("<script>x</script>", "/")).await;
        assert_eq!(answer.status, 404);
        assert!(!answer.body.contains("<script>"), "{}", answer.body);
        router.stop().await;
    })
    .await;
}

#[tokio::test]
async fn router_refuses_requests_without_a_host() {
    bounded(async {
        let router = TestRouter::start(RoutingTable::new()).await;
        let answer = send_raw(
            router.address,
            "GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert_eq!(answer.status, 400, "{answer:?}");
        assert!(answer.body.contains("Host"), "{}", answer.body);
        let answer = send_raw(router.address, "GET / HTTP/1.0\r\n\r\n").await;
        assert_eq!(answer.status, 400, "{answer:?}");
        let twice =
            "GET / HTTP/1.1\r\nHost: a.localhost\r\nHost: b.localhost\r\nConnection: close\r\n\r\n";
        assert_eq!(send_raw(router.address, twice).await.status, 400);
        let connect =
            "CONNECT web--dev.localhost:443 HTTP/1.1\r\nHost: web--dev.localhost:443\r\nConnection: close\r\n\r\n";
        let answer = send_raw(router.address, connect).await;
        assert_eq!(answer.status, 405, "{answer:?}");
        router.stop().await;
    })
    .await;
}

#[tokio::test]
async fn router_names_the_workload_when_its_upstream_is_down() {
    bounded(async {
        let table = RoutingTable::new();
        table.set_environment(
            "pr-7",
            vec![Route::new(
                "web--pr-7.localhost",
                closed_port().await,
                "web",
            )],
        );
        let router = TestRouter::start(table).await;
        let answer = send_raw(router.address, &get("web--pr-7.localhost", "/")).await;
        assert_eq!(answer.status, 502, "{answer:?}");
        assert!(
            answer
                .body
                .contains("web in pr-7 is not running or not ready"),
            "{}",
            answer.body
        );
        router.stop().await;
    })
    .await;
}

#[tokio::test]
async fn router_answers_504_when_connecting_takes_too_long() {
    bounded(async {
        // A listener that never accepts, with a full backlog: the kernel
        // drops further SYNs, so connecting hangs (on loopback only).
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let stuck = socket.listen(0).unwrap();
        let stuck_address = stuck.local_addr().unwrap();
        let mut fillers = Vec::new();
        for _ in 0..4 {
            if let Ok(Ok(stream)) = tokio::time::timeout(
                Duration::from_millis(200),
                TcpStream::connect(stuck_address),
            )
            .await
            {
                fillers.push(stream);
            }
        }
        let table = RoutingTable::new();
        table.set_environment(
            "dev",
            vec![Route::new("slow--dev.localhost", stuck_address, "slow")],
        );
        let options = RouterOptions {
            connect_timeout: Duration::from_millis(400),
            ..RouterOptions::default()
        };
        let router = TestRouter::start_with(table, options).await;
        let started = Instant::now();
        let answer = send_raw(router.address, &get("slow--dev.localhost", "/")).await;
        assert_eq!(answer.status, 504, "{answer:?}");
        assert!(
            answer.body.contains("slow in dev did not answer in time"),
            "{}",
            answer.body
        );
        assert!(started.elapsed() < Duration::from_secs(5));
        drop(fillers);
        drop(stuck);
        router.stop().await;
    })
    .await;
}

#[tokio::test]
async fn router_serves_prefix_routes_longest_first() {
    bounded(async {
        let front = echo_upstream("front").await;
        let api = echo_upstream("api").await;
        let api_v2 = echo_upstream("api-v2").await;
        let table = RoutingTable::new();
        table.set_environment(
            "staging",
            vec![
                Route::new("shop.localhost", front, "front"),
                Route::new("shop.localhost", api, "api").with_path_prefix("/api"),
                Route::new("shop.localhost", api_v2, "api-v2").with_path_prefix("/api/v2"),
            ],
        );
        let router = TestRouter::start(table).await;
        for (target, expected) in [
            ("/", "front"),
            ("/apix", "front"),
            ("/api", "api"),
            ("/api/v1/users?x=1", "api"),
            ("/api/v2", "api-v2"),
            ("/api/v2/users?x=1", "api-v2"),
        ] {
            let answer = send_raw(router.address, &get("shop.localhost:7080", target)).await;
            assert_eq!(answer.status, 200, "{target}: {answer:?}");
            let echoed = answer.json();
            assert_eq!(echoed["name"], expected, "{target}");
            // The prefix is not stripped.
            assert_eq!(echoed["target"], target);
        }
        router.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn router_switches_an_environment_without_failing_requests() {
    bounded(async {
        let blue = echo_upstream("blue").await;
        let green = echo_upstream("green").await;
        let routes_to = |address| {
            vec![
                Route::new("web--dev.localhost", address, "web"),
                Route::new("api--dev.localhost", address, "api"),
                Route::new("web--dev.localhost", address, "web").with_path_prefix("/static"),
            ]
        };
        let table = RoutingTable::new();
        table.set_environment("dev", routes_to(blue));
        table.set_environment(
            "other",
            vec![Route::new("web--other.localhost", blue, "web")],
        );
        let router = TestRouter::start(table.clone()).await;

        let done = Arc::new(AtomicBool::new(false));
        let switcher = {
            let (table, done) = (table.clone(), Arc::clone(&done));
            tokio::spawn(async move {
                let mut switches = 0_u32;
                while !done.load(Ordering::SeqCst) {
                    let next = if switches.is_multiple_of(2) {
                        green
                    } else {
                        blue
                    };
                    table.set_environment("dev", routes_to(next));
                    switches += 1;
                    tokio::time::sleep(Duration::from_micros(200)).await;
                }
                switches
            })
        };
        let mut clients = tokio::task::JoinSet::new();
        for client in 0..8 {
            let address = router.address;
            clients.spawn(async move {
                let mut names = Vec::new();
                for request in 0..25 {
                    let (host, target) = match (client + request) % 3 {
                        0 => ("web--dev.localhost", "/"),
                        1 => ("api--dev.localhost", "/x"),
                        _ => ("web--dev.localhost", "/static/app.js"),
                    };
                    let answer = send_raw(address, &get(host, target)).await;
                    assert_eq!(
                        answer.status, 200,
                        "{host}{target} during a switch: {answer:?}"
                    );
                    names.push(
                        answer.json()["name"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string(),
                    );
                }
                names
            });
        }
        let mut answered = Vec::new();
        while let Some(names) = clients.join_next().await {
            answered.extend(names.unwrap());
        }
        done.store(true, Ordering::SeqCst);
        let switches = switcher.await.unwrap();
        assert_eq!(answered.len(), 200);
        assert!(
            answered
                .iter()
                .all(|name| name == "blue" || name == "green")
        );
        assert!(
            switches > 10,
            "only {switches} switches happened during the requests"
        );
        router.stop().await;
    })
    .await;
}
