//! The supervisor of one process: start, watch, probe, restart, stop.
//!
//! Each process of an instance has its own task running [`supervise`]. It
//! owns the process from its first start (or adoption) until a stop is
//! requested, and reports into the instance's shared [`Snapshot`], from
//! which the instance state is derived:
//!
//! - An exit (or a liveness failure, which kills the group) is followed by a
//!   restart after an exponential backoff (`backoff_initial` doubling up to
//!   `backoff_max`, back to the start after a run that lasted a whole crash
//!   window). What is left of the group is killed before the restart.
//! - `crash_loop_restarts` exits within `crash_loop_window` make the process
//!   degraded; it keeps being restarted and recovers once the exits age out
//!   of the window.
//! - Readiness is checked quickly at first (50 ms, doubling up to
//!   `probe_interval`) so fast starters are ready fast; without a readiness
//!   probe a process is ready once it has been up for `ready_after` (an
//!   adopted one at once: it was up before Pave restarted). Once ready, it
//!   stays ready until it exits; from then on the liveness probe runs every
//!   `probe_interval`.
//! - A stop request terminates the group (SIGTERM, `stop_grace`, SIGKILL)
//!   and ends the task.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::{Instant, sleep, sleep_until};

use crate::local::logs;
use crate::local::probe::{self, ProbeContext};
use crate::local::process::{Launch, Running};
use crate::local::state;
use crate::local::{LocalOptions, after};
use crate::plan::InstanceSpec;
use crate::status::{InstanceState, InstanceStatus, LogStream, ProcessStatus};

/// The first interval between readiness checks.
const FIRST_READINESS_CHECK: Duration = Duration::from_millis(50);

/// How often the log files are checked against the size limit.
const ROTATION_CHECK: Duration = Duration::from_millis(250);

/// The shared, live state of one instance.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    pub(crate) id: String,
    pub(crate) environment: String,
    pub(crate) workload: String,
    pub(crate) processes: Vec<ProcessRecord>,
    pub(crate) stopped: bool,
}

/// The live state of one process.
#[derive(Debug, Clone)]
pub(crate) struct ProcessRecord {
    pub(crate) status: ProcessStatus,
    /// Set while the process is in a crash loop.
    pub(crate) degraded: Option<String>,
    /// Set while the process cannot be started at all.
    pub(crate) failed: Option<String>,
}

impl Snapshot {
    pub(crate) fn new(environment: &str, spec: &InstanceSpec) -> Snapshot {
        Snapshot {
            id: spec.id.clone(),
            environment: environment.to_owned(),
            workload: spec.workload.clone(),
            processes: spec
                .processes
                .iter()
                .map(|process| ProcessRecord {
                    status: ProcessStatus {
                        name: process.name.clone(),
                        pid: None,
                        restarts: 0,
                        last_exit: None,
                        ready: false,
                        last_probe_failure: None,
                    },
                    degraded: None,
                    failed: None,
                })
                .collect(),
            stopped: false,
        }
    }

    /// The instance state: stopped, else the first failure, else the first
    /// degradation, else ready when every process is.
    pub(crate) fn state(&self) -> InstanceState {
        if self.stopped {
            return InstanceState::Stopped;
        }
        let named = |record: &ProcessRecord, reason: &str| {
            format!("process {:?}: {reason}", record.status.name)
        };
        if let Some((record, reason)) = self
            .processes
            .iter()
            .find_map(|record| Some((record, record.failed.as_deref()?)))
        {
            return InstanceState::Failed {
                reason: named(record, reason),
            };
        }
        if let Some((record, reason)) = self
            .processes
            .iter()
            .find_map(|record| Some((record, record.degraded.as_deref()?)))
        {
            return InstanceState::Degraded {
                reason: named(record, reason),
            };
        }
        if self.processes.iter().all(|record| record.status.ready) {
            InstanceState::Ready
        } else {
            InstanceState::Starting
        }
    }

    pub(crate) fn status(&self) -> InstanceStatus {
        InstanceStatus {
            id: self.id.clone(),
            environment: self.environment.clone(),
            workload: self.workload.clone(),
            state: self.state(),
            processes: self
                .processes
                .iter()
                .map(|record| record.status.clone())
                .collect(),
        }
    }
}

/// What one process supervisor needs.
pub(crate) struct Supervisor {
    pub(crate) launch: Launch,
    /// The process's position in [`Snapshot::processes`].
    pub(crate) index: usize,
    pub(crate) options: LocalOptions,
    pub(crate) snapshot: Arc<watch::Sender<Snapshot>>,
    pub(crate) stop: watch::Receiver<bool>,
}

/// Why a run of the process ended.
enum Outcome {
    Exited(String),
    LivenessFailed(String),
    StopRequested,
}

type ProbeFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

impl Supervisor {
    fn update(&self, change: impl FnOnce(&mut ProcessRecord)) {
        self.snapshot.send_modify(|snapshot| {
            if let Some(record) = snapshot.processes.get_mut(self.index) {
                change(record);
            }
        });
    }

    fn probe_context(&self) -> ProbeContext {
        ProbeContext {
            working_dir: self.launch.spec.working_dir.clone(),
            env: Arc::clone(&self.launch.env),
            timeout: self.options.probe_timeout,
        }
    }

    /// Waits for `duration` unless a stop is requested first (then true).
    async fn stop_requested_within(&mut self, duration: Duration) -> bool {
        if *self.stop.borrow() {
            return true;
        }
        tokio::select! {
            () = sleep(duration) => false,
            _ = self.stop.changed() => true,
        }
    }

    fn crash_loop(&self, exits: &mut VecDeque<Instant>, last_exit: &str) -> Option<String> {
        let window = self.options.crash_loop_window;
        while exits.front().is_some_and(|exit| exit.elapsed() > window) {
            exits.pop_front();
        }
        let threshold = usize::try_from(self.options.crash_loop_restarts).unwrap_or(usize::MAX);
        (threshold > 0 && exits.len() >= threshold).then(|| {
            format!(
                "crash loop: exited {} times in {} s; last exit: {last_exit}",
                exits.len(),
                window.as_secs()
            )
        })
    }

    /// Runs until a stop is requested. `first` is the already started (or
    /// adopted) process.
    pub(crate) async fn supervise(mut self, first: Running) {
        let mut backoff = self.options.backoff_initial;
        let mut exits: VecDeque<Instant> = VecDeque::new();
        let mut next = Some(first);
        loop {
            let mut running = match next.take() {
                Some(running) => running,
                None => match self.launch.spawn() {
                    Ok((child, record)) => Running::Child { child, record },
                    Err(error) => {
                        tracing::warn!(instance = %self.launch.instance_id, process = %self.launch.spec.name, %error, "could not restart process");
                        let reason = error.to_string();
                        self.update(|record| {
                            record.failed = Some(reason);
                            record.status.pid = None;
                            record.status.ready = false;
                        });
                        if self.stop_requested_within(backoff).await {
                            break;
                        }
                        backoff = backoff.saturating_mul(2).min(self.options.backoff_max);
                        continue;
                    }
                },
            };
            let adopted = matches!(running, Running::Adopted { .. });
            let pid = running.record().pid;
            self.update(|record| {
                record.failed = None;
                record.status.pid = Some(pid);
                record.status.ready = false;
            });
            let started = Instant::now();
            let outcome = self.run(&mut running, adopted, &mut exits).await;
            let last_exit = match outcome {
                Outcome::StopRequested => {
                    running.terminate(self.options.stop_grace).await;
                    state::remove_pid(&self.launch.instance_dir, &self.launch.spec.name);
                    break;
                }
                Outcome::LivenessFailed(reason) => {
                    tracing::info!(instance = %self.launch.instance_id, process = %self.launch.spec.name, %reason, "liveness failed; restarting");
                    running.terminate(self.options.stop_grace).await;
                    reason
                }
                Outcome::Exited(how) => {
                    tracing::info!(instance = %self.launch.instance_id, process = %self.launch.spec.name, exit = %how, "process exited; restarting");
                    running.kill_remnants().await;
                    how
                }
            };
            state::remove_pid(&self.launch.instance_dir, &self.launch.spec.name);
            exits.push_back(Instant::now());
            if started.elapsed() >= self.options.crash_loop_window {
                backoff = self.options.backoff_initial;
            }
            let degraded = self.crash_loop(&mut exits, &last_exit);
            self.update(|record| {
                record.status.pid = None;
                record.status.ready = false;
                record.status.restarts = record.status.restarts.saturating_add(1);
                record.status.last_exit = Some(last_exit);
                record.degraded = degraded;
            });
            if self.stop_requested_within(backoff).await {
                break;
            }
            backoff = backoff.saturating_mul(2).min(self.options.backoff_max);
        }
        self.update(|record| {
            record.status.pid = None;
            record.status.ready = false;
        });
    }

    /// Watches one run of the process until it exits, fails its liveness
    /// probe, or a stop is requested.
    async fn run(
        &mut self,
        running: &mut Running,
        adopted: bool,
        exits: &mut VecDeque<Instant>,
    ) -> Outcome {
        let started = Instant::now();
        let spec = self.launch.spec.clone();
        let mut ready = false;
        let mut readiness_interval = FIRST_READINESS_CHECK;
        let mut next_check = match (&spec.readiness, adopted) {
            (Some(_), _) => after(started, FIRST_READINESS_CHECK),
            (None, true) => started,
            (None, false) => after(started, self.options.ready_after),
        };
        let mut liveness_failures = 0_u32;
        let mut probing: Option<ProbeFuture> = None;
        let mut rotation = tokio::time::interval(ROTATION_CHECK);
        rotation.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let log_paths = [LogStream::Stdout, LogStream::Stderr]
            .map(|stream| logs::log_path(&self.launch.instance_dir, &spec.name, stream));
        loop {
            tokio::select! {
                _ = self.stop.changed() => return Outcome::StopRequested,
                how = running.wait() => return Outcome::Exited(how),
                result = async {
                    match probing.as_mut() {
                        Some(probe) => probe.await,
                        None => std::future::pending().await,
                    }
                } => {
                    probing = None;
                    if ready {
                        match result {
                            Ok(()) => liveness_failures = 0,
                            Err(reason) => {
                                liveness_failures += 1;
                                tracing::debug!(process = %spec.name, %reason, liveness_failures, "liveness probe failed");
                                if liveness_failures >= self.options.liveness_failures.max(1) {
                                    return Outcome::LivenessFailed(format!(
                                        "killed after {liveness_failures} failed liveness probes; last: {reason}"
                                    ));
                                }
                            }
                        }
                        next_check = after(Instant::now(), self.options.probe_interval);
                    } else if result.is_ok() {
                        ready = true;
                        self.update(|record| {
                            record.status.ready = true;
                            record.status.last_probe_failure = None;
                        });
                        next_check = after(Instant::now(), self.options.probe_interval);
                    } else {
                        // Kept so "not ready" can say why.
                        let reason = result.err().unwrap_or_default();
                        self.update(|record| record.status.last_probe_failure = Some(reason));
                        readiness_interval = readiness_interval.saturating_mul(2).min(self.options.probe_interval);
                        next_check = after(Instant::now(), readiness_interval);
                    }
                }
                () = sleep_until(next_check), if probing.is_none() => {
                    let probe = if ready { spec.liveness.clone() } else { spec.readiness.clone() };
                    match probe {
                        Some(probe) => probing = Some(Box::pin(probe::check(probe, self.probe_context()))),
                        None if !ready => {
                            ready = true;
                            self.update(|record| record.status.ready = true);
                        }
                        // Ready and no liveness probe: nothing more to check.
                        None => next_check = after(Instant::now(), Duration::from_secs(3600)),
                    }
                }
                _ = rotation.tick() => {
                    for path in &log_paths {
                        if let Err(error) = logs::rotate_if_needed(path, self.options.log_max_bytes) {
                            tracing::warn!(path = %path.display(), %error, "could not rotate a log file");
                        }
                    }
                    // Exits age out of the crash window while the process runs.
                    if !exits.is_empty() {
                        let last_exit = self.snapshot.borrow().processes.get(self.index)
                            .and_then(|record| record.status.last_exit.clone())
                            .unwrap_or_default();
                        let degraded = self.crash_loop(exits, &last_exit);
                        let index = self.index;
                        self.snapshot.send_if_modified(|snapshot| {
                            match snapshot.processes.get_mut(index) {
                                Some(record) if record.degraded != degraded => {
                                    record.degraded = degraded;
                                    true
                                }
                                _ => false,
                            }
                        });
                    }
                }
            }
        }
    }
}
