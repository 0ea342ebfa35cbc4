//! Every route, the action it declares, and the router built from them.
//!
//! A route under the gate must appear in [`DECLARED`]; the gate denies any
//! route that does not, and a test walks the OpenAPI document (which is
//! generated from the same handlers the router serves) to fail the suite
//! when a route is added without an action.

mod audit;
pub(crate) mod catalog;
mod deploy;
mod health;
mod policies;
mod scaffolder;
mod server;
mod tokens;
pub(crate) mod webhooks;

use std::collections::HashMap;

use axum::http::Method;
use axum::middleware;
use pave_access::Action;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;
use crate::{auth, metrics};

/// Routes anyone may call, without a token.
/// Webhooks take no token: they prove themselves with the shared secret.
pub const PUBLIC: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("POST", "/api/v1/webhooks/github"),
    ("POST", "/api/v1/webhooks/gitlab"),
];

/// Every gated route and the action it needs.
pub const DECLARED: &[(&str, &str, Action)] = &[
    ("GET", "/metrics", Action::ServerMetrics),
    ("GET", "/api/openapi.json", Action::ServerOpenapi),
    ("GET", "/api/v1/whoami", Action::SessionWhoami),
    ("GET", "/api/v1/tokens", Action::TokenList),
    ("POST", "/api/v1/tokens", Action::TokenCreate),
    ("GET", "/api/v1/tokens/{id}", Action::TokenRead),
    ("DELETE", "/api/v1/tokens/{id}", Action::TokenRevoke),
    ("GET", "/api/v1/policies", Action::PolicyRead),
    ("PUT", "/api/v1/policies", Action::PolicyWrite),
    ("POST", "/api/v1/policies/validate", Action::PolicyValidate),
    ("POST", "/api/v1/policies/check", Action::PolicyCheck),
    ("GET", "/api/catalog/entities", Action::CatalogEntityRead),
    (
        "GET",
        "/api/catalog/entities/by-query",
        Action::CatalogEntityRead,
    ),
    (
        "GET",
        "/api/catalog/entities/by-name/{kind}/{namespace}/{name}",
        Action::CatalogEntityRead,
    ),
    (
        "GET",
        "/api/catalog/entities/by-uid/{uid}",
        Action::CatalogEntityRead,
    ),
    (
        "DELETE",
        "/api/catalog/entities/by-uid/{uid}",
        Action::CatalogEntityDelete,
    ),
    (
        "POST",
        "/api/catalog/entities/by-refs",
        Action::CatalogEntityRead,
    ),
    (
        "GET",
        "/api/catalog/entity-facets",
        Action::CatalogEntityRead,
    ),
    ("GET", "/api/catalog/locations", Action::CatalogLocationRead),
    (
        "POST",
        "/api/catalog/locations",
        Action::CatalogLocationCreate,
    ),
    (
        "GET",
        "/api/catalog/locations/{id}",
        Action::CatalogLocationRead,
    ),
    (
        "DELETE",
        "/api/catalog/locations/{id}",
        Action::CatalogLocationDelete,
    ),
    (
        "GET",
        "/api/catalog/locations/by-entity/{kind}/{namespace}/{name}",
        Action::CatalogLocationRead,
    ),
    ("POST", "/api/catalog/refresh", Action::CatalogRefresh),
    (
        "POST",
        "/api/catalog/validate-entity",
        Action::CatalogEntityValidate,
    ),
    ("GET", "/api/v1/search", Action::CatalogEntityRead),
    ("GET", "/api/v1/audit", Action::AuditRead),
    ("GET", "/api/v1/audit/verify", Action::AuditVerify),
    (
        "GET",
        "/api/scaffolder/v2/actions",
        Action::ScaffolderActionRead,
    ),
    (
        "GET",
        "/api/scaffolder/v2/templates/{namespace}/{kind}/{name}/parameter-schema",
        Action::CatalogEntityRead,
    ),
    (
        "POST",
        "/api/scaffolder/v2/tasks",
        Action::ScaffolderTemplateRun,
    ),
    (
        "GET",
        "/api/scaffolder/v2/tasks",
        Action::ScaffolderTaskList,
    ),
    (
        "GET",
        "/api/scaffolder/v2/tasks/{id}",
        Action::ScaffolderTaskRead,
    ),
    (
        "GET",
        "/api/scaffolder/v2/tasks/{id}/events",
        Action::ScaffolderTaskRead,
    ),
    (
        "GET",
        "/api/scaffolder/v2/tasks/{id}/eventstream",
        Action::ScaffolderTaskRead,
    ),
    (
        "POST",
        "/api/scaffolder/v2/tasks/{id}/cancel",
        Action::ScaffolderTaskCancel,
    ),
    (
        "POST",
        "/api/scaffolder/v2/dry-run",
        Action::ScaffolderTemplateDryrun,
    ),
    ("GET", "/api/v1/environments", Action::EnvironmentRead),
    ("POST", "/api/v1/environments", Action::EnvironmentCreate),
    (
        "GET",
        "/api/v1/environments/{name}",
        Action::EnvironmentRead,
    ),
    (
        "DELETE",
        "/api/v1/environments/{name}",
        Action::EnvironmentDelete,
    ),
    ("POST", "/api/v1/deployments/plan", Action::DeploymentRead),
    ("GET", "/api/v1/deployments", Action::DeploymentRead),
    ("POST", "/api/v1/deployments", Action::DeploymentCreate),
    ("GET", "/api/v1/deployments/{id}", Action::DeploymentRead),
    (
        "GET",
        "/api/v1/deployments/{id}/logs",
        Action::DeploymentRead,
    ),
    (
        "POST",
        "/api/v1/deployments/rollback",
        Action::DeploymentCreate,
    ),
    (
        "POST",
        "/api/v1/deployments/promote",
        Action::DeploymentCreate,
    ),
    ("POST", "/api/v1/previews", Action::PreviewCreate),
];

/// Looks up the action a (method, route) pair declares.
#[derive(Debug, Default)]
pub struct RouteTable {
    actions: HashMap<(Method, String), Action>,
}

impl RouteTable {
    pub fn declared() -> RouteTable {
        let actions = DECLARED
            .iter()
            .filter_map(|(method, path, action)| {
                let method = Method::from_bytes(method.as_bytes()).ok()?;
                Some(((method, path.to_string()), *action))
            })
            .collect();
        RouteTable { actions }
    }

    pub fn action(&self, method: &Method, path: &str) -> Option<Action> {
        self.actions
            .get(&(method.clone(), path.to_string()))
            .copied()
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Pave API",
        description = "Pave's own resources under /api/v1. Every route but /healthz and /readyz needs `Authorization: Bearer <token>`; errors are {\"error\":{\"name\",\"message\"}}.",
        license(name = "Apache-2.0")
    ),
    modifiers(&BearerSecurity),
    security(("bearer" = []))
)]
struct ApiDoc;

struct BearerSecurity;

impl utoipa::Modify for BearerSecurity {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The gated API routes, described for OpenAPI.
fn gated() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(server::metrics))
        .routes(routes!(server::openapi))
        .routes(routes!(server::whoami))
        .routes(routes!(tokens::list, tokens::create))
        .routes(routes!(tokens::read, tokens::revoke))
        .routes(routes!(policies::read, policies::replace))
        .routes(routes!(policies::validate))
        .routes(routes!(policies::check))
        .routes(routes!(catalog::entities))
        .routes(routes!(catalog::by_query))
        .routes(routes!(catalog::by_name))
        .routes(routes!(catalog::by_uid, catalog::delete_by_uid))
        .routes(routes!(catalog::by_refs))
        .routes(routes!(catalog::facets))
        .routes(routes!(catalog::locations, catalog::create_location))
        .routes(routes!(catalog::location, catalog::delete_location))
        .routes(routes!(catalog::location_by_entity))
        .routes(routes!(catalog::refresh))
        .routes(routes!(catalog::validate_entity))
        .routes(routes!(catalog::search))
        .routes(routes!(audit::list))
        .routes(routes!(audit::verify))
        .routes(routes!(scaffolder::actions))
        .routes(routes!(scaffolder::parameter_schema))
        .routes(routes!(scaffolder::create_task, scaffolder::list_tasks))
        .routes(routes!(scaffolder::task))
        .routes(routes!(scaffolder::events))
        .routes(routes!(scaffolder::event_stream))
        .routes(routes!(scaffolder::cancel))
        .routes(routes!(scaffolder::dry_run))
        .routes(routes!(
            deploy::list_environments,
            deploy::create_environment
        ))
        .routes(routes!(deploy::get_environment, deploy::delete_environment))
        .routes(routes!(deploy::plan))
        .routes(routes!(deploy::list_deployments, deploy::deploy))
        .routes(routes!(deploy::get_deployment))
        .routes(routes!(deploy::logs))
        .routes(routes!(deploy::rollback))
        .routes(routes!(deploy::promote))
        .routes(routes!(deploy::create_preview))
}

fn public() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(webhooks::github))
        .routes(routes!(webhooks::gitlab))
}

/// The full API as one OpenAPI document and the two routers it came from.
pub fn build(state: AppState) -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    let (gated, gated_doc) = gated()
        .route_layer(middleware::from_fn_with_state(state, auth::gate))
        .route_layer(middleware::from_fn(metrics::track))
        .split_for_parts();
    let (public, public_doc) = public()
        .route_layer(middleware::from_fn(metrics::track))
        .split_for_parts();
    let mut document = ApiDoc::openapi();
    document.merge(gated_doc);
    document.merge(public_doc);
    // Health probes need no token.
    for (_, path) in PUBLIC {
        if let Some(item) = document.paths.paths.get_mut(*path)
            && let Some(operation) = item.get.as_mut()
        {
            operation.security = Some(Vec::new());
        }
    }
    (gated.merge(public), document)
}

/// Every (method, path) the OpenAPI document describes.
pub fn described(document: &utoipa::openapi::OpenApi) -> Vec<(String, String)> {
    let mut operations = Vec::new();
    for (path, item) in &document.paths.paths {
        for (method, operation) in [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("DELETE", &item.delete),
            ("PATCH", &item.patch),
            ("HEAD", &item.head),
            ("OPTIONS", &item.options),
            ("TRACE", &item.trace),
        ] {
            if operation.is_some() {
                operations.push((method.to_string(), path.clone()));
            }
        }
    }
    operations.sort();
    operations
}
