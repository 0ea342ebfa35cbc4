//! Converging an environment to a plan, deleting environments, and shutting
//! down: everything that starts or stops processes. Changes to one
//! environment are serialized; environments change side by side; a shutdown
//! waits for every change in flight and refuses new ones.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::error::RuntimeError;
use crate::local::process::{self, Launch, Running};
use crate::local::state::{self, PidRecord, StoredInstance};
use crate::local::supervisor::{Snapshot, Supervisor};
use crate::local::{LocalRuntime, Supervised, lock};
use crate::plan::{EnvironmentPlan, InstanceSpec, is_safe_name};

/// An instance of the plan that is not supervised yet, and what of it can be
/// adopted.
struct Start<'a> {
    spec: &'a InstanceSpec,
    dir: PathBuf,
    /// Per process (in spec order): the record of a live process to adopt.
    adoptable: Vec<Option<PidRecord>>,
    /// The stored state belongs to another spec (or is unreadable).
    stale: bool,
}

impl LocalRuntime {
    pub(super) async fn apply_plan(&self, plan: &EnvironmentPlan) -> Result<(), RuntimeError> {
        plan.validate()?;
        let environment = plan.environment.as_str();
        let _changing = self.inner.changes.read().await;
        let environment_lock = self.inner.environment_lock(environment);
        let _serialized = environment_lock.lock().await;
        self.ensure_running()?;

        // 1. Nothing changes if the plan conflicts with what runs.
        let mut new = Vec::new();
        {
            let instances = lock(&self.inner.instances);
            for spec in &plan.instances {
                match instances.get(&spec.id) {
                    Some(running) if running.environment != environment => {
                        return Err(RuntimeError::IdInOtherEnvironment {
                            id: spec.id.clone(),
                            environment: environment.to_owned(),
                            other: running.environment.clone(),
                        });
                    }
                    Some(running) if *running.spec != *spec => {
                        return Err(RuntimeError::SpecChanged {
                            id: spec.id.clone(),
                        });
                    }
                    Some(_) => {}
                    None => new.push(spec),
                }
            }
        }

        // 2. What earlier runs left that can be adopted; everything else
        //    must be startable, checked before anything changes.
        let mut starts = Vec::new();
        for spec in new {
            let start = self.inspect(environment, spec);
            for (process, adoptable) in spec.processes.iter().zip(&start.adoptable) {
                if adoptable.is_none() {
                    process::preflight(spec, process)?;
                }
            }
            starts.push(start);
        }

        // 3. Stop what is not in the plan: supervised instances, then state
        //    on disk nobody supervises (left by an earlier Pave).
        let wanted: BTreeSet<&str> = plan.instances.iter().map(|spec| spec.id.as_str()).collect();
        let removed: Vec<Supervised> = {
            let mut instances = lock(&self.inner.instances);
            let ids: Vec<String> = instances
                .iter()
                .filter(|(id, running)| {
                    running.environment == environment && !wanted.contains(id.as_str())
                })
                .map(|(id, _)| id.clone())
                .collect();
            ids.iter().filter_map(|id| instances.remove(id)).collect()
        };
        let mut result = self.stop_instances(removed, true).await;
        let supervised: BTreeSet<String> = lock(&self.inner.instances).keys().cloned().collect();
        for id in state::list_dirs(&self.inner.layout.environment_dir(environment)) {
            if !wanted.contains(id.as_str()) && !supervised.contains(&id) {
                let dir = self.inner.layout.instance_dir(environment, &id);
                tracing::info!(%environment, instance = %id, "removing an instance that is not in the plan");
                if let Err(error) = self.remove_leftover(&dir).await {
                    result = result.and(Err(error));
                }
            }
        }

        // 4. Start (or adopt) the new instances.
        for start in starts {
            self.start(environment, start).await?;
        }
        result
    }

    /// Reads what is on disk for an instance that is not supervised.
    fn inspect<'a>(&self, environment: &str, spec: &'a InstanceSpec) -> Start<'a> {
        let dir = self.inner.layout.instance_dir(environment, &spec.id);
        let expected = StoredInstance {
            environment: environment.to_owned(),
            spec: spec.clone(),
        };
        let stored = state::read_instance(&dir);
        let stale = dir.exists() && stored.as_ref() != Some(&expected);
        let adoptable = spec
            .processes
            .iter()
            .map(|process| {
                if stored.as_ref() != Some(&expected) {
                    return None;
                }
                state::read_pid(&state::pid_file(&dir, &process.name)).filter(state::is_running)
            })
            .collect();
        Start {
            spec,
            dir,
            adoptable,
            stale,
        }
    }

    /// Stops what a directory's pid files record and removes the directory.
    async fn remove_leftover(&self, dir: &Path) -> Result<(), RuntimeError> {
        let records: Vec<PidRecord> = state::pid_records(dir)
            .into_iter()
            .map(|(_, record)| record)
            .collect();
        process::stop_records(&records, self.inner.options.stop_grace).await;
        state::remove_dir(dir)
    }

    async fn start(&self, environment: &str, start: Start<'_>) -> Result<(), RuntimeError> {
        let Start {
            spec,
            dir,
            adoptable,
            stale,
        } = start;
        if stale {
            tracing::warn!(%environment, instance = %spec.id, "stored state belongs to another spec; replacing it");
            self.remove_leftover(&dir).await?;
        } else {
            // Remnants of processes that died while nobody watched.
            let dead: Vec<PidRecord> = spec
                .processes
                .iter()
                .zip(&adoptable)
                .filter(|(_, adoptable)| adoptable.is_none())
                .filter_map(|(process, _)| {
                    let record = state::read_pid(&state::pid_file(&dir, &process.name));
                    state::remove_pid(&dir, &process.name);
                    record
                })
                .collect();
            process::stop_records(&dead, self.inner.options.stop_grace).await;
        }
        if adoptable.iter().all(Option::is_none) {
            check_ports(spec)?;
        }
        state::create_private_dir(&dir)?;
        state::write_instance(
            &dir,
            &StoredInstance {
                environment: environment.to_owned(),
                spec: spec.clone(),
            },
        )?;

        let mut running = Vec::new();
        for (process, adoptable) in spec.processes.iter().zip(adoptable) {
            let launch = Launch::new(spec, process, &dir);
            let first = match adoptable {
                Some(record) => {
                    tracing::info!(%environment, instance = %spec.id, process = %process.name, pid = record.pid, "adopted running process");
                    Running::Adopted { record }
                }
                None => match launch.spawn() {
                    Ok((child, record)) => Running::Child { child, record },
                    Err(error) => {
                        // All or nothing: stop what already started.
                        for (_, mut started) in running {
                            Running::terminate(&mut started, self.inner.options.stop_grace).await;
                        }
                        let _ = state::remove_dir(&dir);
                        return Err(error);
                    }
                },
            };
            running.push((launch, first));
        }

        let mut initial = Snapshot::new(environment, spec);
        for (record, (_, first)) in initial.processes.iter_mut().zip(&running) {
            record.status.pid = Some(first.record().pid);
        }
        let snapshot = Arc::new(watch::channel(initial).0);
        let (stop, stop_receiver) = watch::channel(false);
        let tasks = running
            .into_iter()
            .enumerate()
            .map(|(index, (launch, first))| {
                let supervisor = Supervisor {
                    launch,
                    index,
                    options: self.inner.options.clone(),
                    snapshot: Arc::clone(&snapshot),
                    stop: stop_receiver.clone(),
                };
                tokio::spawn(supervisor.supervise(first))
            })
            .collect();
        lock(&self.inner.instances).insert(
            spec.id.clone(),
            Supervised {
                environment: environment.to_owned(),
                spec: Arc::new(spec.clone()),
                dir,
                snapshot,
                stop,
                tasks,
            },
        );
        Ok(())
    }

    /// Stops instances concurrently; with `remove_state` their directories
    /// go too.
    async fn stop_instances(
        &self,
        instances: Vec<Supervised>,
        remove_state: bool,
    ) -> Result<(), RuntimeError> {
        let mut stops = JoinSet::new();
        for supervised in instances {
            stops.spawn(stop_instance(supervised, remove_state));
        }
        let mut result = Ok(());
        while let Some(outcome) = stops.join_next().await {
            match outcome {
                Ok(Ok(())) => {}
                Ok(Err(error)) => result = result.and(Err(error)),
                Err(error) => tracing::error!(%error, "stopping an instance failed"),
            }
        }
        result
    }

    pub(super) async fn delete(&self, environment: &str) -> Result<(), RuntimeError> {
        if !is_safe_name(environment) {
            // No state can exist under a name the runtime would never use.
            return Ok(());
        }
        let _changing = self.inner.changes.read().await;
        let environment_lock = self.inner.environment_lock(environment);
        let _serialized = environment_lock.lock().await;
        let removed: Vec<Supervised> = {
            let mut instances = lock(&self.inner.instances);
            let ids: Vec<String> = instances
                .iter()
                .filter(|(_, running)| running.environment == environment)
                .map(|(id, _)| id.clone())
                .collect();
            ids.iter().filter_map(|id| instances.remove(id)).collect()
        };
        let mut result = self.stop_instances(removed, true).await;
        let environment_dir = self.inner.layout.environment_dir(environment);
        for id in state::list_dirs(&environment_dir) {
            let dir = self.inner.layout.instance_dir(environment, &id);
            if let Err(error) = self.remove_leftover(&dir).await {
                result = result.and(Err(error));
            }
        }
        result.and(state::remove_dir(&environment_dir))
    }

    pub(super) async fn stop_everything(&self) -> Result<(), RuntimeError> {
        self.inner.shut_down.store(true, Ordering::SeqCst);
        let _exclusive = self.inner.changes.write().await;
        let all = std::mem::take(&mut *lock(&self.inner.instances));
        let result = self
            .stop_instances(all.into_values().collect(), false)
            .await;
        // Leftovers of earlier runs that no plan adopted.
        let mut records = Vec::new();
        for (environment, id) in state::all_instance_dirs(&self.inner.layout) {
            let dir = self.inner.layout.instance_dir(&environment, &id);
            for (process, record) in state::pid_records(&dir) {
                records.push(record);
                state::remove_pid(&dir, &process);
            }
        }
        process::stop_records(&records, self.inner.options.stop_grace).await;
        result
    }
}

/// Stops one instance and waits for its supervisors to finish.
async fn stop_instance(supervised: Supervised, remove_state: bool) -> Result<(), RuntimeError> {
    let Supervised {
        environment,
        spec,
        dir,
        snapshot,
        stop,
        tasks,
    } = supervised;
    tracing::info!(%environment, instance = %spec.id, "stopping instance");
    let _ = stop.send(true);
    for task in tasks {
        if let Err(error) = task.await {
            tracing::error!(instance = %spec.id, %error, "a supervisor ended abnormally");
        }
    }
    // Normally nothing is left; a supervisor that panicked leaves its pid file.
    state::kill_recorded_in(&dir);
    snapshot.send_modify(|snapshot| snapshot.stopped = true);
    if remove_state {
        state::remove_dir(&dir)
    } else {
        Ok(())
    }
}

/// Fails when a port of a new instance is already bound on 127.0.0.1.
fn check_ports(spec: &InstanceSpec) -> Result<(), RuntimeError> {
    for (name, port) in &spec.ports {
        if let Err(error) = TcpListener::bind(("127.0.0.1", *port)) {
            if error.kind() == std::io::ErrorKind::AddrInUse {
                return Err(RuntimeError::PortInUse {
                    instance: spec.id.clone(),
                    name: name.clone(),
                    port: *port,
                });
            }
            tracing::warn!(port, %error, "could not check whether a port is free");
        }
    }
    Ok(())
}
