//! Starting and stopping one process of an instance.
//!
//! A process runs in its own process group (its pid is the group id), with
//! stdin from `/dev/null` and stdout and stderr appended straight to files,
//! so it never depends on Pave being alive: a `kill -9` of Pave leaves it
//! running (no pipe to break) and the next Pave re-adopts it. Its
//! environment is cleared except `PATH`, `HOME` (the instance directory),
//! `LANG` and `TMPDIR`, then gets the spec's variables and the runtime's
//! port variables.
//!
//! Stopping signals the whole group, so helpers and grandchildren the
//! process started go with it.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::Signal;
use tokio::process::{Child, Command};
use tokio::time::{Instant, sleep};

use crate::error::RuntimeError;
use crate::local::state::{self, PidRecord};
use crate::local::{after, logs};
use crate::plan::{FileSpec, InstanceSpec, ProcessSpec};
use crate::status::LogStream;

/// Variables passed through from Pave's own environment.
const INHERITED: &[&str] = &["PATH", "LANG", "TMPDIR"];

/// Used when Pave itself has no `PATH`.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// How often a stop checks whether the group is gone.
const STOP_POLL: Duration = Duration::from_millis(25);

/// How long to wait for a group to disappear after SIGKILL.
const KILL_WAIT: Duration = Duration::from_secs(2);

/// The environment a process (and its exec probes) gets.
pub(crate) fn environment(
    instance: &InstanceSpec,
    process: &ProcessSpec,
    instance_dir: &Path,
) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for name in INHERITED {
        if let Ok(value) = std::env::var(name) {
            env.insert((*name).to_owned(), value);
        }
    }
    env.entry("PATH".to_owned())
        .or_insert_with(|| DEFAULT_PATH.to_owned());
    env.insert("HOME".to_owned(), instance_dir.display().to_string());
    env.extend(process.env.clone());
    env.extend(instance.port_env());
    env
}

/// Finds the program to run: a name is looked up in the process's `PATH`
/// (relative entries are relative to the working directory), a path is
/// taken relative to the working directory.
pub(crate) fn resolve_program(
    program: &str,
    working_dir: &Path,
    path_variable: Option<&str>,
) -> Result<PathBuf, String> {
    if program.contains('/') {
        let candidate = working_dir.join(program);
        return match executable(&candidate) {
            Ok(()) => Ok(candidate),
            Err(reason) => Err(format!("{}: {reason}", candidate.display())),
        };
    }
    let search = path_variable.unwrap_or(DEFAULT_PATH);
    for directory in search.split(':').filter(|entry| !entry.is_empty()) {
        let candidate = working_dir.join(directory).join(program);
        if executable(&candidate).is_ok() {
            return Ok(candidate);
        }
    }
    Err(format!("not found in PATH {search:?}"))
}

fn executable(path: &Path) -> Result<(), &'static str> {
    let metadata = fs::metadata(path).map_err(|_| "no such file")?;
    if !metadata.is_file() {
        return Err("not a regular file");
    }
    if metadata.permissions().mode() & 0o111 == 0 {
        return Err("not executable");
    }
    Ok(())
}

/// Checks what would make a spawn fail, so a plan fails before anything
/// changes: the working directory and the program.
pub(crate) fn preflight(
    instance: &InstanceSpec,
    process: &ProcessSpec,
) -> Result<(), RuntimeError> {
    if !process.working_dir.is_dir() {
        return Err(RuntimeError::WorkingDirMissing {
            instance: instance.id.clone(),
            process: process.name.clone(),
            path: process.working_dir.clone(),
        });
    }
    let path = process
        .env
        .get("PATH")
        .cloned()
        .or_else(|| std::env::var("PATH").ok());
    resolve_program(&process.program, &process.working_dir, path.as_deref()).map_err(|detail| {
        RuntimeError::ProgramNotFound {
            instance: instance.id.clone(),
            process: process.name.clone(),
            program: process.program.clone(),
            working_dir: process.working_dir.clone(),
            detail,
        }
    })?;
    Ok(())
}

/// Everything needed to (re)start one process.
#[derive(Debug, Clone)]
pub(crate) struct Launch {
    pub(crate) instance_id: String,
    pub(crate) instance_dir: PathBuf,
    pub(crate) spec: ProcessSpec,
    pub(crate) env: Arc<BTreeMap<String, String>>,
}

impl Launch {
    pub(crate) fn new(
        instance: &InstanceSpec,
        process: &ProcessSpec,
        instance_dir: &Path,
    ) -> Launch {
        Launch {
            instance_id: instance.id.clone(),
            instance_dir: instance_dir.to_owned(),
            spec: process.clone(),
            env: Arc::new(environment(instance, process, instance_dir)),
        }
    }

    fn spawn_error(&self, source: io::Error) -> RuntimeError {
        RuntimeError::Spawn {
            instance: self.instance_id.clone(),
            process: self.spec.name.clone(),
            program: self.spec.program.clone(),
            source,
        }
    }

    /// Writes the files, starts the process and records its pid.
    pub(crate) fn spawn(&self) -> Result<(Child, PidRecord), RuntimeError> {
        if !self.spec.working_dir.is_dir() {
            return Err(RuntimeError::WorkingDirMissing {
                instance: self.instance_id.clone(),
                process: self.spec.name.clone(),
                path: self.spec.working_dir.clone(),
            });
        }
        let program = resolve_program(
            &self.spec.program,
            &self.spec.working_dir,
            self.env.get("PATH").map(String::as_str),
        )
        .map_err(|detail| RuntimeError::ProgramNotFound {
            instance: self.instance_id.clone(),
            process: self.spec.name.clone(),
            program: self.spec.program.clone(),
            working_dir: self.spec.working_dir.clone(),
            detail,
        })?;
        for file in &self.spec.files {
            write_file(file, &self.instance_dir, &self.spec.working_dir)?;
        }
        let log_dir = state::log_dir(&self.instance_dir);
        state::create_private_dir(&log_dir)?;
        let stdout = logs::open_for_append(&logs::log_path(
            &self.instance_dir,
            &self.spec.name,
            LogStream::Stdout,
        ))?;
        let stderr = logs::open_for_append(&logs::log_path(
            &self.instance_dir,
            &self.spec.name,
            LogStream::Stderr,
        ))?;

        let mut command = Command::new(&program);
        command
            .arg0(&self.spec.program)
            .args(&self.spec.args)
            .env_clear()
            .envs(self.env.iter())
            .current_dir(&self.spec.working_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(stdout))
            .stderr(Stdio::from(stderr))
            // Its own group, so a stop reaches everything it starts.
            .process_group(0)
            // Surviving the supervisor is the point: see the module docs.
            .kill_on_drop(false);
        let child = command.spawn().map_err(|source| self.spawn_error(source))?;
        let Some(pid) = child.id() else {
            return Err(self.spawn_error(io::Error::other("it exited before its pid was read")));
        };
        let record = PidRecord {
            pid,
            pgid: pid,
            start_time: state::proc_stat(pid).map_or(0, |stat| stat.start_time),
        };
        if let Err(error) = state::write_pid(&self.instance_dir, &self.spec.name, record) {
            // Without a pid file a later Pave could not find it: don't keep it.
            state::signal_recorded(&record, Signal::SIGKILL);
            return Err(error);
        }
        tracing::info!(instance = %self.instance_id, process = %self.spec.name, pid, "started process");
        Ok((child, record))
    }
}

/// Writes one file below `instance_dir` (relative paths) or `working_dir`
/// (absolute paths inside it), refusing to follow symbolic links on the way
/// so a checkout cannot redirect the write outside its directory.
fn write_file(
    file: &FileSpec,
    instance_dir: &Path,
    working_dir: &Path,
) -> Result<(), RuntimeError> {
    let (base, relative) = if file.path.is_absolute() {
        match file.path.strip_prefix(working_dir) {
            Ok(relative) => (working_dir, relative),
            Err(_) => {
                return Err(RuntimeError::InvalidPlan {
                    what: format!("file {:?}", file.path),
                    reason: format!("it is not inside the working directory {working_dir:?}"),
                });
            }
        }
    } else {
        (instance_dir, file.path.as_path())
    };
    let refused = |reason: &str| RuntimeError::InvalidPlan {
        what: format!("file {:?}", file.path),
        reason: reason.to_owned(),
    };
    let components: Vec<Component<'_>> = relative.components().collect();
    let Some((last, parents)) = components.split_last() else {
        return Err(refused("the path names no file"));
    };
    let mut path = base.to_owned();
    for component in parents {
        let Component::Normal(name) = component else {
            return Err(refused("only plain names may appear in the path"));
        };
        path.push(name);
        match fs::symlink_metadata(&path) {
            Ok(metadata) if metadata.is_dir() => {}
            Ok(_) => {
                return Err(refused(
                    "a parent is a symbolic link or a file, not a directory",
                ));
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                fs::create_dir(&path).map_err(RuntimeError::io("create directory", &path))?;
            }
            Err(source) => {
                return Err(RuntimeError::Io {
                    action: "inspect",
                    path,
                    source,
                });
            }
        }
    }
    let Component::Normal(name) = last else {
        return Err(refused("only plain names may appear in the path"));
    };
    path.push(name);
    if fs::symlink_metadata(&path).is_ok_and(|metadata| !metadata.is_file()) {
        return Err(refused(
            "a symbolic link, directory or special file is in the way",
        ));
    }
    let mode = file.mode.unwrap_or(0o600);
    let write = || -> io::Result<()> {
        let mut handle = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(&path)?;
        io::Write::write_all(&mut handle, &file.content)?;
        // The mode given at creation is filtered by the umask and ignored
        // for an existing file: set it explicitly.
        handle.set_permissions(fs::Permissions::from_mode(mode))
    };
    write().map_err(RuntimeError::io("write", &path))
}

/// How a process ended, for status and messages.
pub(crate) fn describe_exit(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => match Signal::try_from(signal) {
            Ok(name) => format!("killed by signal {signal} ({name})"),
            Err(_) => format!("killed by signal {signal}"),
        },
        (None, None) => "exited".to_owned(),
    }
}

/// A process the runtime watches: its own child, or one adopted from an
/// earlier Pave (not its child, so it is watched through `/proc`).
#[derive(Debug)]
pub(crate) enum Running {
    Child { child: Child, record: PidRecord },
    Adopted { record: PidRecord },
}

/// How often an adopted process is checked for having exited.
const ADOPTED_POLL: Duration = Duration::from_millis(200);

impl Running {
    pub(crate) fn record(&self) -> PidRecord {
        match self {
            Running::Child { record, .. } | Running::Adopted { record } => *record,
        }
    }

    /// Waits for the process (the group leader) to exit. Cancel-safe.
    pub(crate) async fn wait(&mut self) -> String {
        match self {
            Running::Child { child, .. } => match child.wait().await {
                Ok(status) => describe_exit(status),
                Err(error) => format!("lost track of it ({error})"),
            },
            Running::Adopted { record } => loop {
                if !state::is_running(record) {
                    return "exited (status unknown: it was adopted from an earlier Pave)"
                        .to_owned();
                }
                sleep(ADOPTED_POLL).await;
            },
        }
    }

    /// Reaps the leader if it is our child and has exited; true when the
    /// leader is gone.
    fn leader_gone(&mut self) -> bool {
        match self {
            Running::Child { child, .. } => !matches!(child.try_wait(), Ok(None)),
            Running::Adopted { record } => !state::is_running(record),
        }
    }

    /// Stops the process and everything in its group: SIGTERM, up to
    /// `grace` for them to exit, then SIGKILL. Returns once the leader is
    /// reaped and the group is empty (or, if even SIGKILL did not empty it,
    /// after a bounded wait; that is logged).
    pub(crate) async fn terminate(&mut self, grace: Duration) {
        let record = self.record();
        state::signal_recorded(&record, Signal::SIGTERM);
        if !self.wait_gone(&record, grace).await {
            tracing::info!(
                pid = record.pid,
                "process group did not exit after SIGTERM; sending SIGKILL"
            );
            state::signal_recorded(&record, Signal::SIGKILL);
            if !self.wait_gone(&record, KILL_WAIT).await {
                tracing::warn!(
                    pid = record.pid,
                    "process group still has members after SIGKILL"
                );
            }
        }
    }

    /// After the leader exited on its own: kills what is left of its group
    /// (grandchildren that would otherwise hold ports or files).
    pub(crate) async fn kill_remnants(&mut self) {
        let record = self.record();
        if state::group_has_members(record.pgid) {
            state::signal_recorded(&record, Signal::SIGKILL);
            self.wait_gone(&record, KILL_WAIT).await;
        }
    }

    async fn wait_gone(&mut self, record: &PidRecord, limit: Duration) -> bool {
        let deadline = after(Instant::now(), limit);
        loop {
            if self.leader_gone() && !state::group_has_members(record.pgid) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            sleep(STOP_POLL).await;
        }
    }
}

/// Stops processes nobody supervises (left by an earlier Pave): SIGTERM to
/// every recorded group at once, up to `grace` for them to exit, then
/// SIGKILL to what is left.
pub(crate) async fn stop_records(records: &[PidRecord], grace: Duration) {
    let live: Vec<PidRecord> = records
        .iter()
        .filter(|record| state::anything_left(record))
        .copied()
        .collect();
    if live.is_empty() {
        return;
    }
    for record in &live {
        state::signal_recorded(record, Signal::SIGTERM);
    }
    if wait_all_gone(&live, grace).await {
        return;
    }
    for record in &live {
        state::signal_recorded(record, Signal::SIGKILL);
    }
    if !wait_all_gone(&live, KILL_WAIT).await {
        tracing::warn!("leftover process groups still have members after SIGKILL");
    }
}

async fn wait_all_gone(records: &[PidRecord], limit: Duration) -> bool {
    let deadline = after(Instant::now(), limit);
    loop {
        if !records.iter().any(state::anything_left) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        sleep(STOP_POLL).await;
    }
}
