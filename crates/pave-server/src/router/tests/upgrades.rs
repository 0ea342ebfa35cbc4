//! Upgraded connections (WebSocket) through the router.

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

use super::support::{TestRouter, bounded, echo_upstream, send_raw, websocket_echo_upstream};
use crate::router::{Route, RoutingTable};

#[tokio::test]
async fn router_passes_websockets_through() {
    bounded(async {
        let upstream = websocket_echo_upstream().await;
        let table = RoutingTable::new();
        table.set_environment(
            "pr-7",
            vec![Route::new("chat--pr-7.localhost", upstream, "chat")],
        );
        let router = TestRouter::start(table).await;

        let connection = TcpStream::connect(router.address).await.unwrap();
        let (mut socket, response) = tokio_tungstenite::client_async(
            "ws://chat--pr-7.localhost:7080/socket?room=1",
            connection,
        )
        .await
        .expect("the WebSocket handshake through the router failed");
        assert_eq!(response.status().as_u16(), 101);

        for round in 0..3 {
            socket
                .send(Message::text(format!("hello {round}")))
                .await
                .unwrap();
            let reply = socket.next().await.unwrap().unwrap();
            assert_eq!(reply, Message::text(format!("/socket hello {round}")));
        }
        socket
            .send(Message::Binary(vec![0_u8, 1, 2, 255].into()))
            .await
            .unwrap();
        let reply = socket.next().await.unwrap().unwrap();
        assert_eq!(reply, Message::Binary(vec![0_u8, 1, 2, 255].into()));
        socket.close(None).await.unwrap();
        router.stop().await;
    })
    .await;
}

#[tokio::test]
async fn router_passes_a_refused_upgrade_back_as_a_normal_response() {
    bounded(async {
        // A plain HTTP upstream ignores the upgrade and answers 200.
        let upstream = echo_upstream("plain").await;
        let table = RoutingTable::new();
        table.set_environment("dev", vec![Route::new("web--dev.localhost", upstream, "web")]);
        let router = TestRouter::start(table).await;
        let request = "GET /socket HTTP/1.1\r\nHost: web--dev.localhost\r\n\
                       Connection: Upgrade, close\r\nUpgrade: websocket\r\n\
                       Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
        let answer = send_raw(router.address, request).await;
        assert_eq!(answer.status, 200, "{answer:?}");
        let headers = &answer.json()["headers"];
        // The upgrade request itself was forwarded as one.
        assert_eq!(headers["upgrade"][0], "websocket");
        assert_eq!(headers["connection"][0], "upgrade");
        assert_eq!(headers["sec-websocket-key"][0], "dGhlIHNhbXBsZSBub25jZQ==");
        router.stop().await;
    })
    .await;
}
