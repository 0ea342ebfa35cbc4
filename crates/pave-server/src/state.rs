//! What every handler can reach: access (identity, policies, audit) and the
//! store through it, the metrics handle, and the route table.

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use pave_access::Access;
use pave_catalog::Catalog;

use crate::routes::RouteTable;

/// Shared server state, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub access: Arc<Access>,
    pub catalog: Arc<Catalog>,
    pub scaffolder: pave_scaffold::tasks::Scaffolder,
    pub deployer: pave_deploy::Deployer,
    /// The router's table, for the URLs environments answer at.
    pub router_table: crate::router::RoutingTable,
    pub webhooks: Arc<crate::WebhookSettings>,
    pub metrics: PrometheusHandle,
    pub routes: Arc<RouteTable>,
    pub openapi: Arc<String>,
}

impl AppState {
    /// The URLs the router serves for an environment (only one workload's
    /// with `workload`), sorted. They come from the live routing table, so
    /// they carry the router's current port.
    pub(crate) fn environment_urls(
        &self,
        environment: &str,
        workload: Option<&str>,
    ) -> Vec<String> {
        let port = self.deployer.router_port();
        let mut urls: Vec<String> = self
            .router_table
            .routes()
            .into_iter()
            .filter(|(name, route)| {
                name == environment && workload.is_none_or(|workload| route.workload == workload)
            })
            .map(|(_, route)| {
                let path = if route.path_prefix == "/" {
                    String::new()
                } else {
                    route.path_prefix.clone()
                };
                format!("http://{}:{port}{path}", route.host)
            })
            .collect();
        urls.sort();
        urls.dedup();
        urls
    }
}
