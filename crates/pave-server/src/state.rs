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
