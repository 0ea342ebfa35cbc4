//! What a runtime reports back: instance states and log lines.

use std::fmt;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The state of one instance, as a deploy engine reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum InstanceState {
    /// Running (or about to), but not every process is ready yet.
    Starting,
    /// Every process passed its readiness check.
    Ready,
    /// Running but unhealthy, e.g. a process is in a crash loop; the runtime
    /// keeps retrying.
    Degraded { reason: String },
    /// A process cannot be started at all; the runtime keeps retrying, slowly.
    Failed { reason: String },
    /// Stopped (or being stopped).
    Stopped,
}

impl fmt::Display for InstanceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstanceState::Starting => f.write_str("starting"),
            InstanceState::Ready => f.write_str("ready"),
            InstanceState::Degraded { reason } => write!(f, "degraded ({reason})"),
            InstanceState::Failed { reason } => write!(f, "failed ({reason})"),
            InstanceState::Stopped => f.write_str("stopped"),
        }
    }
}

/// The status of one instance and its processes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceStatus {
    /// The instance id from the plan.
    pub id: String,
    /// Its environment.
    pub environment: String,
    /// Its workload.
    pub workload: String,
    /// The state of the whole instance.
    pub state: InstanceState,
    /// One entry per process, in plan order.
    pub processes: Vec<ProcessStatus>,
}

/// The status of one process of an instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessStatus {
    /// The process name from the plan.
    pub name: String,
    /// The running process's id, if one runs now.
    pub pid: Option<u32>,
    /// How often it has been restarted since this runtime took it over.
    pub restarts: u32,
    /// How its last run ended (`exit code 1`, `killed by signal 9`, …).
    pub last_exit: Option<String>,
    /// Whether its readiness check has passed since it last started.
    pub ready: bool,
    /// Why the last readiness check failed, while it is not ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_probe_failure: Option<String>,
}

/// Which output stream a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogStream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

impl fmt::Display for LogStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogStream::Stdout => "stdout",
            LogStream::Stderr => "stderr",
        })
    }
}

/// One line a process wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// When the runtime saw the line, if it knows. The local runtime's
    /// processes write straight to files, so lines read back from a file
    /// have no time; followed lines carry the time they were read (within
    /// the follow poll interval of when they were written).
    pub time: Option<jiff::Timestamp>,
    /// The stream it was written to.
    pub stream: LogStream,
    /// The line without its line break (invalid UTF-8 replaced).
    pub text: String,
}

/// New log lines of one process as they are written.
///
/// Ends (returns `None`) when the process's instance is removed. Dropping it
/// stops the reading. The channel is bounded: a consumer that does not keep
/// up slows the reader down rather than growing memory.
#[derive(Debug)]
pub struct LogFollower {
    lines: mpsc::Receiver<LogLine>,
    reader: Option<JoinHandle<()>>,
}

impl LogFollower {
    /// Wraps a channel fed by `reader`, which is aborted when the follower is
    /// dropped. For runtimes implementing [`crate::Runtime::follow_logs`].
    pub fn new(lines: mpsc::Receiver<LogLine>, reader: Option<JoinHandle<()>>) -> LogFollower {
        LogFollower { lines, reader }
    }

    /// The next line, waiting for it; `None` once the log has ended.
    pub async fn next(&mut self) -> Option<LogLine> {
        self.lines.recv().await
    }
}

impl Drop for LogFollower {
    fn drop(&mut self) {
        if let Some(reader) = self.reader.take() {
            reader.abort();
        }
    }
}
