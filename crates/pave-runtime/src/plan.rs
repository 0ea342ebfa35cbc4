//! The desired state of an environment: pure data, no IO.
//!
//! A caller (the deploy engine) maps a Score workload, its resolved config
//! and the ports it assigned into an [`EnvironmentPlan`]; a [`crate::Runtime`]
//! makes the environment look like it. Every value here is already final:
//! placeholders are substituted, the checkout exists, the ports are chosen.
//! [`EnvironmentPlan::validate`] rejects what no runtime could run (names
//! that are not safe path components, files escaping their directory,
//! headers that would split an HTTP request, …) before anything starts.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::RuntimeError;

/// Longest environment name, instance id or process name.
pub const MAX_NAME_LENGTH: usize = 128;

/// The whole desired state of one environment: exactly these instances run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentPlan {
    /// The environment's name (a safe path component: letters, digits, `.`, `_`, `-`).
    pub environment: String,
    /// The instances that must run; any other instance of the environment is stopped.
    pub instances: Vec<InstanceSpec>,
}

/// One running copy of a workload (one deployment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceSpec {
    /// Unique across all environments (a deployment id); the same id is the
    /// same running instance, so a changed spec needs a new id.
    pub id: String,
    /// The workload (component) this is an instance of; informational.
    pub workload: String,
    /// The processes (Score containers) of the instance; at least one.
    pub processes: Vec<ProcessSpec>,
    /// Named host ports on 127.0.0.1 assigned to this instance. Each becomes
    /// `PAVE_PORT_<NAME>` in every process's environment.
    #[serde(default)]
    pub ports: BTreeMap<String, u16>,
    /// The port that becomes `PORT`; without it, the first port by name.
    #[serde(default)]
    pub primary_port: Option<String>,
}

/// One process of an instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessSpec {
    /// The Score container name; unique within the instance.
    pub name: String,
    /// The program: a name looked up in `PATH`, or a path (relative ones are
    /// relative to `working_dir`).
    pub program: String,
    /// Its arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// Environment variables, already substituted. They win over the
    /// inherited `PATH`, `HOME`, `LANG` and `TMPDIR`, but not over `PORT`
    /// and `PAVE_PORT_*`, which the runtime owns.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// An absolute path to the directory the process runs in (a checkout the
    /// caller prepared).
    pub working_dir: PathBuf,
    /// Files written before every start of the process.
    #[serde(default)]
    pub files: Vec<FileSpec>,
    /// Until this succeeds the process is not ready (without one: once it
    /// has been up for a moment).
    #[serde(default)]
    pub readiness: Option<Probe>,
    /// Once ready, repeated failures of this restart the process.
    #[serde(default)]
    pub liveness: Option<Probe>,
}

/// A file written before a process starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSpec {
    /// Relative: inside the instance's own directory (which is also `HOME`).
    /// Absolute: must lie inside the process's `working_dir`.
    pub path: PathBuf,
    /// Unix permission bits; `0o600` when absent.
    #[serde(default)]
    pub mode: Option<u32>,
    /// The bytes to write.
    pub content: Vec<u8>,
}

/// How to tell whether a process is ready or alive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Probe {
    /// A plain HTTP/1.1 GET to `127.0.0.1:port`; a 2xx or 3xx status is success.
    Http {
        /// The host port (the caller maps container ports to host ports).
        port: u16,
        /// The request path, starting with `/`.
        path: String,
        /// Extra request headers.
        #[serde(default)]
        headers: Vec<(String, String)>,
    },
    /// A command run in the process's working directory with its
    /// environment; exit status 0 is success.
    Exec {
        /// The program and its arguments.
        command: Vec<String>,
    },
}

impl InstanceSpec {
    /// The name of the port that becomes `PORT`, if the instance has ports.
    pub fn primary_port_name(&self) -> Option<&str> {
        match &self.primary_port {
            Some(name) => Some(name.as_str()),
            None => self.ports.keys().next().map(String::as_str),
        }
    }

    /// The variables the runtime adds to every process: `PORT` (the primary
    /// port) and `PAVE_PORT_<NAME>` for every named port.
    pub fn port_env(&self) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        for (name, port) in &self.ports {
            env.insert(port_variable(name), port.to_string());
        }
        if let Some(port) = self
            .primary_port_name()
            .and_then(|name| self.ports.get(name))
        {
            env.insert("PORT".to_owned(), port.to_string());
        }
        env
    }
}

/// `PAVE_PORT_<NAME>`: the name upper-cased, anything but ASCII letters and
/// digits replaced by `_`.
pub fn port_variable(name: &str) -> String {
    let normalized: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("PAVE_PORT_{normalized}")
}

/// Whether `name` can be used as one path component: 1 to
/// [`MAX_NAME_LENGTH`] ASCII letters, digits, `.`, `_` and `-`, not starting
/// with `.` or `-`.
pub fn is_safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LENGTH
        && !name.starts_with(['.', '-'])
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Top-level names in an instance directory that belong to the runtime, so a
/// relative [`FileSpec`] may not write there.
pub(crate) fn is_reserved_instance_entry(name: &str) -> bool {
    name == "instance.json" || name == "logs" || name.ends_with(".pid")
}

fn invalid(what: impl Into<String>, reason: impl Into<String>) -> RuntimeError {
    RuntimeError::InvalidPlan {
        what: what.into(),
        reason: reason.into(),
    }
}

impl EnvironmentPlan {
    /// Checks everything that can be checked without touching the system.
    pub fn validate(&self) -> Result<(), RuntimeError> {
        if !is_safe_name(&self.environment) {
            return Err(invalid(
                format!("environment {:?}", self.environment),
                "use 1 to 128 letters, digits, '.', '_' or '-', not starting with '.' or '-'",
            ));
        }
        let mut ids = BTreeSet::new();
        let mut ports: BTreeMap<u16, String> = BTreeMap::new();
        for instance in &self.instances {
            instance.validate()?;
            if !ids.insert(instance.id.as_str()) {
                return Err(invalid(
                    format!("instance {:?}", instance.id),
                    "the id appears twice in the plan; give every instance its own id",
                ));
            }
            for port in instance.ports.values() {
                if let Some(other) = ports.insert(*port, instance.id.clone())
                    && other != instance.id
                {
                    return Err(invalid(
                        format!("port {port}"),
                        format!(
                            "assigned to both instance {other:?} and instance {:?}; \
                             give each instance its own ports (see free_ports)",
                            instance.id
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

impl InstanceSpec {
    /// Checks one instance; see [`EnvironmentPlan::validate`].
    pub fn validate(&self) -> Result<(), RuntimeError> {
        let what = |detail: &str| format!("instance {:?}{detail}", self.id);
        if !is_safe_name(&self.id) {
            return Err(invalid(
                what(""),
                "an id must be 1 to 128 letters, digits, '.', '_' or '-', not starting with '.' or '-'",
            ));
        }
        if self.processes.is_empty() {
            return Err(invalid(what(""), "it has no processes"));
        }
        let mut variables = BTreeMap::new();
        for (name, port) in &self.ports {
            if name.is_empty() || name.chars().any(char::is_control) {
                return Err(invalid(
                    what(&format!(", port name {name:?}")),
                    "a port name must be non-empty text",
                ));
            }
            if *port == 0 {
                return Err(invalid(
                    what(&format!(", port {name:?}")),
                    "port 0 is not a port; assign a real one (see free_ports)",
                ));
            }
            if let Some(other) = variables.insert(port_variable(name), name) {
                return Err(invalid(
                    what(&format!(", port {name:?}")),
                    format!(
                        "it and port {other:?} both become {}; rename one",
                        port_variable(name)
                    ),
                ));
            }
        }
        if let Some(primary) = &self.primary_port
            && !self.ports.contains_key(primary)
        {
            return Err(invalid(
                what(""),
                format!("primary_port {primary:?} is not one of its ports"),
            ));
        }
        let mut names = BTreeSet::new();
        for process in &self.processes {
            let what = |detail: &str| what(&format!(", process {:?}{detail}", process.name));
            if !is_safe_name(&process.name) {
                return Err(invalid(
                    what(""),
                    "a process name must be 1 to 128 letters, digits, '.', '_' or '-', not starting with '.' or '-'",
                ));
            }
            if !names.insert(process.name.as_str()) {
                return Err(invalid(what(""), "two processes have this name"));
            }
            process
                .validate()
                .map_err(|reason| invalid(what(""), reason))?;
        }
        Ok(())
    }
}

impl ProcessSpec {
    fn validate(&self) -> Result<(), String> {
        if self.program.is_empty() || self.program.contains('\0') {
            return Err("the program must be a non-empty name or path without NUL".into());
        }
        if self.args.iter().any(|arg| arg.contains('\0')) {
            return Err("an argument contains NUL".into());
        }
        for (key, value) in &self.env {
            if key.is_empty() || key.contains(['=', '\0']) || value.contains('\0') {
                return Err(format!(
                    "environment variable {key:?} is invalid: names must be non-empty without '=' or NUL, values without NUL"
                ));
            }
        }
        if !self.working_dir.is_absolute() {
            return Err(format!(
                "working_dir {:?} must be an absolute path",
                self.working_dir
            ));
        }
        for file in &self.files {
            validate_file(file, &self.working_dir)?;
        }
        for probe in [&self.readiness, &self.liveness].into_iter().flatten() {
            validate_probe(probe)?;
        }
        Ok(())
    }
}

fn validate_file(file: &FileSpec, working_dir: &Path) -> Result<(), String> {
    let path = &file.path;
    if file.mode.is_some_and(|mode| mode > 0o7777) {
        return Err(format!("file {path:?}: mode must be at most 0o7777"));
    }
    let bad_component = path
        .components()
        .any(|c| matches!(c, Component::ParentDir | Component::CurDir));
    if path.as_os_str().is_empty() || bad_component {
        return Err(format!(
            "file {path:?}: the path must be non-empty and contain no '.' or '..' components"
        ));
    }
    if path.is_absolute() {
        if !path.starts_with(working_dir) || path == working_dir {
            return Err(format!(
                "file {path:?}: an absolute path must lie inside the working directory {working_dir:?}"
            ));
        }
    } else {
        let first = path
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .unwrap_or_default();
        if is_reserved_instance_entry(first) {
            return Err(format!(
                "file {path:?}: instance.json, logs/ and *.pid in the instance directory belong to the runtime; choose another path"
            ));
        }
    }
    Ok(())
}

fn validate_probe(probe: &Probe) -> Result<(), String> {
    match probe {
        Probe::Http {
            port,
            path,
            headers,
        } => {
            if *port == 0 {
                return Err("an HTTP probe needs a port other than 0".into());
            }
            if !path.starts_with('/') || path.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(format!(
                    "HTTP probe path {path:?} must start with '/' and contain no spaces or control characters"
                ));
            }
            for (name, value) in headers {
                let token = !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
                if !token || value.chars().any(|c| c.is_control() && c != '\t') {
                    return Err(format!(
                        "HTTP probe header {name:?} is invalid: the name must be an HTTP token and the value must not contain control characters"
                    ));
                }
            }
        }
        Probe::Exec { command } => {
            let Some(program) = command.first() else {
                return Err("an exec probe needs a command".into());
            };
            if program.is_empty() || command.iter().any(|part| part.contains('\0')) {
                return Err(
                    "an exec probe's command must be a non-empty program without NUL".into(),
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
