//! The deploy engine: deploy, roll back and promote components, keep every
//! environment at its desired state (the reconciler), and tear environments
//! down (including expired previews).
//!
//! A rollout starts the new version beside the one that runs, waits for it
//! to be ready, then switches traffic (the router) and stops the old one; a
//! version that never becomes ready is stopped and the old one keeps
//! serving. Rollouts of one component to one environment are serialized;
//! changes to what an environment runs are applied one at a time per
//! environment, from the database's desired state, so concurrent rollouts of
//! different components never undo each other.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pave_catalog::Catalog;
use pave_catalog_model::parse_ref;
use pave_git::GitReader;
use pave_runtime::{EnvironmentPlan, InstanceSpec, InstanceState, Runtime, RuntimeError};
use pave_store::{Store, StoreError};
use pave_workload::Workload;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::Mutex as AsyncMutex;

use crate::deployments::{self, Deployment, DeploymentFilter, DeploymentStatus, NewDeployment};
use crate::environment::{Environment, EnvironmentError, Environments};
use crate::plan::{self, PlanInput};
use crate::resources::{self, ResourceContext, RouteRequest, workload_host};
use crate::source::{self, Source};

mod previews;

pub use previews::{PreviewOutcome, PreviewSettings, preview_name};

/// Where traffic for an environment goes: implemented by Pave's router.
pub trait Ingress: Send + Sync {
    /// Replaces the environment's routes at once.
    fn set_environment(&self, environment: &str, routes: Vec<IngressRoute>);
    /// Removes every route of the environment.
    fn remove_environment(&self, environment: &str);
}

/// One route: a host (and path prefix) to a port on 127.0.0.1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IngressRoute {
    pub host: String,
    pub path_prefix: String,
    pub port: u16,
    pub workload: String,
}

/// How the engine works.
#[derive(Debug, Clone)]
pub struct DeployConfig {
    /// Checkouts of deployed commits (`<dataDir>/deployments`).
    pub checkouts: PathBuf,
    /// Git mirrors of components' repositories.
    pub git_cache: PathBuf,
    /// The router's port, for URLs.
    pub router_port: u16,
    /// How long a new version may take to become ready.
    pub ready_timeout: Duration,
    /// How long an old version keeps running after traffic moved away from
    /// it, so requests already sent to it can finish.
    pub drain: Duration,
}

impl DeployConfig {
    /// Defaults under a data directory.
    pub fn under(data_dir: &std::path::Path, router_port: u16) -> DeployConfig {
        DeployConfig {
            checkouts: data_dir.join("deployments"),
            git_cache: data_dir.join("cache").join("deploy-git"),
            router_port,
            ready_timeout: Duration::from_secs(60),
            drain: Duration::from_secs(1),
        }
    }
}

/// Why a deploy engine request failed; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error("{0}")]
    Input(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the runtime failed: {0}")]
    Runtime(#[from] RuntimeError),
}

impl From<EnvironmentError> for DeployError {
    fn from(error: EnvironmentError) -> DeployError {
        match error {
            EnvironmentError::Input(message) => DeployError::Input(message),
            EnvironmentError::NotFound(message) => DeployError::NotFound(message),
            EnvironmentError::Conflict(message) => DeployError::Conflict(message),
            EnvironmentError::Store(error) => DeployError::Store(error),
        }
    }
}

/// A request to deploy a component.
#[derive(Debug, Clone)]
pub struct DeployRequest {
    /// `component:namespace/name`, or a short form.
    pub component: String,
    pub environment: String,
    /// A branch, tag or commit; the source location's ref by default.
    pub revision: Option<String>,
    pub created_by: String,
}

/// What a deploy would change, shown before it runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployPlan {
    pub component: String,
    pub environment: String,
    pub revision: String,
    pub commit: String,
    /// What runs now, if anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<CurrentDeployment>,
    /// One line per change: commit, containers, variables, resources.
    pub changes: Vec<String>,
    /// The containers and their variables after substitution (secrets masked).
    pub variables: BTreeMap<String, BTreeMap<String, String>>,
    /// The URLs it will answer at.
    pub urls: Vec<String>,
}

/// The deployment running now, as a plan shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CurrentDeployment {
    pub id: String,
    pub commit: String,
    pub status: DeploymentStatus,
}

/// The engine; cheap to clone.
#[derive(Clone)]
pub struct Deployer {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    catalog: Arc<Catalog>,
    environments: Environments,
    reader: GitReader,
    runtime: Arc<dyn Runtime>,
    ingress: Arc<dyn Ingress>,
    config: DeployConfig,
    /// One rollout at a time per component and environment.
    targets: Locks,
    /// One change to what runs at a time per environment.
    environment_locks: Locks,
}

/// Async locks by name, made on first use.
type Locks = Mutex<HashMap<String, Arc<AsyncMutex<()>>>>;

/// A rollout being prepared: everything but the record.
struct Prepared {
    component: String,
    environment: Environment,
    revision: String,
    commit: String,
    source: Source,
    workload: Workload,
    workload_json: Value,
}

impl Deployer {
    pub fn new(
        store: Store,
        catalog: Arc<Catalog>,
        runtime: Arc<dyn Runtime>,
        ingress: Arc<dyn Ingress>,
        config: DeployConfig,
    ) -> Deployer {
        Deployer {
            inner: Arc::new(Inner {
                environments: Environments::new(store.clone()),
                reader: GitReader::new(&config.git_cache),
                store,
                catalog,
                runtime,
                ingress,
                config,
                targets: Mutex::new(HashMap::new()),
                environment_locks: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Environments in the database.
    pub fn environments(&self) -> &Environments {
        &self.inner.environments
    }

    /// The runtime (for logs).
    pub fn runtime(&self) -> &Arc<dyn Runtime> {
        &self.inner.runtime
    }

    /// The port Pave's router listens on.
    pub fn router_port(&self) -> u16 {
        self.inner.config.router_port
    }

    /// The commit a branch, tag or commit id names in a remote.
    pub async fn resolve_revision(
        &self,
        remote: &str,
        revision: &str,
    ) -> Result<String, DeployError> {
        self.inner
            .reader
            .resolve(remote, Some(revision))
            .await
            .map_err(|error| {
                DeployError::Input(format!(
                    "revision `{revision}` cannot be found in {remote}: {error}"
                ))
            })
    }

    /// The URL a workload of an environment answers at through the router.
    pub fn url_of(&self, workload: &str, environment: &str) -> String {
        format!(
            "http://{}:{}",
            workload_host(workload, environment),
            self.inner.config.router_port
        )
    }

    fn lock_of(map: &Locks, key: &str) -> Arc<AsyncMutex<()>> {
        match map.lock() {
            Ok(mut locks) => Arc::clone(locks.entry(key.to_string()).or_default()),
            Err(_) => Arc::new(AsyncMutex::new(())),
        }
    }

    fn target_lock(&self, component: &str, environment: &str) -> Arc<AsyncMutex<()>> {
        // Neither refs nor environment names contain a space.
        Self::lock_of(&self.inner.targets, &format!("{component} {environment}"))
    }

    /// The component entity and its normalized reference.
    async fn component(&self, reference: &str) -> Result<(String, Value), DeployError> {
        let parsed = parse_ref(reference, Some("component"), "default")
            .map_err(|error| DeployError::Input(format!("component `{reference}`: {error}")))?;
        let entity = self
            .inner
            .catalog
            .entity_by_ref(&parsed)
            .await
            .map_err(|_| {
                DeployError::NotFound(format!(
                    "there is no {parsed} in the catalog; register it first"
                ))
            })?;
        Ok((parsed.to_string(), entity))
    }

    /// Resolves the revision and reads the Score file at that commit.
    async fn prepare(
        &self,
        component: &str,
        environment: &str,
        revision: Option<&str>,
    ) -> Result<Prepared, DeployError> {
        let environment = self.inner.environments.get(environment).await?;
        if environment.status != "active" {
            return Err(DeployError::Conflict(format!(
                "environment `{}` is being deleted",
                environment.name
            )));
        }
        let (component, entity) = self.component(component).await?;
        let source = source::source_of(&entity, &component).map_err(DeployError::Input)?;
        let asked = revision
            .map(str::to_string)
            .or_else(|| source.reference.clone());
        let commit = self
            .inner
            .reader
            .resolve(&source.remote, asked.as_deref())
            .await
            .map_err(|error| {
                DeployError::Input(format!(
                    "revision `{}` of {component} cannot be found in {}: {error}",
                    asked.as_deref().unwrap_or("HEAD"),
                    source.remote
                ))
            })?;
        let text = self
            .inner
            .reader
            .read_file(&source.remote, &commit, &source.score_path)
            .await
            .map_err(|error| {
                DeployError::Input(format!(
                    "{component} has no readable `{}` at commit {commit}: {error}",
                    source.score_path
                ))
            })?;
        let text = String::from_utf8(text).map_err(|_| {
            DeployError::Input(format!("`{}` is not UTF-8 text", source.score_path))
        })?;
        let workload = pave_workload::parse(&text, &source.score_path)
            .map_err(|error| DeployError::Input(error.to_string()))?;
        let workload_json = serde_json::to_value(&workload).unwrap_or(Value::Null);
        Ok(Prepared {
            component,
            environment,
            revision: asked.unwrap_or_else(|| "HEAD".into()),
            commit,
            source,
            workload,
            workload_json,
        })
    }

    /// Other workloads running in the environment: name → ports.
    async fn neighbours(
        &self,
        environment: &str,
        component: &str,
    ) -> Result<BTreeMap<String, BTreeMap<String, u16>>, DeployError> {
        let mut neighbours = BTreeMap::new();
        for deployment in deployments::desired(&self.inner.store, environment).await? {
            if deployment.component == component || !deployment.active {
                continue;
            }
            if let Some(instance) = instance_of(&deployment) {
                neighbours.insert(instance.workload.clone(), instance.ports.clone());
            }
        }
        Ok(neighbours)
    }

    /// Resolves resources, substitutes placeholders and plans the instance.
    async fn resolve(
        &self,
        prepared: &Prepared,
        id: &str,
        ports: &BTreeMap<String, u16>,
        checkout: &std::path::Path,
    ) -> Result<(InstanceSpec, Vec<RouteRequest>, Value), DeployError> {
        let neighbours = self
            .neighbours(&prepared.environment.name, &prepared.component)
            .await?;
        let context = ResourceContext {
            environment: &prepared.environment.name,
            config: &prepared.environment.config,
            ports,
            neighbours: &neighbours,
            router_port: self.inner.config.router_port,
        };
        let resolved = resources::resolve(&prepared.workload, &context).map_err(|errors| {
            DeployError::Input(format!(
                "{}: {}",
                prepared.source.score_path,
                errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            ))
        })?;
        let placeholders =
            pave_workload::Context::for_workload(&prepared.workload, &resolved.outputs);
        let substituted = pave_workload::substitute_workload(
            &prepared.workload,
            &prepared.source.score_path,
            &placeholders,
        )
        .map_err(|error| DeployError::Input(error.to_string()))?;
        let instance = plan::instance_spec(&PlanInput {
            deployment_id: id,
            workload: &substituted,
            ports,
            checkout,
            directory: source::score_directory(&prepared.source.score_path),
            file: &prepared.source.score_path,
        })
        .map_err(|errors| {
            DeployError::Input(
                errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })?;
        let variables = masked_variables(&instance);
        let urls = self.urls(
            &instance.workload,
            &prepared.environment.name,
            &resolved.routes,
        );
        let summary = json!({
            "ports": ports,
            "urls": urls,
            "routes": resolved.routes,
            "variables": variables,
            "instance": instance,
        });
        Ok((instance, resolved.routes, summary))
    }

    fn urls(&self, workload: &str, environment: &str, routes: &[RouteRequest]) -> Vec<String> {
        let mut urls = vec![self.url_of(workload, environment)];
        for route in routes {
            urls.push(format!(
                "http://{}:{}{}",
                route.host, self.inner.config.router_port, route.path
            ));
        }
        urls
    }

    /// What deploying would change, without changing anything.
    pub async fn plan(&self, request: &DeployRequest) -> Result<DeployPlan, DeployError> {
        let prepared = self
            .prepare(
                &request.component,
                &request.environment,
                request.revision.as_deref(),
            )
            .await?;
        let ports: BTreeMap<String, u16> = plan::port_names(&prepared.workload)
            .into_iter()
            .map(|name| (name, 0))
            .collect();
        let checkout = self.inner.config.checkouts.join("plan");
        let (instance, _routes, summary) =
            self.resolve(&prepared, "plan", &ports, &checkout).await?;
        let current = deployments::desired(&self.inner.store, &prepared.environment.name)
            .await?
            .into_iter()
            .find(|deployment| deployment.active && deployment.component == prepared.component);
        let variables = masked_variables(&instance);
        let changes = describe_changes(current.as_ref(), &prepared, &variables);
        Ok(DeployPlan {
            component: prepared.component.clone(),
            environment: prepared.environment.name.clone(),
            revision: prepared.revision.clone(),
            commit: prepared.commit.clone(),
            current: current.map(|deployment| CurrentDeployment {
                id: deployment.id,
                commit: deployment.commit,
                status: deployment.status,
            }),
            changes,
            variables,
            urls: summary["urls"]
                .as_array()
                .map(|urls| {
                    urls.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
        })
    }

    /// Deploys a component and waits for the outcome: `Healthy`, or
    /// `Failed` with the reason (the previous version keeps serving).
    /// Input problems (no such revision, an invalid `score.yaml`, an
    /// unresolvable placeholder) are errors and record nothing.
    pub async fn deploy(&self, request: DeployRequest) -> Result<Deployment, DeployError> {
        self.roll_out(request, "deploy", None).await
    }

    async fn roll_out(
        &self,
        request: DeployRequest,
        kind: &str,
        based_on: Option<&str>,
    ) -> Result<Deployment, DeployError> {
        let prepared = self
            .prepare(
                &request.component,
                &request.environment,
                request.revision.as_deref(),
            )
            .await?;
        let lock = self.target_lock(&prepared.component, &prepared.environment.name);
        let _serialized = lock.lock().await;
        let id = uuid::Uuid::now_v7().to_string();
        let names = plan::port_names(&prepared.workload);
        let free = pave_runtime::free_ports(names.len()).map_err(|error| {
            DeployError::Input(format!("cannot find free ports on 127.0.0.1: {error}"))
        })?;
        let ports: BTreeMap<String, u16> = names.into_iter().zip(free).collect();
        let checkout = self.inner.config.checkouts.join(&id);
        // Resolved before anything is recorded: a bad workload records nothing.
        let (_instance, _routes, resolved) =
            self.resolve(&prepared, &id, &ports, &checkout).await?;
        deployments::insert(
            &self.inner.store,
            &NewDeployment {
                id: &id,
                component: &prepared.component,
                environment: &prepared.environment.name,
                revision: &prepared.revision,
                commit: &prepared.commit,
                workload: &prepared.workload_json,
                resolved: &resolved,
                kind,
                based_on,
                created_by: &request.created_by,
            },
        )
        .await?;
        let outcome = self.start_and_switch(&id, &prepared, &checkout).await;
        if let Err(message) = outcome {
            deployments::set_status(&self.inner.store, &id, DeploymentStatus::Failed, &message)
                .await?;
            // The new version goes; what ran before stays as it was.
            if let Err(error) = self.converge(&prepared.environment.name).await {
                tracing::warn!(%error, environment = %prepared.environment.name, "cannot stop a failed rollout");
            }
            let _ = std::fs::remove_dir_all(&checkout);
        }
        self.deployment(&id).await
    }

    /// Checks out the commit, starts the new instance beside the old one,
    /// waits until it is ready and switches traffic to it.
    async fn start_and_switch(
        &self,
        id: &str,
        prepared: &Prepared,
        checkout: &std::path::Path,
    ) -> Result<(), String> {
        let store = &self.inner.store;
        let environment = &prepared.environment.name;
        deployments::set_status(store, id, DeploymentStatus::Progressing, "checking out")
            .await
            .map_err(|error| error.to_string())?;
        self.inner
            .reader
            .export(&prepared.source.remote, &prepared.commit, checkout)
            .await
            .map_err(|error| format!("cannot check out commit {}: {error}", prepared.commit))?;
        deployments::set_status(store, id, DeploymentStatus::Progressing, "starting")
            .await
            .map_err(|error| error.to_string())?;
        self.converge(environment)
            .await
            .map_err(|error| format!("cannot start the new version: {error}"))?;
        self.inner
            .runtime
            .wait_ready(id, self.inner.config.ready_timeout)
            .await
            .map_err(|error| format!("the new version did not become ready: {error}"))?;
        let deployment = deployments::get(store, id)
            .await
            .map_err(|error| error.to_string())?
            .ok_or_else(|| "the deployment vanished".to_string())?;
        let previous = deployments::desired(store, environment)
            .await
            .map_err(|error| error.to_string())?
            .into_iter()
            .find(|other| other.active && other.component == deployment.component);
        deployments::activate(store, &deployment)
            .await
            .map_err(|error| error.to_string())?;
        // Traffic moves first; the old instance drains, then stops.
        self.switch_traffic(environment)
            .await
            .map_err(|error| format!("cannot switch traffic: {error}"))?;
        if previous.is_some() {
            tokio::time::sleep(self.inner.config.drain).await;
        }
        self.converge(environment)
            .await
            .map_err(|error| format!("cannot stop the previous version: {error}"))?;
        if let Some(previous) = previous {
            let _ = std::fs::remove_dir_all(self.inner.config.checkouts.join(&previous.id));
        }
        Ok(())
    }

    /// Points the router at the active deployments, leaving processes as
    /// they are.
    async fn switch_traffic(&self, environment: &str) -> Result<(), DeployError> {
        let lock = Self::lock_of(&self.inner.environment_locks, environment);
        let _one_at_a_time = lock.lock().await;
        let (_, routes) = self.desired_state(environment).await?;
        self.inner.ingress.set_environment(environment, routes);
        Ok(())
    }

    /// Makes the runtime and the router match the database for one
    /// environment: the active deployments and those being rolled out run;
    /// traffic goes to the active ones.
    pub async fn converge(&self, environment: &str) -> Result<(), DeployError> {
        let lock = Self::lock_of(&self.inner.environment_locks, environment);
        let _one_at_a_time = lock.lock().await;
        let (instances, routes) = self.desired_state(environment).await?;
        self.inner
            .runtime
            .apply(&EnvironmentPlan {
                environment: environment.to_string(),
                instances,
            })
            .await?;
        self.inner.ingress.set_environment(environment, routes);
        Ok(())
    }

    /// What should run in an environment, and where its traffic goes.
    async fn desired_state(
        &self,
        environment: &str,
    ) -> Result<(Vec<InstanceSpec>, Vec<IngressRoute>), DeployError> {
        let desired = deployments::desired(&self.inner.store, environment).await?;
        let mut instances = Vec::new();
        let mut routes = Vec::new();
        for deployment in &desired {
            let Some(instance) = instance_of(deployment) else {
                continue;
            };
            if !self.inner.config.checkouts.join(&deployment.id).is_dir() {
                // The checkout went missing (a wiped data dir): make it again.
                let source =
                    self.component(&deployment.component)
                        .await
                        .and_then(|(reference, entity)| {
                            source::source_of(&entity, &reference).map_err(DeployError::Input)
                        });
                match source {
                    Ok(source) => {
                        if let Err(error) = self
                            .inner
                            .reader
                            .export(
                                &source.remote,
                                &deployment.commit,
                                &self.inner.config.checkouts.join(&deployment.id),
                            )
                            .await
                        {
                            tracing::warn!(deployment = %deployment.id, %error, "cannot restore a checkout");
                            continue;
                        }
                    }
                    Err(error) => {
                        tracing::warn!(deployment = %deployment.id, %error, "cannot restore a checkout");
                        continue;
                    }
                }
            }
            if deployment.active {
                let primary = instance
                    .primary_port
                    .as_ref()
                    .and_then(|name| instance.ports.get(name))
                    .or_else(|| instance.ports.values().next())
                    .copied();
                if let Some(port) = primary {
                    routes.push(IngressRoute {
                        host: workload_host(&instance.workload, environment),
                        path_prefix: "/".into(),
                        port,
                        workload: instance.workload.clone(),
                    });
                }
                let requested: Vec<RouteRequest> =
                    serde_json::from_value(deployment.resolved["routes"].clone())
                        .unwrap_or_default();
                for route in requested {
                    routes.push(IngressRoute {
                        host: route.host,
                        path_prefix: route.path,
                        port: route.port,
                        workload: instance.workload.clone(),
                    });
                }
            }
            instances.push(instance);
        }
        Ok((instances, routes))
    }

    /// Records a webhook delivery id; false for a replay of one already seen.
    pub async fn record_delivery(
        &self,
        provider: &str,
        delivery_id: &str,
    ) -> Result<bool, DeployError> {
        Ok(deployments::record_delivery(&self.inner.store, provider, delivery_id).await?)
    }

    /// One deployment.
    pub async fn deployment(&self, id: &str) -> Result<Deployment, DeployError> {
        deployments::get(&self.inner.store, id)
            .await?
            .ok_or_else(|| DeployError::NotFound(format!("there is no deployment `{id}`")))
    }

    /// Deployments, newest first.
    pub async fn deployments(
        &self,
        filter: &DeploymentFilter,
    ) -> Result<Vec<Deployment>, DeployError> {
        let mut filter = filter.clone();
        if let Some(component) = &filter.component {
            filter.component = Some(
                parse_ref(component, Some("component"), "default")
                    .map_err(|error| {
                        DeployError::Input(format!("component `{component}`: {error}"))
                    })?
                    .to_string(),
            );
        }
        Ok(deployments::list(&self.inner.store, &filter).await?)
    }

    /// Rolls back to `to`, or to the last healthy deployment before the
    /// active one: the same commit, deployed again.
    pub async fn rollback(
        &self,
        component: &str,
        environment: &str,
        to: Option<&str>,
        created_by: &str,
    ) -> Result<Deployment, DeployError> {
        let (component, _) = self.component(component).await?;
        self.inner.environments.get(environment).await?;
        let history = deployments::list(
            &self.inner.store,
            &DeploymentFilter {
                component: Some(component.clone()),
                environment: Some(environment.to_string()),
                limit: Some(1000),
            },
        )
        .await?;
        let target = match to {
            Some(id) => history
                .iter()
                .find(|deployment| deployment.id == id)
                .cloned()
                .ok_or_else(|| {
                    DeployError::NotFound(format!(
                        "deployment `{id}` is not a deployment of {component} to {environment}"
                    ))
                })?,
            None => {
                let active = history.iter().position(|deployment| deployment.active);
                history
                    .iter()
                    .skip(active.map(|index| index + 1).unwrap_or(0))
                    .find(|deployment| {
                        !deployment.active && deployment.status == DeploymentStatus::Healthy
                    })
                    .cloned()
                    .ok_or_else(|| {
                        DeployError::Conflict(format!(
                            "{component} has no earlier healthy deployment in {environment} to roll back to"
                        ))
                    })?
            }
        };
        self.roll_out(
            DeployRequest {
                component,
                environment: environment.to_string(),
                revision: Some(target.commit.clone()),
                created_by: created_by.to_string(),
            },
            "rollback",
            Some(&target.id),
        )
        .await
    }

    /// Deploys to `to` the commit that runs in `from`, with `to`'s config.
    pub async fn promote(
        &self,
        component: &str,
        from: &str,
        to: &str,
        created_by: &str,
    ) -> Result<Deployment, DeployError> {
        let (component, _) = self.component(component).await?;
        self.inner.environments.get(from).await?;
        self.inner.environments.get(to).await?;
        let source = deployments::desired(&self.inner.store, from)
            .await?
            .into_iter()
            .find(|deployment| deployment.active && deployment.component == component)
            .ok_or_else(|| {
                DeployError::Conflict(format!(
                    "{component} does not run in {from}; deploy it there first"
                ))
            })?;
        self.roll_out(
            DeployRequest {
                component,
                environment: to.to_string(),
                revision: Some(source.commit.clone()),
                created_by: created_by.to_string(),
            },
            "promote",
            Some(&source.id),
        )
        .await
    }

    /// Tears an environment down: its processes, routes and checkouts, then
    /// the environment itself. Deployment history stays.
    pub async fn delete_environment(&self, name: &str) -> Result<(), DeployError> {
        let environment = self.inner.environments.get(name).await?;
        let children = self.inner.environments.children(name).await?;
        if !children.is_empty() {
            return Err(DeployError::Conflict(format!(
                "environment `{name}` is the parent of {}; delete those first",
                children.join(", ")
            )));
        }
        self.inner.environments.mark_deleting(name).await?;
        let lock = Self::lock_of(&self.inner.environment_locks, name);
        let _one_at_a_time = lock.lock().await;
        self.inner.ingress.remove_environment(name);
        self.inner.runtime.delete_environment(name).await?;
        for deployment in deployments::desired(&self.inner.store, name).await? {
            let _ = std::fs::remove_dir_all(self.inner.config.checkouts.join(&deployment.id));
        }
        deployments::deactivate_environment(&self.inner.store, name).await?;
        self.inner.environments.remove(&environment.name).await?;
        Ok(())
    }

    /// Brings every environment back to its desired state, as at start-up
    /// after a restart or a crash: unfinished rollouts fail (their old
    /// version kept serving), running processes are adopted or restarted,
    /// and anything the database no longer knows is stopped. Statuses of
    /// active deployments follow what the runtime sees.
    pub async fn reconcile(&self) -> Result<(), DeployError> {
        let known: Vec<String> = self
            .inner
            .environments
            .list()
            .await?
            .into_iter()
            .map(|environment| environment.name)
            .collect();
        for environment in self.inner.runtime.environments().await? {
            if !known.contains(&environment) {
                tracing::info!(%environment, "removing an environment the database no longer has");
                self.inner.ingress.remove_environment(&environment);
                self.inner.runtime.delete_environment(&environment).await?;
            }
        }
        for environment in &known {
            if let Err(error) = self.converge(environment).await {
                tracing::warn!(%environment, %error, "cannot bring the environment to its desired state");
            }
            self.sync_statuses(environment).await?;
        }
        Ok(())
    }

    /// Start-up: fails rollouts a stop interrupted, tears down previews
    /// that expired while Pave was down, then reconciles.
    pub async fn recover(&self) -> Result<(), DeployError> {
        let failed = deployments::fail_unfinished(&self.inner.store).await?;
        if failed > 0 {
            tracing::warn!(
                deployments = failed,
                "rollouts were interrupted by the last stop and are marked failed"
            );
        }
        let reaped = self.reap_expired().await?;
        if !reaped.is_empty() {
            tracing::info!(environments = ?reaped, "tore down previews that expired while Pave was stopped");
        }
        self.reconcile().await
    }

    /// Active deployments become Degraded or Healthy as the runtime sees them.
    async fn sync_statuses(&self, environment: &str) -> Result<(), DeployError> {
        for deployment in deployments::desired(&self.inner.store, environment).await? {
            if !deployment.active {
                continue;
            }
            let Some(status) = self.inner.runtime.instance(&deployment.id).await? else {
                continue;
            };
            let (next, message) = match &status.state {
                InstanceState::Degraded { reason } | InstanceState::Failed { reason } => {
                    (DeploymentStatus::Degraded, reason.clone())
                }
                InstanceState::Ready => (DeploymentStatus::Healthy, "ready and serving".into()),
                _ => continue,
            };
            if next != deployment.status {
                deployments::set_status(&self.inner.store, &deployment.id, next, &message).await?;
            }
        }
        Ok(())
    }

    /// Tears down previews whose expiry has passed; returns their names.
    pub async fn reap_expired(&self) -> Result<Vec<String>, DeployError> {
        let mut reaped = Vec::new();
        for environment in self.inner.environments.expired().await? {
            match self.delete_environment(&environment.name).await {
                Ok(()) => reaped.push(environment.name),
                Err(error) => {
                    tracing::warn!(environment = %environment.name, %error, "cannot tear down an expired preview")
                }
            }
        }
        Ok(reaped)
    }

    /// Reconciles and reaps every `period` until `stop` turns true, then
    /// stops every process (no process outlives Pave).
    pub async fn run_loop(&self, period: Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(period) => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                break;
            }
            if let Err(error) = self.reap_expired().await {
                tracing::warn!(%error, "cannot reap expired previews");
            }
            if let Err(error) = self.reconcile().await {
                tracing::warn!(%error, "cannot reconcile environments");
            }
        }
        if let Err(error) = self.inner.runtime.shutdown().await {
            tracing::warn!(%error, "cannot stop every process");
        }
    }
}

/// The runtime instance stored with a deployment.
pub(crate) fn instance_of(deployment: &Deployment) -> Option<InstanceSpec> {
    serde_json::from_value(deployment.resolved.get("instance")?.clone()).ok()
}

/// Variable names that hold secrets by convention; their values are masked
/// in records and plans.
fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    [
        "SECRET",
        "PASSWORD",
        "TOKEN",
        "KEY",
        "CREDENTIAL",
        "PRIVATE",
    ]
    .iter()
    .any(|word| upper.contains(word))
}

fn masked_variables(instance: &InstanceSpec) -> BTreeMap<String, BTreeMap<String, String>> {
    instance
        .processes
        .iter()
        .map(|process| {
            let variables = process
                .env
                .iter()
                .map(|(name, value)| {
                    let shown = if is_secret_name(name) {
                        "********".to_string()
                    } else {
                        value.clone()
                    };
                    (name.clone(), shown)
                })
                .collect();
            (process.name.clone(), variables)
        })
        .collect()
}

fn describe_changes(
    current: Option<&Deployment>,
    prepared: &Prepared,
    variables: &BTreeMap<String, BTreeMap<String, String>>,
) -> Vec<String> {
    let Some(current) = current else {
        return vec![format!(
            "new: {} is not running in {}; it will start at commit {}",
            prepared.component,
            prepared.environment.name,
            short(&prepared.commit)
        )];
    };
    let mut changes = Vec::new();
    if current.commit != prepared.commit {
        changes.push(format!(
            "commit: {} → {}",
            short(&current.commit),
            short(&prepared.commit)
        ));
    }
    let before: BTreeMap<String, BTreeMap<String, String>> =
        serde_json::from_value(current.resolved["variables"].clone()).unwrap_or_default();
    for (container, after) in variables {
        let previous = before.get(container);
        if previous.is_none() {
            changes.push(format!("container {container}: added"));
            continue;
        }
        let previous = previous.cloned().unwrap_or_default();
        for (name, value) in after {
            match previous.get(name) {
                None => changes.push(format!("{container}: variable {name} added")),
                Some(old) if old != value => {
                    changes.push(format!("{container}: variable {name}: {old} → {value}"))
                }
                _ => {}
            }
        }
        for name in previous.keys().filter(|name| !after.contains_key(*name)) {
            changes.push(format!("{container}: variable {name} removed"));
        }
    }
    for container in before.keys().filter(|name| !variables.contains_key(*name)) {
        changes.push(format!("container {container}: removed"));
    }
    if changes.is_empty() {
        changes
            .push("no change: the same commit and variables run now; deploying restarts it".into());
    }
    changes
}

fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}

#[cfg(test)]
mod tests;
