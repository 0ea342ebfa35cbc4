//! The accept loop: one HTTP/1.1 connection task per client, bounded in
//! number, header size and idle time, with a graceful shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use super::RouterOptions;
use super::idle::IdleTimeout;
use super::proxy::Proxy;
use super::table::RoutingTable;

/// hyper refuses a smaller read buffer.
const SMALLEST_HEADER_BUFFER: usize = 8192;

pub(crate) async fn run(
    listener: TcpListener,
    table: RoutingTable,
    options: RouterOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let (stop, stopping) = watch::channel(false);
    let proxy = Proxy::new(table, &options, stopping.clone());
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout)
        .max_buf_size(options.max_header_bytes.max(SMALLEST_HEADER_BUFFER))
        .keep_alive(true);
    let http = Arc::new(http);
    let slots = Arc::new(Semaphore::new(options.max_connections.max(1)));
    let mut connections = JoinSet::new();
    if let Ok(address) = listener.local_addr() {
        tracing::info!(%address, "router listening");
    }
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = async {
                // Waiting for a free slot before accepting leaves extra
                // clients in the kernel's backlog instead of in memory.
                let slot = Arc::clone(&slots).acquire_owned().await;
                (slot, listener.accept().await)
            } => {
                let (slot, accepted) = accepted;
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Typically out of file descriptors: back off a little.
                        tracing::warn!(%error, "cannot accept a connection");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let io = TokioIo::new(IdleTimeout::new(stream, options.idle_timeout));
                let proxy = proxy.clone();
                let service = service_fn(move |request| {
                    let proxy = proxy.clone();
                    async move { Ok::<_, Infallible>(proxy.handle(request, peer).await) }
                });
                let http = Arc::clone(&http);
                let stopping = stopping.clone();
                connections.spawn(async move {
                    let _slot = slot;
                    let connection = http.serve_connection(io, service).with_upgrades();
                    tokio::pin!(connection);
                    let result = tokio::select! {
                        result = connection.as_mut() => result,
                        () = stopped(stopping) => {
                            connection.as_mut().graceful_shutdown();
                            connection.await
                        }
                    };
                    if let Err(error) = result {
                        tracing::debug!(%error, %peer, "client connection ended with an error");
                    }
                });
            }
        }
    }
    drop(listener);
    let _ = stop.send(true);
    let drained = tokio::time::timeout(options.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::info!(
            open = connections.len(),
            "closing the router's remaining connections"
        );
        connections.shutdown().await;
    }
    Ok(())
}

/// Resolves once the router is stopping (or its stop signal is gone).
pub(crate) async fn stopped(mut stopping: watch::Receiver<bool>) {
    // The guard `wait_for` returns is not `Send`: drop it right here.
    let _ = stopping.wait_for(|stopped| *stopped).await.is_ok();
}
