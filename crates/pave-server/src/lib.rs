//! Pave's HTTP edge: the API routes, their authorization gate, metrics,
//! request ids, logs, and graceful shutdown.
//!
//! Handlers are thin: parse, call `pave-access` (or later an engine), render.
//! Every route but the health probes declares a Cedar action in
//! [`routes::DECLARED`]; the gate denies anything that does not.
//!
//! Architecture invariant: only this crate knows HTTP. It never talks to the
//! database except through the crates below it.

pub mod auth;
mod entity_access;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod portal;
pub mod request_id;
pub mod router;
pub mod routes;
pub mod state;
mod task_events;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use pave_access::Access;
use pave_catalog::Catalog;
use pave_deploy::{Deployer, Ingress, IngressRoute};
use pave_scaffold::tasks::Scaffolder;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::request_id::RequestId;
use crate::state::AppState;

/// Settings the server takes from configuration.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// The largest request body accepted, in bytes.
    pub body_limit_bytes: usize,
    /// How often to look for policy changes made by other replicas.
    pub policy_refresh: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            body_limit_bytes: 2 * 1024 * 1024,
            policy_refresh: Duration::from_secs(10),
        }
    }
}

/// Errors that stop the server from starting.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot set up metrics: {0}")]
    Metrics(String),
    #[error("cannot describe the API: {0}")]
    OpenApi(String),
    #[error("the server stopped with an error: {0}")]
    Io(#[from] std::io::Error),
}

/// The engines the server fronts; cheap to clone.
#[derive(Clone)]
pub struct Engines {
    pub catalog: Arc<Catalog>,
    pub scaffolder: Scaffolder,
    pub deployer: Deployer,
    /// Pave's router table, which the deployer fills through [`Ingress`].
    pub routes: router::RoutingTable,
    /// Webhook secrets and preview settings.
    pub webhooks: Arc<WebhookSettings>,
}

/// What webhooks need: the shared secrets and how previews are made.
#[derive(Debug, Clone, Default)]
pub struct WebhookSettings {
    /// GitHub's webhook secret (HMAC-SHA256 of the body).
    pub github_secret: Option<String>,
    /// GitLab's secret token (compared in constant time).
    pub gitlab_token: Option<String>,
    /// The environment previews start from.
    pub preview_base: String,
    /// How long a preview lives after its last update.
    pub preview_ttl_seconds: u64,
}

/// The router is the deployer's ingress: routes of active deployments.
impl Ingress for router::RoutingTable {
    fn set_environment(&self, environment: &str, routes: Vec<IngressRoute>) {
        let routes = routes
            .into_iter()
            .map(|route| {
                router::Route::new(
                    route.host,
                    std::net::SocketAddr::from(([127, 0, 0, 1], route.port)),
                    route.workload,
                )
                .with_path_prefix(route.path_prefix)
            })
            .collect();
        router::RoutingTable::set_environment(self, environment, routes);
    }

    fn remove_environment(&self, environment: &str) {
        router::RoutingTable::remove_environment(self, environment);
    }
}

/// Builds the application: every route with its layers.
pub fn app(
    access: Arc<Access>,
    engines: Engines,
    options: &ServerOptions,
) -> Result<(Router, AppState), ServerError> {
    let metrics = metrics::handle().map_err(ServerError::Metrics)?;
    let mut state = AppState {
        access,
        catalog: engines.catalog,
        scaffolder: engines.scaffolder,
        deployer: engines.deployer,
        router_table: engines.routes,
        webhooks: engines.webhooks,
        metrics,
        routes: Arc::new(routes::RouteTable::declared()),
        openapi: Arc::new(String::new()),
    };
    let (router, document) = routes::build(state.clone());
    state.openapi = Arc::new(
        document
            .to_pretty_json()
            .map_err(|error| ServerError::OpenApi(error.to_string()))?,
    );
    let router = router
        .merge(portal::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state.clone())
        .layer(DefaultBodyLimit::max(options.body_limit_bytes))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<_>| {
                    let id = request
                        .extensions()
                        .get::<RequestId>()
                        .map(|id| id.0.as_str())
                        .unwrap_or("");
                    tracing::info_span!("request", request_id = %id, method = %request.method(), path = %request.uri().path())
                })
                .on_request(())
                .on_response(
                    |response: &Response, latency: Duration, _span: &tracing::Span| {
                        tracing::info!(status = response.status().as_u16(), latency_ms = latency.as_secs_f64() * 1000.0, "served");
                    },
                ),
        )
        .layer(axum::middleware::from_fn(request_id::assign))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::internal("the server met an unexpected error; it is logged with the request id")
                .into_response()
        }));
    Ok((router, state))
}

async fn not_found(uri: axum::http::Uri) -> Response {
    ::metrics::counter!(metrics::REQUESTS, "method" => "any", "route" => "unmatched", "status" => "404").increment(1);
    // People get a page; API clients get Backstage's JSON error.
    if portal::is_portal_path(uri.path()) {
        return portal::not_found_page();
    }
    ApiError::not_found("no such route; see /api/openapi.json for the API").into_response()
}

async fn method_not_allowed(uri: axum::http::Uri) -> Response {
    if portal::is_portal_path(uri.path()) {
        return portal::method_not_allowed_page();
    }
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowedError",
        "this route does not answer that method; see /api/openapi.json",
    )
    .into_response()
}

/// Where the server listens: the API and portal, and Pave's router.
pub struct Listeners {
    pub api: TcpListener,
    /// The router for environments (`<workload>--<environment>.localhost`).
    pub router: Option<TcpListener>,
}

/// Serves until `shutdown` resolves, then lets in-flight requests finish.
/// Also keeps this replica's policies in step with the database, refreshes
/// the catalog, looks after template tasks, and keeps environments at their
/// desired state (stopping every process they run when it stops).
pub async fn serve(
    listeners: Listeners,
    access: Arc<Access>,
    engines: Engines,
    options: ServerOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let (router, _) = app(Arc::clone(&access), engines.clone(), &options)?;
    let Engines {
        catalog,
        scaffolder,
        deployer,
        routes,
        ..
    } = engines;
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let proxy = listeners.router.map(|listener| {
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let stopped = async move {
                let _ = stop.changed().await;
            };
            if let Err(error) = router::serve(listener, routes, stopped).await {
                tracing::error!(%error, "the router stopped with an error");
            }
        })
    });
    let deployer_stop = stop_rx.clone();
    let reconciler = tokio::spawn(async move {
        deployer
            .run_loop(Duration::from_secs(10), deployer_stop)
            .await
    });
    let catalog_stop = stop_rx.clone();
    let cataloguer = tokio::spawn(async move { catalog.run_refresh_loop(catalog_stop).await });
    let scaffolder_stop = stop_rx.clone();
    let task_keeper =
        tokio::spawn(async move { scaffolder.run_maintenance_loop(scaffolder_stop).await });
    let refresher = tokio::spawn(async move {
        let mut ticker = tokio::time::interval(options.policy_refresh);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {
                    match access.refresh_policies().await {
                        Ok(true) => tracing::info!(version = access.authorizer().snapshot().version, "policies changed elsewhere; reloaded"),
                        Ok(false) => {}
                        Err(error) => tracing::warn!(%error, "cannot check for policy changes"),
                    }
                }
                _ = stop_rx.changed() => break,
            }
        }
    });
    let result = axum::serve(listeners.api, router)
        .with_graceful_shutdown(shutdown)
        .await;
    let _ = stop_tx.send(true);
    let _ = refresher.await;
    let _ = cataloguer.await;
    let _ = task_keeper.await;
    let _ = reconciler.await;
    if let Some(proxy) = proxy {
        let _ = proxy.await;
    }
    result.map_err(ServerError::from)
}
