//! Runtimes: where deployed workloads actually run.
//!
//! This crate owns the [`Runtime`] trait and its implementations. A runtime
//! is told the whole desired state of one environment (an
//! [`EnvironmentPlan`]: which instances, each a set of processes with their
//! environment, files, ports and probes) and converges to it; it reports
//! [`InstanceStatus`], serves logs, and deletes environments. The deploy
//! engine maps Score workloads to plans and watches the status; it never
//! knows which runtime it drives, so adding Docker, Nomad or Kubernetes
//! means adding an implementation here and nothing in the engines.
//!
//! Implementations:
//! - [`local::LocalRuntime`]: supervised processes on this machine, on
//!   loopback ports (`pave up`). Its module docs say what survives a crash
//!   of Pave and how processes are re-adopted.
//! - A Kubernetes runtime (a namespace per environment, server-side apply)
//!   will come later behind a cargo feature.
//!
//! Architecture invariants:
//! - The trait is object-safe and `Send + Sync` (`Arc<dyn Runtime>`), with
//!   boxed futures instead of `async fn`, and every method may fail, since a
//!   remote runtime can.
//! - An instance id is a deployment id: the same id always means the same
//!   spec. A changed spec is a new instance, so a runtime never has to
//!   diff or patch a running instance.
//! - This crate knows nothing of the database, HTTP, the catalog or Score:
//!   the plan is plain data, already substituted, with ports already
//!   chosen ([`free_ports`] helps the caller choose).

pub mod error;
pub mod local;
pub mod plan;
pub mod status;

use std::future::Future;
use std::net::TcpListener;
use std::pin::Pin;
use std::time::Duration;

pub use error::RuntimeError;
pub use local::{LocalOptions, LocalRuntime};
pub use plan::{EnvironmentPlan, FileSpec, InstanceSpec, Probe, ProcessSpec};
pub use status::{InstanceState, InstanceStatus, LogFollower, LogLine, LogStream, ProcessStatus};

/// A boxed future, as the [`Runtime`] methods return (object-safe `async`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Runs environments. See the crate docs.
pub trait Runtime: Send + Sync {
    /// Converges the environment to `plan`: starts the instances that do not
    /// run yet (adopting ones a previous Pave left running, where the
    /// runtime can), keeps the ones that run, and stops the environment's
    /// instances that are not in the plan. An id that already runs with a
    /// different spec is an error, and so is one that runs in another
    /// environment; both are detected before anything changes. Does not
    /// wait for readiness (see [`Runtime::wait_ready`]). Idempotent: after
    /// an error, applying again converges.
    fn apply<'a>(&'a self, plan: &'a EnvironmentPlan) -> BoxFuture<'a, Result<(), RuntimeError>>;

    /// The status of every instance of the environment that this runtime runs.
    fn status<'a>(
        &'a self,
        environment: &'a str,
    ) -> BoxFuture<'a, Result<Vec<InstanceStatus>, RuntimeError>>;

    /// The status of one instance, if this runtime runs it.
    fn instance<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<InstanceStatus>, RuntimeError>>;

    /// Waits until the instance is ready. Fails as soon as it is failed,
    /// degraded or stopped, or when `timeout` passes, with the reason and
    /// the last log lines ([`RuntimeError::NotReady`]).
    fn wait_ready<'a>(
        &'a self,
        id: &'a str,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<(), RuntimeError>>;

    /// The last `tail` lines a process of the instance wrote. What "last"
    /// means across stdout and stderr depends on the runtime (the local one
    /// returns up to `tail` lines of each, stdout first).
    fn logs<'a>(
        &'a self,
        id: &'a str,
        process: &'a str,
        tail: usize,
    ) -> BoxFuture<'a, Result<Vec<LogLine>, RuntimeError>>;

    /// The lines a process writes from now on, until the instance is
    /// removed or the follower dropped.
    fn follow_logs<'a>(
        &'a self,
        id: &'a str,
        process: &'a str,
    ) -> BoxFuture<'a, Result<LogFollower, RuntimeError>>;

    /// Stops everything of the environment and removes its state.
    fn delete_environment<'a>(
        &'a self,
        environment: &'a str,
    ) -> BoxFuture<'a, Result<(), RuntimeError>>;

    /// Stops every instance (a graceful Pave shutdown), so that no process
    /// outlives Pave. The runtime accepts no plans afterwards.
    fn shutdown(&self) -> BoxFuture<'_, Result<(), RuntimeError>>;

    /// The environments this runtime has state for, including leftovers the
    /// database may no longer know (the reconciler deletes those).
    fn environments(&self) -> BoxFuture<'_, Result<Vec<String>, RuntimeError>>;
}

/// `count` distinct free TCP ports on 127.0.0.1, found by binding port 0 and
/// releasing. Another program may take one before it is used; applying a
/// plan then fails with [`RuntimeError::PortInUse`].
pub fn free_ports(count: usize) -> std::io::Result<Vec<u16>> {
    // All listeners stay open until every port is read, so they differ.
    let listeners = (0..count)
        .map(|_| TcpListener::bind(("127.0.0.1", 0)))
        .collect::<std::io::Result<Vec<_>>>()?;
    listeners
        .iter()
        .map(|listener| listener.local_addr().map(|address| address.port()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_ports_are_distinct_and_bindable() {
        let ports = free_ports(20).expect("ports");
        let distinct: std::collections::BTreeSet<u16> = ports.iter().copied().collect();
        assert_eq!(distinct.len(), 20);
        assert!(ports.iter().all(|port| *port != 0));
        let first = ports.first().copied().expect("a port");
        TcpListener::bind(("127.0.0.1", first)).expect("released again");
        assert!(free_ports(0).expect("none").is_empty());
    }

    #[test]
    fn the_local_runtime_is_usable_as_a_trait_object() {
        let root = tempfile::tempdir().expect("temp dir");
        let runtime: std::sync::Arc<dyn Runtime> = std::sync::Arc::new(
            LocalRuntime::new(root.path().join("runtime"), LocalOptions::default())
                .expect("runtime"),
        );
        drop(runtime);
    }
}
