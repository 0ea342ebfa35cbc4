//! The resources a workload needs to run on the local runtime, resolved to
//! the outputs its placeholders read (`${resources.<name>.<output>}`).
//!
//! The full provisioning layer (databases, queues, …) is a later engine; the
//! types here are the ones running a workload needs:
//!
//! | type | params | outputs |
//! |---|---|---|
//! | `service-port` | `workload` (required), `port` (a port name; the first one by default) | `name`, `host`, `port`, `url` of that workload in the same environment |
//! | `dns` | — | `host` (`<workload>--<environment>.localhost`), `url` (through Pave's router) |
//! | `route` | `host` (required), `path` (`/`), `port` (a port name or number of this workload) | `host`, `path`, `url` |
//! | `environment` | — | every key of the environment's config |
//!
//! Any other type fails the plan with a message naming it.

use std::collections::BTreeMap;

use pave_workload::Workload;
use serde_json::{Map, Value, json};

/// What resolution needs to know about the environment and its neighbours.
#[derive(Debug, Clone)]
pub struct ResourceContext<'a> {
    /// The environment's name.
    pub environment: &'a str,
    /// The environment's config (`environment` resources).
    pub config: &'a Map<String, Value>,
    /// This workload's host ports by port name.
    pub ports: &'a BTreeMap<String, u16>,
    /// Other workloads running in the environment: name → port name → host port.
    pub neighbours: &'a BTreeMap<String, BTreeMap<String, u16>>,
    /// The port Pave's router listens on (for `url` outputs).
    pub router_port: u16,
}

/// A route a `route` resource asks the router for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RouteRequest {
    pub host: String,
    pub path: String,
    /// The host port it goes to.
    pub port: u16,
}

/// The outputs of every resource, and the routes they ask for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resolved {
    pub outputs: BTreeMap<String, Value>,
    pub routes: Vec<RouteRequest>,
}

/// One resource that cannot be resolved; names it and says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("resource `{resource}` ({resource_type}): {message}")]
pub struct ResourceError {
    pub resource: String,
    pub resource_type: String,
    pub message: String,
}

/// The host name Pave's router serves a workload of an environment at.
pub fn workload_host(workload: &str, environment: &str) -> String {
    format!("{workload}--{environment}.localhost")
}

/// Resolves every resource of `workload`; all problems are reported.
pub fn resolve(
    workload: &Workload,
    context: &ResourceContext<'_>,
) -> Result<Resolved, Vec<ResourceError>> {
    let mut resolved = Resolved::default();
    let mut errors = Vec::new();
    let name = workload.metadata.name.as_str();
    for (resource_name, resource) in &workload.resources {
        let error = |message: String| ResourceError {
            resource: resource_name.clone(),
            resource_type: resource.resource_type.clone(),
            message,
        };
        let param = |key: &str| resource.params.get(key).and_then(Value::as_str);
        let outputs = match resource.resource_type.as_str() {
            "environment" => Ok(Value::Object(context.config.clone())),
            "dns" => {
                let host = workload_host(name, context.environment);
                Ok(json!({
                    "host": host,
                    "url": format!("http://{host}:{}", context.router_port),
                }))
            }
            "service-port" => match param("workload") {
                None => Err(error(
                    "set `params.workload` to the workload to connect to".into(),
                )),
                Some(other) => match context.neighbours.get(other) {
                    None => Err(error(format!(
                        "workload `{other}` is not running in environment `{}`; deploy it there first",
                        context.environment
                    ))),
                    Some(ports) => pick_port(ports, param("port"))
                        .map(|port| {
                            json!({
                                "name": other,
                                "host": "127.0.0.1",
                                "port": port,
                                "url": format!("http://127.0.0.1:{port}"),
                            })
                        })
                        .map_err(error),
                },
            },
            "route" => match param("host") {
                None => Err(error("set `params.host`, e.g. `orders.localhost`".into())),
                Some(host) => {
                    let path = param("path").unwrap_or("/").to_string();
                    let port = match resource.params.get("port") {
                        // A number is one of the workload's service ports.
                        Some(Value::Number(number)) => workload
                            .service
                            .as_ref()
                            .and_then(|service| {
                                service
                                    .ports
                                    .iter()
                                    .find(|(_, port)| number.as_u64() == Some(u64::from(port.port)))
                            })
                            .ok_or_else(|| {
                                format!("the workload publishes no service port {number}")
                            })
                            .and_then(|(port_name, _)| pick_port(context.ports, Some(port_name))),
                        Some(Value::String(port_name)) => pick_port(context.ports, Some(port_name)),
                        _ => pick_port(context.ports, None),
                    };
                    match port {
                        Ok(port) => {
                            let host = host.to_ascii_lowercase();
                            resolved.routes.push(RouteRequest {
                                host: host.clone(),
                                path: path.clone(),
                                port,
                            });
                            Ok(json!({
                                "host": host,
                                "path": path,
                                "url": format!("http://{host}:{}{path}", context.router_port),
                            }))
                        }
                        Err(message) => Err(error(message)),
                    }
                }
            },
            other => Err(error(format!(
                "the local runtime does not provide resources of type `{other}`; it offers service-port, dns, route and environment"
            ))),
        };
        match outputs {
            Ok(value) => {
                resolved.outputs.insert(resource_name.clone(), value);
            }
            Err(problem) => errors.push(problem),
        }
    }
    if errors.is_empty() {
        Ok(resolved)
    } else {
        Err(errors)
    }
}

/// A named port, or the first one.
fn pick_port(ports: &BTreeMap<String, u16>, name: Option<&str>) -> Result<u16, String> {
    match name {
        Some(name) => ports.get(name).copied().ok_or_else(|| {
            format!(
                "there is no port `{name}`; the ports are {}",
                ports.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        }),
        None => ports
            .values()
            .next()
            .copied()
            .ok_or_else(|| "the workload publishes no port".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Workload {
        pave_workload::parse(yaml, "score.yaml").expect("score")
    }

    #[test]
    fn every_local_type_resolves_and_unknown_types_are_named() {
        let workload = parse(
            "apiVersion: score.dev/v1b1\nmetadata: {name: web}\ncontainers:\n  main: {image: .}\nservice:\n  ports: {http: {port: 8080}}\nresources:\n  env: {type: environment}\n  dns: {type: dns}\n  orders: {type: service-port, params: {workload: orders}}\n  public: {type: route, params: {host: Shop.Localhost, path: /api}}\n",
        );
        let mut config = Map::new();
        config.insert("LOG_LEVEL".into(), json!("debug"));
        let ports = BTreeMap::from([("http".to_string(), 41000)]);
        let neighbours = BTreeMap::from([(
            "orders".to_string(),
            BTreeMap::from([("web".to_string(), 42000)]),
        )]);
        let context = ResourceContext {
            environment: "dev",
            config: &config,
            ports: &ports,
            neighbours: &neighbours,
            router_port: 7080,
        };
        let resolved = resolve(&workload, &context).expect("resolved");
        assert_eq!(resolved.outputs["env"]["LOG_LEVEL"], json!("debug"));
        assert_eq!(resolved.outputs["dns"]["host"], json!("web--dev.localhost"));
        assert_eq!(
            resolved.outputs["dns"]["url"],
            json!("http://web--dev.localhost:7080")
        );
        assert_eq!(resolved.outputs["orders"]["port"], json!(42000));
        assert_eq!(
            resolved.outputs["orders"]["url"],
            json!("http://127.0.0.1:42000")
        );
        assert_eq!(
            resolved.routes,
            [RouteRequest {
                host: "shop.localhost".into(),
                path: "/api".into(),
                port: 41000
            }]
        );

        let broken = parse(
            "apiVersion: score.dev/v1b1\nmetadata: {name: web}\ncontainers:\n  main: {image: .}\nresources:\n  db: {type: postgres}\n  missing: {type: service-port, params: {workload: nowhere}}\n  nohost: {type: route}\n",
        );
        let errors = resolve(&broken, &context).expect_err("refused");
        let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(messages.len(), 3, "{messages:?}");
        assert!(
            messages[0].contains("resource `db` (postgres)")
                && messages[0].contains("type `postgres`")
        );
        assert!(messages[1].contains("`nowhere` is not running in environment `dev`"));
        assert!(messages[2].contains("params.host"));
    }
}
