//! The one error type of this crate.

use std::path::PathBuf;

/// What went wrong while running, inspecting or stopping an environment.
///
/// Every message names what failed and what to do about it. Names from the
/// plan are printed with `{:?}` so control characters cannot forge log lines.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// The plan cannot be run as written; nothing was started or stopped.
    #[error("invalid plan: {what}: {reason}")]
    InvalidPlan { what: String, reason: String },

    /// The program of a process does not exist or is not executable.
    #[error(
        "program {program:?} of process {process:?} (instance {instance:?}) was not found: \
         {detail}; install it, fix the name, or give a path relative to the working \
         directory {working_dir:?}"
    )]
    ProgramNotFound {
        instance: String,
        process: String,
        program: String,
        working_dir: PathBuf,
        detail: String,
    },

    /// The working directory of a process does not exist.
    #[error(
        "working directory {path:?} of process {process:?} (instance {instance:?}) does not \
         exist or is not a directory; prepare the checkout before applying the plan"
    )]
    WorkingDirMissing {
        instance: String,
        process: String,
        path: PathBuf,
    },

    /// A port assigned to a new instance is already bound on 127.0.0.1.
    #[error(
        "port {port} ({name:?}) of instance {instance:?} is already in use on 127.0.0.1; \
         assign a free port (see free_ports) or stop what holds it"
    )]
    PortInUse {
        instance: String,
        name: String,
        port: u16,
    },

    /// The instance already runs with a different spec.
    #[error(
        "instance {id:?} is already running with a different spec; an instance never \
         changes, so deploy the new spec under a new id"
    )]
    SpecChanged { id: String },

    /// The instance id already runs in another environment.
    #[error(
        "instance {id:?} already runs in environment {other:?}, not {environment:?}; \
         instance ids must be unique across environments"
    )]
    IdInOtherEnvironment {
        id: String,
        environment: String,
        other: String,
    },

    /// No instance with this id is known.
    #[error("no instance {id:?} is known to this runtime; check the id, or apply its plan first")]
    UnknownInstance { id: String },

    /// The instance has no process with this name.
    #[error("instance {id:?} has no process {process:?}; its processes are: {known}")]
    UnknownProcess {
        id: String,
        process: String,
        known: String,
    },

    /// The instance did not become ready.
    #[error("instance {id:?} is not ready: {reason}{}", format_lines(last_lines))]
    NotReady {
        id: String,
        reason: String,
        /// The last log lines of its processes, `<process> <stream>: <text>`.
        last_lines: Vec<String>,
    },

    /// A process could not be started.
    #[error(
        "could not start process {process:?} (program {program:?}) of instance {instance:?}: \
         {source}"
    )]
    Spawn {
        instance: String,
        process: String,
        program: String,
        #[source]
        source: std::io::Error,
    },

    /// A file or directory of the runtime's state could not be used.
    #[error("could not {action} {path:?}: {source}; check permissions and free disk space")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The runtime was shut down and no longer applies plans.
    #[error("the runtime has been shut down; start a new one to apply plans")]
    ShutDown,
}

impl RuntimeError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| RuntimeError::Io {
            action,
            path,
            source,
        }
    }
}

fn format_lines(lines: &[String]) -> String {
    if lines.is_empty() {
        return "; it wrote no log lines".to_owned();
    }
    let mut text = String::from("; last log lines:");
    for line in lines {
        text.push_str("\n  ");
        text.push_str(line);
    }
    text
}
