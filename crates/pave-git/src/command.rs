//! Running the `git` CLI in a controlled way.
//!
//! Every invocation gets the same hardening, so no caller can forget it:
//! - a cleared environment (only `PATH`, `TMPDIR`, proxy and CA settings pass
//!   through) with `HOME` in the cache, so no user or system config,
//!   credential helper, askpass program or `.netrc` is consulted;
//! - `-c` settings that allow only the file and https transports (http only
//!   for loopback remotes), disable hooks, fsmonitor, auto-gc (which would
//!   leave a detached process behind) and bundle URIs;
//! - a timeout, after which git and every helper it started (its process
//!   group) is killed;
//! - a bound on what is read from stdout, so a huge listing or blob cannot
//!   exhaust memory.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use crate::error::GitError;
use crate::remote::{Remote, Transport};

/// Environment variables passed through to git: finding programs, temporary
/// files, and the operator's proxy and CA settings for https.
const PASSED_THROUGH: &[&str] = &[
    "PATH",
    "TMPDIR",
    "http_proxy",
    "https_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "GIT_SSL_CAINFO",
    "GIT_SSL_CAPATH",
];

/// Settings given to every git invocation with `-c`; they win over any
/// repository config because command-line config is read last.
const HARDENING: &[&str] = &[
    "protocol.allow=never",
    "protocol.file.allow=always",
    "protocol.https.allow=always",
    "core.hooksPath=/dev/null",
    // An empty value clears the list of credential helpers.
    "credential.helper=",
    "core.askPass=",
    "core.fsmonitor=false",
    "gc.auto=0",
    "maintenance.auto=false",
    "fetch.recurseSubmodules=false",
    "submodule.recurse=false",
    "transfer.bundleURI=false",
];

/// How much of git's stderr is kept for error messages.
const MAX_STDERR: usize = 64 * 1024;

/// Runs git with the hardening above; one per reader.
#[derive(Debug, Clone)]
pub(crate) struct GitRunner {
    /// Empty directory used as `HOME` and working directory.
    home: PathBuf,
    timeout: Duration,
}

/// One git invocation.
pub(crate) struct Request<'a> {
    pub(crate) remote: &'a Remote,
    /// Passed as `--git-dir`, so git never searches parent directories.
    pub(crate) git_dir: Option<&'a Path>,
    /// Passed as `--work-tree`: the files `git add` reads when publishing.
    pub(crate) work_tree: Option<&'a Path>,
    /// Extra `-c` settings (e.g. the committer identity). They are given
    /// before the hardening settings, and git lets the last one win, so they
    /// can never weaken it.
    pub(crate) config: Vec<OsString>,
    pub(crate) args: Vec<OsString>,
    pub(crate) stdin: Option<Vec<u8>>,
    pub(crate) max_stdout: usize,
}

impl<'a> Request<'a> {
    pub(crate) fn new(remote: &'a Remote, git_dir: Option<&'a Path>) -> Request<'a> {
        Request {
            remote,
            git_dir,
            work_tree: None,
            config: Vec::new(),
            args: Vec::new(),
            stdin: None,
            max_stdout: 1024 * 1024,
        }
    }

    pub(crate) fn arg(mut self, arg: impl AsRef<OsStr>) -> Request<'a> {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    pub(crate) fn args<I, S>(mut self, args: I) -> Request<'a>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|arg| arg.as_ref().to_os_string()));
        self
    }

    pub(crate) fn work_tree(mut self, work_tree: &'a Path) -> Request<'a> {
        self.work_tree = Some(work_tree);
        self
    }

    /// Adds a `-c name=value` setting, which cannot override the hardening.
    pub(crate) fn config(mut self, setting: impl AsRef<OsStr>) -> Request<'a> {
        self.config.push(setting.as_ref().to_os_string());
        self
    }

    pub(crate) fn stdin(mut self, input: Vec<u8>) -> Request<'a> {
        self.stdin = Some(input);
        self
    }

    pub(crate) fn max_stdout(mut self, bytes: usize) -> Request<'a> {
        self.max_stdout = bytes;
        self
    }

    /// The git subcommand, for messages.
    fn operation(&self) -> String {
        self.args
            .iter()
            .map(|arg| arg.to_string_lossy())
            .find(|arg| !arg.starts_with('-'))
            .map(|arg| arg.into_owned())
            .unwrap_or_else(|| "git".to_string())
    }
}

/// What a finished git printed and how it exited.
#[derive(Debug)]
pub(crate) struct Output {
    pub(crate) success: bool,
    /// The exit code or signal, for messages.
    pub(crate) status: String,
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: String,
    pub(crate) operation: String,
}

impl Output {
    pub(crate) fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

/// Why the I/O with a running git stopped early.
enum Failure {
    TooMuchOutput,
    Io(std::io::Error),
}

impl GitRunner {
    pub(crate) fn new(home: PathBuf, timeout: Duration) -> GitRunner {
        GitRunner { home, timeout }
    }

    /// Runs git to completion. A non-zero exit is an [`Output`] with
    /// `success == false`; the caller knows what it means. Errors are only
    /// for not starting, timing out and too much output.
    pub(crate) async fn run(&self, request: Request<'_>) -> Result<Output, GitError> {
        let operation = request.operation();
        let mut command = self.command(&request);
        tracing::debug!(remote = request.remote.url(), %operation, "running git");
        let mut child = command.spawn().map_err(|source| GitError::Io {
            action: "start git (is it installed and on PATH?) in",
            path: self.home.clone(),
            source,
        })?;
        let mut group = ProcessGroup::new(child.id());

        let stdin_pipe = child.stdin.take();
        let stdout_pipe = child.stdout.take();
        let stderr_pipe = child.stderr.take();
        let input = request.stdin;
        let max_stdout = request.max_stdout;
        let work = async {
            let feed = async move {
                if let (Some(mut pipe), Some(input)) = (stdin_pipe, input) {
                    match pipe.write_all(&input).await {
                        // Git may exit before reading everything; its exit status tells why.
                        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => {}
                        Err(error) => return Err(Failure::Io(error)),
                        Ok(()) => {}
                    }
                }
                Ok(())
            };
            let (_, stdout, stderr) = tokio::try_join!(
                feed,
                read_bounded(stdout_pipe, max_stdout),
                read_stderr(stderr_pipe)
            )?;
            let status = child.wait().await.map_err(Failure::Io)?;
            Ok::<_, Failure>((status, stdout, stderr))
        };
        let outcome = tokio::time::timeout(self.timeout, work).await;

        let remote = request.remote.url().to_string();
        match outcome {
            Ok(Ok((status, stdout, stderr))) => {
                group.disarm();
                Ok(Output {
                    success: status.success(),
                    status: describe_status(status),
                    stdout,
                    stderr,
                    operation,
                })
            }
            Ok(Err(failure)) => {
                group.kill();
                // Reap it; it was just killed, so this does not wait long.
                let _ = child.kill().await;
                match failure {
                    Failure::TooMuchOutput => Err(GitError::OutputTooLarge {
                        remote,
                        operation,
                        limit: max_stdout,
                    }),
                    Failure::Io(source) => Err(GitError::Io {
                        action: "talk to git running in",
                        path: self.home.clone(),
                        source,
                    }),
                }
            }
            Err(_elapsed) => {
                group.kill();
                let _ = child.kill().await;
                tracing::warn!(%remote, %operation, timeout = ?self.timeout, "git timed out and was killed");
                Err(GitError::Timeout {
                    remote,
                    seconds: self.timeout.as_secs_f64(),
                })
            }
        }
    }

    fn command(&self, request: &Request<'_>) -> tokio::process::Command {
        let mut command = tokio::process::Command::new("git");
        command.env_clear();
        for name in PASSED_THROUGH {
            if let Some(value) = std::env::var_os(name) {
                command.env(name, value);
            }
        }
        let allowed = match request.remote.transport() {
            Transport::LoopbackHttp => "file:https:http",
            Transport::File | Transport::Https => "file:https",
        };
        command
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_TERMINAL_PROMPT", "0")
            // Empty stops git's fallback to core.askPass and SSH_ASKPASS.
            .env("GIT_ASKPASS", "")
            .env("SSH_ASKPASS", "")
            .env("GIT_ALLOW_PROTOCOL", allowed)
            .env("GIT_LITERAL_PATHSPECS", "1")
            .env("GIT_NO_REPLACE_OBJECTS", "1")
            .env("GIT_NO_LAZY_FETCH", "1")
            .env("LC_ALL", "C")
            .env("LANG", "C");
        // Before HARDENING: for a repeated single-valued key the last `-c` wins.
        for setting in &request.config {
            command.arg("-c").arg(setting);
        }
        for setting in HARDENING {
            command.arg("-c").arg(setting);
        }
        if request.remote.transport() == Transport::LoopbackHttp {
            command.arg("-c").arg("protocol.http.allow=always");
        }
        if let Some(git_dir) = request.git_dir {
            let mut flag = OsString::from("--git-dir=");
            flag.push(git_dir.as_os_str());
            command.arg(flag);
        }
        if let Some(work_tree) = request.work_tree {
            let mut flag = OsString::from("--work-tree=");
            flag.push(work_tree.as_os_str());
            command.arg(flag);
        }
        command
            .args(&request.args)
            .current_dir(&self.home)
            .stdin(if request.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            // Its own process group, so a timeout also kills git-remote-https
            // and the other helpers git starts.
            .process_group(0);
        command
    }
}

/// Reads all of a pipe, failing as soon as it passes `limit` bytes so a
/// runaway git is killed instead of buffered.
async fn read_bounded(
    pipe: Option<impl AsyncRead + Unpin>,
    limit: usize,
) -> Result<Vec<u8>, Failure> {
    let mut buffer = Vec::new();
    if let Some(pipe) = pipe {
        let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
        pipe.take(cap)
            .read_to_end(&mut buffer)
            .await
            .map_err(Failure::Io)?;
    }
    if buffer.len() > limit {
        Err(Failure::TooMuchOutput)
    } else {
        Ok(buffer)
    }
}

/// Reads all of stderr but keeps only the start: git must never block on a
/// full pipe, and messages that long are not useful.
async fn read_stderr(pipe: Option<impl AsyncRead + Unpin>) -> Result<String, Failure> {
    let mut kept = Vec::new();
    if let Some(mut pipe) = pipe {
        let mut chunk = [0_u8; 8192];
        loop {
            let read = pipe.read(&mut chunk).await.map_err(Failure::Io)?;
            if read == 0 {
                break;
            }
            let room = MAX_STDERR.saturating_sub(kept.len());
            kept.extend_from_slice(chunk.get(..read.min(room)).unwrap_or_default());
        }
    }
    Ok(String::from_utf8_lossy(&kept).into_owned())
}

fn describe_status(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => code.to_string(),
        (None, Some(signal)) => format!("signal {signal}"),
        (None, None) => "unknown".to_string(),
    }
}

/// The process group of a running git. Killed when the run fails or when
/// the future running it is dropped; disarmed once git has exited normally,
/// because after that the group id may be reused by unrelated processes.
struct ProcessGroup {
    id: Option<Pid>,
}

impl ProcessGroup {
    fn new(process_id: Option<u32>) -> ProcessGroup {
        ProcessGroup {
            id: process_id
                .and_then(|id| i32::try_from(id).ok())
                .map(Pid::from_raw),
        }
    }

    fn disarm(&mut self) {
        self.id = None;
    }

    fn kill(&mut self) {
        if let Some(id) = self.id.take() {
            // The group may already be gone; nothing to do then.
            let _ = killpg(id, Signal::SIGKILL);
        }
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
mod tests;
