//! The local runtime: every instance is a set of supervised processes on
//! this machine, listening on loopback ports.
//!
//! What lives where:
//! - `apply`: converging an environment (adopt, start, stop), deleting
//!   environments, shutting down;
//! - `read`: readiness waits, logs, the list of environments;
//! - `state`: the directory layout under the runtime root, pid files, and
//!   what `/proc` says about recorded processes;
//! - `process`: spawning one process (environment, program lookup, files,
//!   log files, process group) and stopping its group;
//! - `supervisor`: one task per process: restarts with backoff, crash-loop
//!   detection, readiness and liveness;
//! - `probe`: HTTP and exec probes;
//! - `logs`: tail, follow and rotation of the log files.
//!
//! What survives what:
//! - **A crash (`kill -9`) of Pave**: processes keep running. They are in
//!   their own process groups, read `/dev/null` and write to files, so
//!   nothing ties them to Pave. Their spec (`instance.json`) and pid files
//!   stay on disk. The next [`LocalRuntime`] over the same root re-adopts,
//!   on `apply`, every instance of the plan whose recorded processes are
//!   still alive (the pid *and* its start time match, so a recycled pid is
//!   never mistaken for ours): it watches them through `/proc` (they are no
//!   longer its children), probes them, and restarts them with a fresh
//!   spawn when they die. An adopted process is never started twice.
//!   Recorded processes of instances not in the plan, and remnants of dead
//!   ones, are stopped and their state removed. Until the first `apply` of
//!   an environment, a new runtime reports no status for it (logs are read
//!   from disk); so after a restart Pave re-applies every environment's
//!   current plan, then deletes the [`crate::Runtime::environments`] the
//!   database no longer knows. State on disk whose spec differs from the
//!   plan's instance with the same id is replaced (stopped and started
//!   fresh) rather than refused, so an upgrade of Pave cannot wedge an
//!   environment; while this runtime runs an id, a changed spec is an error.
//! - **A graceful shutdown** ([`crate::Runtime::shutdown`]): every process
//!   is stopped (SIGTERM to its group, `stop_grace`, SIGKILL), including
//!   leftovers from earlier runs nobody re-adopted; specs and logs stay.
//! - **Dropping every handle** of a runtime without a shutdown stops its
//!   processes in the background, as long as the tokio runtime runs.
//!   [`LocalRuntime::abandon`] instead walks away and leaves them running,
//!   as a crash would (for tests, and for handing over to a new Pave).
//!
//! Known limits: a process that leaves its process group (`setsid`, a
//! daemonizing double fork) escapes the stop; only cgroups could follow it.
//! A crash of Pave in the microseconds between a spawn and its pid file
//! leaves that process unrecorded. Nothing rotates logs while Pave is down.
//! Linux only (`/proc`).
//!
//! Invariants:
//! - Every process runs in its own process group, and every stop signals the
//!   whole group, so nothing a process started outlives it.
//! - Pave's state for an instance is only ever under
//!   `<root>/<environment>/<instance id>/`; deleting an environment removes
//!   `<root>/<environment>/`.
//! - `apply`, `delete_environment` and `shutdown` are serialized; status and
//!   log reads never wait for them.
//! - The runtime never uses `PR_SET_PDEATHSIG` (it fires when the spawning
//!   *thread* exits, and tokio threads come and go) nor a subreaper (it
//!   would have to reap orphans behind tokio's back).

mod apply;
mod logs;
mod probe;
mod process;
mod read;
mod state;
mod supervisor;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::RuntimeError;
use crate::plan::{EnvironmentPlan, InstanceSpec};
use crate::status::{InstanceStatus, LogFollower, LogLine};
use crate::{BoxFuture, Runtime};

use state::Layout;
use supervisor::Snapshot;

/// Tuning of the local runtime; [`Default`] gives production values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalOptions {
    /// Between SIGTERM and SIGKILL when stopping a process group (5 s).
    pub stop_grace: Duration,
    /// The first restart delay after an exit (0.5 s); it doubles per exit.
    pub backoff_initial: Duration,
    /// The longest restart delay (30 s).
    pub backoff_max: Duration,
    /// This many exits within `crash_loop_window` make a process degraded
    /// (5; 0 never does).
    pub crash_loop_restarts: u32,
    /// The crash-loop window (60 s); a run this long also resets the backoff.
    pub crash_loop_window: Duration,
    /// Between liveness checks, and the slowest readiness check (1 s).
    pub probe_interval: Duration,
    /// How long one probe may take (1 s).
    pub probe_timeout: Duration,
    /// Consecutive liveness failures that restart a process (3).
    pub liveness_failures: u32,
    /// Without a readiness probe, a process is ready after this uptime (1 s).
    pub ready_after: Duration,
    /// A log file is rotated past this size (1 MiB); one rotated file is kept.
    pub log_max_bytes: u64,
    /// How often a log follower looks for new lines (200 ms).
    pub follow_poll: Duration,
}

impl Default for LocalOptions {
    fn default() -> Self {
        LocalOptions {
            stop_grace: Duration::from_secs(5),
            backoff_initial: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            crash_loop_restarts: 5,
            crash_loop_window: Duration::from_secs(60),
            probe_interval: Duration::from_secs(1),
            probe_timeout: Duration::from_secs(1),
            liveness_failures: 3,
            ready_after: Duration::from_secs(1),
            log_max_bytes: 1024 * 1024,
            follow_poll: Duration::from_millis(200),
        }
    }
}

impl LocalOptions {
    /// The shortest delay any option may mean, so that a zero cannot turn a
    /// restart, probe or poll loop into a busy loop.
    const MINIMUM: Duration = Duration::from_millis(10);

    fn normalized(mut self) -> LocalOptions {
        for duration in [
            &mut self.backoff_initial,
            &mut self.backoff_max,
            &mut self.probe_interval,
            &mut self.follow_poll,
        ] {
            *duration = (*duration).max(Self::MINIMUM);
        }
        self.backoff_max = self.backoff_max.max(self.backoff_initial);
        self
    }
}

/// `start + duration`, or a far future instead of an overflow.
pub(crate) fn after(start: tokio::time::Instant, duration: Duration) -> tokio::time::Instant {
    start
        .checked_add(duration)
        .or_else(|| start.checked_add(Duration::from_secs(100 * 365 * 24 * 3600)))
        .unwrap_or(start)
}

/// Runs instances as supervised local processes; see the module docs.
///
/// Cheap to clone: clones share the same supervisors.
#[derive(Clone)]
pub struct LocalRuntime {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for LocalRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalRuntime")
            .field("root", &self.inner.layout.root())
            .finish_non_exhaustive()
    }
}

struct Inner {
    layout: Layout,
    options: LocalOptions,
    instances: Mutex<BTreeMap<String, Supervised>>,
    /// Applies and deletes hold it shared, shutdown exclusively: a shutdown
    /// waits for changes in flight, and none starts after it.
    changes: tokio::sync::RwLock<()>,
    /// Serializes applies and deletes of one environment; environments
    /// change side by side, so a slow stop in one never holds up another.
    environment_locks: Mutex<BTreeMap<String, Arc<tokio::sync::Mutex<()>>>>,
    shut_down: AtomicBool,
    /// Stop senders of abandoned instances, kept so that their supervisors
    /// never see a closed channel (which means "stop").
    abandoned: Mutex<Vec<watch::Sender<bool>>>,
}

/// One instance this runtime supervises.
struct Supervised {
    environment: String,
    spec: Arc<InstanceSpec>,
    dir: PathBuf,
    snapshot: Arc<watch::Sender<Snapshot>>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Inner {
    /// The lock of one environment's applies and deletes.
    fn environment_lock(&self, environment: &str) -> Arc<tokio::sync::Mutex<()>> {
        Arc::clone(
            lock(&self.environment_locks)
                .entry(environment.to_owned())
                .or_default(),
        )
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not take the runtime down with it; the map
    // stays consistent because it is only changed by whole inserts/removes.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl LocalRuntime {
    /// A runtime keeping its state under `root` (usually
    /// `<dataDir>/runtime`), created if missing. Nothing starts until
    /// [`Runtime::apply`]; that is also when earlier processes are adopted.
    pub fn new(root: PathBuf, options: LocalOptions) -> Result<LocalRuntime, RuntimeError> {
        state::create_private_dir(&root)?;
        let root = std::fs::canonicalize(&root).map_err(RuntimeError::io("resolve", &root))?;
        Ok(LocalRuntime {
            inner: Arc::new(Inner {
                layout: Layout::new(root),
                options: options.normalized(),
                instances: Mutex::new(BTreeMap::new()),
                changes: tokio::sync::RwLock::new(()),
                environment_locks: Mutex::new(BTreeMap::new()),
                shut_down: AtomicBool::new(false),
                abandoned: Mutex::new(Vec::new()),
            }),
        })
    }

    /// The state directory.
    pub fn root(&self) -> &Path {
        self.inner.layout.root()
    }

    /// Stops supervising without stopping anything, as a crash would: the
    /// processes keep running and a new runtime over the same root can
    /// adopt them. This runtime accepts no more plans.
    pub fn abandon(&self) {
        self.inner.shut_down.store(true, Ordering::SeqCst);
        let instances = std::mem::take(&mut *lock(&self.inner.instances));
        let mut abandoned = lock(&self.inner.abandoned);
        for (_, supervised) in instances {
            for task in &supervised.tasks {
                task.abort();
            }
            abandoned.push(supervised.stop);
        }
    }

    /// Kills every process recorded under the root at once (SIGKILL to each
    /// group, no grace), including ones of other runtimes over the same root
    /// and leftovers, and stops supervising. A last resort (and the cleanup
    /// of tests); [`Runtime::shutdown`] is the graceful way. Synchronous,
    /// so it can run in `Drop` and in panic handlers.
    pub fn kill_all(&self) {
        self.inner.shut_down.store(true, Ordering::SeqCst);
        let instances = std::mem::take(&mut *lock(&self.inner.instances));
        for supervised in instances.values() {
            for task in &supervised.tasks {
                task.abort();
            }
        }
        // A supervisor that was mid-restart when aborted may still write a
        // pid file; the second pass catches it.
        for pass in 0..2 {
            if pass > 0 {
                std::thread::sleep(Duration::from_millis(20));
            }
            for (environment, id) in state::all_instance_dirs(&self.inner.layout) {
                state::kill_recorded_in(&self.inner.layout.instance_dir(&environment, &id));
            }
        }
        lock(&self.inner.abandoned).extend(instances.into_values().map(|s| s.stop));
    }

    fn ensure_running(&self) -> Result<(), RuntimeError> {
        if self.inner.shut_down.load(Ordering::SeqCst) {
            Err(RuntimeError::ShutDown)
        } else {
            Ok(())
        }
    }
}

impl Runtime for LocalRuntime {
    fn apply<'a>(&'a self, plan: &'a EnvironmentPlan) -> BoxFuture<'a, Result<(), RuntimeError>> {
        Box::pin(self.apply_plan(plan))
    }

    fn status<'a>(
        &'a self,
        environment: &'a str,
    ) -> BoxFuture<'a, Result<Vec<InstanceStatus>, RuntimeError>> {
        Box::pin(async move {
            Ok(lock(&self.inner.instances)
                .values()
                .filter(|supervised| supervised.environment == environment)
                .map(|supervised| supervised.snapshot.borrow().status())
                .collect())
        })
    }

    fn instance<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<InstanceStatus>, RuntimeError>> {
        Box::pin(async move {
            Ok(lock(&self.inner.instances)
                .get(id)
                .map(|supervised| supervised.snapshot.borrow().status()))
        })
    }

    fn wait_ready<'a>(
        &'a self,
        id: &'a str,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<(), RuntimeError>> {
        Box::pin(self.wait(id, timeout))
    }

    fn logs<'a>(
        &'a self,
        id: &'a str,
        process: &'a str,
        tail: usize,
    ) -> BoxFuture<'a, Result<Vec<LogLine>, RuntimeError>> {
        Box::pin(self.tail(id, process, tail))
    }

    fn follow_logs<'a>(
        &'a self,
        id: &'a str,
        process: &'a str,
    ) -> BoxFuture<'a, Result<LogFollower, RuntimeError>> {
        Box::pin(async move { self.follow(id, process) })
    }

    fn delete_environment<'a>(
        &'a self,
        environment: &'a str,
    ) -> BoxFuture<'a, Result<(), RuntimeError>> {
        Box::pin(self.delete(environment))
    }

    fn shutdown(&self) -> BoxFuture<'_, Result<(), RuntimeError>> {
        Box::pin(self.stop_everything())
    }

    fn environments(&self) -> BoxFuture<'_, Result<Vec<String>, RuntimeError>> {
        Box::pin(async move { Ok(self.environment_names()) })
    }
}
