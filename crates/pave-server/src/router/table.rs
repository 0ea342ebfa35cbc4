//! The routing table: which host (and path prefix) reaches which process.
//!
//! Readers take a read lock only long enough to clone an `Arc` of the
//! current snapshot; writers build a whole new snapshot and swap it in, so a
//! request sees either the old routes of an environment or the new ones,
//! never a mix.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

/// One route: requests for `host` whose path starts with `path_prefix` go to
/// `upstream`, the process of `workload`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The host name, without port. Stored lower-case without a trailing dot.
    pub host: String,
    /// A path prefix matched on segment boundaries (`/api` matches `/api`
    /// and `/api/x`, not `/apix`). `/` (or empty) matches every path. The
    /// prefix is not stripped: the workload sees the full path.
    pub path_prefix: String,
    /// Where the workload listens, normally `127.0.0.1:<port>`.
    pub upstream: SocketAddr,
    /// The workload (Score workload / catalog component) behind the route.
    pub workload: String,
}

impl Route {
    /// A route for every path of `host`.
    pub fn new(
        host: impl Into<String>,
        upstream: SocketAddr,
        workload: impl Into<String>,
    ) -> Route {
        Route {
            host: host.into(),
            path_prefix: "/".to_string(),
            upstream,
            workload: workload.into(),
        }
    }

    /// The same route limited to paths under `prefix`.
    pub fn with_path_prefix(mut self, prefix: impl Into<String>) -> Route {
        self.path_prefix = prefix.into();
        self
    }
}

/// Where one request goes, as resolved from the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// The socket address to connect to.
    pub address: SocketAddr,
    /// The workload behind it (named on error pages).
    pub workload: Arc<str>,
    /// The environment that owns the route (named on error pages).
    pub environment: Arc<str>,
}

/// Host → routes for every environment; cheap to clone and share.
#[derive(Debug, Clone, Default)]
pub struct RoutingTable {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// What readers see.
    current: RwLock<Arc<Snapshot>>,
    /// Serialises writers so that two switches never lose each other's work.
    writer: Mutex<Environments>,
}

/// The writers' source of truth, from which snapshots are built.
#[derive(Debug, Default)]
struct Environments {
    /// Environment name → (when it first claimed routes, its routes).
    by_name: BTreeMap<String, (u64, Vec<Route>)>,
    next_claim: u64,
}

#[derive(Debug, Default)]
struct Snapshot {
    /// Host → candidates, longest prefix first.
    hosts: HashMap<String, Vec<Candidate>>,
}

#[derive(Debug)]
struct Candidate {
    /// Normalised: starts with `/`, no trailing `/` except for the root.
    prefix: String,
    upstream: Upstream,
}

impl RoutingTable {
    /// An empty table: every host is unknown.
    pub fn new() -> RoutingTable {
        RoutingTable::default()
    }

    /// Replaces every route of `environment` at once. Readers see the old
    /// routes or the new ones, never half of the switch.
    ///
    /// Hosts are lower-cased, stripped of a port and a trailing dot; an
    /// empty prefix means `/`. A route with an empty host is skipped with a
    /// warning. When two environments claim the same host and prefix, the
    /// environment that claimed routes first keeps it (and a warning is
    /// logged), so a new preview can never hijack a running one.
    pub fn set_environment(&self, environment: &str, routes: Vec<Route>) {
        let routes: Vec<Route> = routes
            .into_iter()
            .filter_map(|route| {
                let host = normalize_host(&route.host);
                if host.is_empty() {
                    tracing::warn!(environment, workload = %route.workload, "skipping a route without a host");
                    return None;
                }
                Some(Route {
                    host,
                    path_prefix: normalize_prefix(&route.path_prefix),
                    ..route
                })
            })
            .collect();
        let mut environments = self.lock_writer();
        let claim = match environments.by_name.get(environment) {
            Some((claim, _)) => *claim,
            None => {
                environments.next_claim += 1;
                environments.next_claim
            }
        };
        environments
            .by_name
            .insert(environment.to_string(), (claim, routes));
        self.publish(&environments);
    }

    /// Forgets every route of `environment`; its hosts answer 404 from now on.
    pub fn remove_environment(&self, environment: &str) {
        let mut environments = self.lock_writer();
        if environments.by_name.remove(environment).is_some() {
            self.publish(&environments);
        }
    }

    /// The upstream for a request to `host` (a Host header value: port,
    /// case and trailing dot do not matter) at `path`; the longest matching
    /// prefix wins.
    pub fn resolve(&self, host: &str, path: &str) -> Option<Upstream> {
        let snapshot = Arc::clone(
            &self
                .inner
                .current
                .read()
                .unwrap_or_else(PoisonError::into_inner),
        );
        let candidates = snapshot.hosts.get(normalize_host(host).as_str())?;
        candidates
            .iter()
            .find(|candidate| prefix_matches(&candidate.prefix, path))
            .map(|candidate| candidate.upstream.clone())
    }

    /// Every route with its environment, ordered by environment, host and
    /// prefix: what the API and the portal show.
    pub fn routes(&self) -> Vec<(String, Route)> {
        let environments = self.lock_writer();
        let mut all: Vec<(String, Route)> = environments
            .by_name
            .iter()
            .flat_map(|(name, (_, routes))| {
                routes
                    .iter()
                    .map(move |route| (name.clone(), route.clone()))
            })
            .collect();
        all.sort_by(|a, b| {
            (&a.0, &a.1.host, &a.1.path_prefix).cmp(&(&b.0, &b.1.host, &b.1.path_prefix))
        });
        all
    }

    fn lock_writer(&self) -> std::sync::MutexGuard<'_, Environments> {
        // The data is rebuilt whole on every write, so a panic elsewhere
        // cannot leave it half-updated: carry on past poisoning.
        self.inner
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn publish(&self, environments: &Environments) {
        let snapshot = Arc::new(build_snapshot(environments));
        *self
            .inner
            .current
            .write()
            .unwrap_or_else(PoisonError::into_inner) = snapshot;
    }
}

fn build_snapshot(environments: &Environments) -> Snapshot {
    let mut ordered: Vec<(&String, &(u64, Vec<Route>))> = environments.by_name.iter().collect();
    ordered.sort_by_key(|(_, (claim, _))| *claim);
    let mut hosts: HashMap<String, Vec<Candidate>> = HashMap::new();
    for (environment, (_, routes)) in ordered {
        let environment: Arc<str> = Arc::from(environment.as_str());
        for route in routes {
            let candidates = hosts.entry(route.host.clone()).or_default();
            if let Some(holder) = candidates
                .iter()
                .find(|candidate| candidate.prefix == route.path_prefix)
            {
                if holder.upstream.environment != environment {
                    tracing::warn!(
                        host = %route.host,
                        path_prefix = %route.path_prefix,
                        holder = %holder.upstream.environment,
                        refused = %environment,
                        "two environments claim the same route; the first one keeps it"
                    );
                }
                continue;
            }
            candidates.push(Candidate {
                prefix: route.path_prefix.clone(),
                upstream: Upstream {
                    address: route.upstream,
                    workload: Arc::from(route.workload.as_str()),
                    environment: Arc::clone(&environment),
                },
            });
        }
    }
    for candidates in hosts.values_mut() {
        candidates.sort_by_key(|candidate| std::cmp::Reverse(candidate.prefix.len()));
    }
    Snapshot { hosts }
}

/// Lower-case, without port and trailing dot: `Web--Dev.localhost.:7080`
/// becomes `web--dev.localhost`. Bracketed IPv6 literals keep their brackets.
pub(crate) fn normalize_host(host: &str) -> String {
    let host = host.trim();
    let without_port = if let Some(rest) = host.strip_prefix('[') {
        match rest.find(']') {
            Some(end) => host.get(..end + 2).unwrap_or(host),
            None => host,
        }
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|byte| byte.is_ascii_digit()) => name,
            _ => host,
        }
    };
    without_port
        .strip_suffix('.')
        .unwrap_or(without_port)
        .to_ascii_lowercase()
}

fn normalize_prefix(prefix: &str) -> String {
    let trimmed = prefix.trim().trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".to_string();
    }
    if trimmed.starts_with('/') {
        trimmed.to_string()
    } else {
        format!("/{trimmed}")
    }
}

fn prefix_matches(prefix: &str, path: &str) -> bool {
    if prefix == "/" {
        return true;
    }
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}
