//! Reading what runs: readiness, logs and the list of environments. None of
//! this waits for an apply in progress.

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::error::RuntimeError;
use crate::local::supervisor::Snapshot;
use crate::local::{LocalRuntime, lock, logs, state};
use crate::plan::{InstanceSpec, is_safe_name};
use crate::status::{InstanceState, LogFollower, LogLine};

/// How many lines of each stream of each process a readiness error quotes.
const ERROR_LOG_LINES: usize = 10;

/// Capacity of a log follower's channel.
const FOLLOW_CAPACITY: usize = 1024;

impl LocalRuntime {
    /// The directory and process names of an instance, supervised or only
    /// on disk.
    fn find(&self, id: &str) -> Result<(PathBuf, Vec<String>), RuntimeError> {
        let names = |spec: &InstanceSpec| {
            spec.processes
                .iter()
                .map(|process| process.name.clone())
                .collect()
        };
        if let Some(supervised) = lock(&self.inner.instances).get(id) {
            return Ok((supervised.dir.clone(), names(&supervised.spec)));
        }
        if is_safe_name(id) {
            for environment in state::list_dirs(self.inner.layout.root()) {
                let dir = self.inner.layout.instance_dir(&environment, id);
                if let Some(stored) = state::read_instance(&dir) {
                    return Ok((dir, names(&stored.spec)));
                }
            }
        }
        Err(RuntimeError::UnknownInstance { id: id.to_owned() })
    }

    fn find_process(&self, id: &str, process: &str) -> Result<PathBuf, RuntimeError> {
        let (dir, names) = self.find(id)?;
        if names.iter().any(|name| name == process) {
            Ok(dir)
        } else {
            Err(RuntimeError::UnknownProcess {
                id: id.to_owned(),
                process: process.to_owned(),
                known: names.join(", "),
            })
        }
    }

    pub(super) async fn tail(
        &self,
        id: &str,
        process: &str,
        count: usize,
    ) -> Result<Vec<LogLine>, RuntimeError> {
        let dir = self.find_process(id, process)?;
        let process = process.to_owned();
        let log_dir = state::log_dir(&dir);
        tokio::task::spawn_blocking(move || logs::tail(&dir, &process, count))
            .await
            .map_err(|error| RuntimeError::Io {
                action: "read logs in",
                path: log_dir.clone(),
                source: std::io::Error::other(error),
            })?
            .map_err(RuntimeError::io("read logs in", log_dir))
    }

    /// The last lines of every process, for readiness errors.
    async fn last_lines(&self, id: &str) -> Vec<String> {
        let Ok((_, names)) = self.find(id) else {
            return Vec::new();
        };
        let mut lines = Vec::new();
        for name in names {
            if let Ok(tail) = self.tail(id, &name, ERROR_LOG_LINES).await {
                lines.extend(
                    tail.into_iter()
                        .map(|line| format!("{name} {}: {}", line.stream, line.text)),
                );
            }
        }
        lines
    }

    pub(super) async fn wait(&self, id: &str, limit: Duration) -> Result<(), RuntimeError> {
        let mut receiver = lock(&self.inner.instances)
            .get(id)
            .map(|supervised| supervised.snapshot.subscribe())
            .ok_or_else(|| RuntimeError::UnknownInstance { id: id.to_owned() })?;
        let settled = |snapshot: &Snapshot| !matches!(snapshot.state(), InstanceState::Starting);
        let outcome = tokio::time::timeout(limit, async {
            receiver
                .wait_for(settled)
                .await
                .map(|snapshot| snapshot.state())
        })
        .await;
        let reason = match outcome {
            Ok(Ok(InstanceState::Ready)) => return Ok(()),
            Ok(Ok(state)) => state.to_string(),
            Ok(Err(_)) => "it was stopped".to_owned(),
            Err(_) => {
                let snapshot = receiver.borrow();
                let state = snapshot.state();
                let probes: Vec<String> = snapshot
                    .processes
                    .iter()
                    .filter_map(|record| {
                        let failure = record.status.last_probe_failure.as_ref()?;
                        Some(format!(
                            "{}: readiness check failed: {failure}",
                            record.status.name
                        ))
                    })
                    .collect();
                if probes.is_empty() {
                    format!("still {state} after {limit:?}")
                } else {
                    format!("still {state} after {limit:?} ({})", probes.join("; "))
                }
            }
        };
        Err(RuntimeError::NotReady {
            id: id.to_owned(),
            reason,
            last_lines: self.last_lines(id).await,
        })
    }

    pub(super) fn follow(&self, id: &str, process: &str) -> Result<LogFollower, RuntimeError> {
        let dir = self.find_process(id, process)?;
        let (sender, receiver) = mpsc::channel(FOLLOW_CAPACITY);
        let reader = tokio::spawn(logs::follow(
            dir,
            process.to_owned(),
            sender,
            self.inner.options.follow_poll,
        ));
        Ok(LogFollower::new(receiver, Some(reader)))
    }

    pub(super) fn environment_names(&self) -> Vec<String> {
        let mut names = state::environments_on_disk(&self.inner.layout);
        names.extend(
            lock(&self.inner.instances)
                .values()
                .map(|supervised| supervised.environment.clone()),
        );
        names.into_iter().collect()
    }
}
