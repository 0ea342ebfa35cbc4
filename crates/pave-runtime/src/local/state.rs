//! The local runtime's state on disk, and what `/proc` says about the
//! processes it records.
//!
//! Layout under the runtime root (directories 0700, files 0600, since specs
//! hold substituted secrets):
//!
//! ```text
//! <root>/<environment>/<instance id>/instance.json    the environment and the InstanceSpec
//! <root>/<environment>/<instance id>/<process>.pid    {pid, pgid, start_time} of the running process
//! <root>/<environment>/<instance id>/logs/<process>.{out,err}.log[.1]
//! ```
//!
//! A pid file is written right after a spawn and removed once the process
//! and its group are gone. A pid alone is not an identity, since pids are
//! recycled; a pid file matches a live process only if `/proc/<pid>/stat`
//! shows the same start time (field 22, clock ticks since boot) and is not a
//! zombie.

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use crate::error::RuntimeError;
use crate::plan::{InstanceSpec, is_safe_name};

/// What `instance.json` holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredInstance {
    pub(crate) environment: String,
    pub(crate) spec: InstanceSpec,
}

/// What `<process>.pid` holds: enough to find the process and its group
/// again, and to tell it from a later process that got the same pid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PidRecord {
    pub(crate) pid: u32,
    pub(crate) pgid: u32,
    /// `/proc/<pid>/stat` field 22; 0 when it could not be read.
    pub(crate) start_time: u64,
}

/// Paths of the runtime's state.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    root: PathBuf,
}

impl Layout {
    pub(crate) fn new(root: PathBuf) -> Layout {
        Layout { root }
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn environment_dir(&self, environment: &str) -> PathBuf {
        self.root.join(environment)
    }

    pub(crate) fn instance_dir(&self, environment: &str, id: &str) -> PathBuf {
        self.environment_dir(environment).join(id)
    }
}

pub(crate) fn spec_file(instance_dir: &Path) -> PathBuf {
    instance_dir.join("instance.json")
}

pub(crate) fn pid_file(instance_dir: &Path, process: &str) -> PathBuf {
    instance_dir.join(format!("{process}.pid"))
}

pub(crate) fn log_dir(instance_dir: &Path) -> PathBuf {
    instance_dir.join("logs")
}

/// Creates a directory and its parents, private to this user.
pub(crate) fn create_private_dir(path: &Path) -> Result<(), RuntimeError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(RuntimeError::io("create directory", path))
}

/// Writes a file readable only by this user, atomically (a temporary file
/// renamed over it), so a crash never leaves half a file.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), RuntimeError> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    let result = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temporary, path)
    })();
    result.map_err(|source| {
        let _ = fs::remove_file(&temporary);
        RuntimeError::Io {
            action: "write",
            path: path.to_owned(),
            source,
        }
    })
}

pub(crate) fn write_instance(dir: &Path, stored: &StoredInstance) -> Result<(), RuntimeError> {
    let json = serde_json::to_vec_pretty(stored).map_err(|error| RuntimeError::Io {
        action: "serialize the spec for",
        path: dir.to_owned(),
        source: io::Error::other(error),
    })?;
    write_private(&spec_file(dir), &json)
}

/// The stored spec, or `None` when it is missing or unreadable (stale
/// state from an older Pave is treated as absent, never as an error).
pub(crate) fn read_instance(dir: &Path) -> Option<StoredInstance> {
    let bytes = fs::read(spec_file(dir)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

pub(crate) fn write_pid(dir: &Path, process: &str, record: PidRecord) -> Result<(), RuntimeError> {
    let json = serde_json::to_vec(&record).map_err(|error| RuntimeError::Io {
        action: "serialize the pid record for",
        path: dir.to_owned(),
        source: io::Error::other(error),
    })?;
    write_private(&pid_file(dir, process), &json)
}

pub(crate) fn read_pid(path: &Path) -> Option<PidRecord> {
    let bytes = fs::read(path).ok()?;
    serde_json::from_slice(&bytes).ok()
}

pub(crate) fn remove_pid(dir: &Path, process: &str) {
    let path = pid_file(dir, process);
    if let Err(error) = fs::remove_file(&path)
        && error.kind() != io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), %error, "could not remove a pid file");
    }
}

/// The names of the subdirectories of `dir` that are safe names (anything
/// else was not made by this runtime and is left alone).
pub(crate) fn list_dirs(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_dir()))
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| is_safe_name(name))
        .collect();
    names.sort();
    names
}

/// Every pid file in an instance directory: (process name, record).
pub(crate) fn pid_records(dir: &Path) -> Vec<(String, PidRecord)> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut records = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let Some(process) = name.strip_suffix(".pid") else {
            continue;
        };
        if let Some(record) = read_pid(&entry.path()) {
            records.push((process.to_owned(), record));
        }
    }
    records
}

/// Removes a directory tree; a missing one is fine.
pub(crate) fn remove_dir(path: &Path) -> Result<(), RuntimeError> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(RuntimeError::Io {
            action: "remove",
            path: path.to_owned(),
            source,
        }),
    }
}

/// The fields of `/proc/<pid>/stat` the runtime needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProcStat {
    pub(crate) state: char,
    pub(crate) pgrp: i32,
    pub(crate) start_time: u64,
}

impl ProcStat {
    fn is_dead(&self) -> bool {
        // Z: zombie (exited, not yet reaped), X: dead.
        matches!(self.state, 'Z' | 'X')
    }
}

pub(crate) fn proc_stat(pid: u32) -> Option<ProcStat> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

/// Parses a `stat` line. The command name (field 2) is in parentheses and
/// may itself hold spaces and parentheses, so fields are counted from the
/// last `)`.
pub(crate) fn parse_stat(text: &str) -> Option<ProcStat> {
    let rest = text.get(text.rfind(')')? + 1..)?;
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next()?.chars().next()?; // field 3
    let pgrp = fields.nth(1)?.parse().ok()?; // field 5
    let start_time = fields.nth(16)?.parse().ok()?; // field 22
    Some(ProcStat {
        state,
        pgrp,
        start_time,
    })
}

/// Whether the recorded process still runs (the same process, not a later
/// one with a recycled pid).
pub(crate) fn is_running(record: &PidRecord) -> bool {
    record.start_time != 0
        && proc_stat(record.pid)
            .is_some_and(|stat| !stat.is_dead() && stat.start_time == record.start_time)
}

/// Whether any live (non-zombie) process is still in the group.
pub(crate) fn group_has_members(pgid: u32) -> bool {
    let Ok(pgid) = i32::try_from(pgid) else {
        return false;
    };
    let Ok(entries) = fs::read_dir("/proc") else {
        return false;
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(proc_stat)
        .any(|stat| stat.pgrp == pgid && !stat.is_dead())
}

/// Sends `signal` to the recorded process and its group.
///
/// The leader gets it only while it is provably the recorded process. The
/// group gets it when the leader is that process or is gone: Linux does not
/// reuse a number as a pid while a process group of that number has members,
/// so members of a group whose leader died are still ours. A live leader
/// with another start time means the pid was recycled, and nothing is sent.
pub(crate) fn signal_recorded(record: &PidRecord, signal: Signal) {
    let (Ok(pid), Ok(pgid)) = (i32::try_from(record.pid), i32::try_from(record.pgid)) else {
        return;
    };
    if pid <= 1 || pgid <= 1 {
        return;
    }
    let leader = proc_stat(record.pid);
    let recycled =
        leader.is_some_and(|stat| !stat.is_dead() && stat.start_time != record.start_time);
    if recycled {
        return;
    }
    if leader.is_some_and(|stat| !stat.is_dead()) {
        ignore_missing(kill(Pid::from_raw(pid), signal));
    }
    ignore_missing(killpg(Pid::from_raw(pgid), signal));
}

fn ignore_missing(result: nix::Result<()>) {
    match result {
        Ok(()) | Err(Errno::ESRCH) => {}
        Err(error) => tracing::warn!(%error, "could not signal a process"),
    }
}

/// Whether anything of the recorded process is left: the leader or a member
/// of its group.
pub(crate) fn anything_left(record: &PidRecord) -> bool {
    is_running(record) || group_has_members(record.pgid)
}

/// Kills whatever an instance directory's pid files still record (SIGKILL at
/// once, for leftovers nobody supervises) and removes the pid files.
pub(crate) fn kill_recorded_in(dir: &Path) {
    for (process, record) in pid_records(dir) {
        if anything_left(&record) {
            tracing::info!(dir = %dir.display(), %process, pid = record.pid, "killing a leftover process group");
            signal_recorded(&record, Signal::SIGKILL);
        }
        remove_pid(dir, &process);
    }
}

/// The instance directories under the root: (environment, instance id).
pub(crate) fn all_instance_dirs(layout: &Layout) -> Vec<(String, String)> {
    let mut all = Vec::new();
    for environment in list_dirs(layout.root()) {
        for id in list_dirs(&layout.environment_dir(&environment)) {
            all.push((environment.clone(), id));
        }
    }
    all
}

/// The environments that have a directory under the root.
pub(crate) fn environments_on_disk(layout: &Layout) -> BTreeSet<String> {
    list_dirs(layout.root()).into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_odd_command_names() {
        let line = "4242 (we (ird) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 12345 67 18446744073709551615";
        let stat = parse_stat(line);
        assert_eq!(
            stat,
            Some(ProcStat {
                state: 'S',
                pgrp: 4242,
                start_time: 987654
            })
        );
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("1 (x) S 1"), None);
    }

    #[test]
    fn own_process_is_running() {
        let pid = std::process::id();
        let stat = proc_stat(pid).expect("own stat");
        let record = PidRecord {
            pid,
            pgid: u32::try_from(stat.pgrp).unwrap_or_default(),
            start_time: stat.start_time,
        };
        assert!(is_running(&record));
        assert!(!is_running(&PidRecord {
            start_time: stat.start_time + 1,
            ..record
        }));
    }
}
