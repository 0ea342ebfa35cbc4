//! Readiness and liveness probes of local processes.
//!
//! HTTP probes are a hand-written HTTP/1.1 GET over a loopback TCP
//! connection (no client library: only the status line matters). Exec probes
//! run in the process's working directory with the process's environment,
//! in their own process group, which is killed when the probe is done or
//! times out.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::Signal;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::Command;
use tokio::time::timeout;

use crate::local::process::{describe_exit, resolve_program};
use crate::local::state::{self, PidRecord};
use crate::plan::Probe;

/// How much of an exec probe's stderr is kept for the failure message.
const MAX_PROBE_STDERR: u64 = 2048;

/// Longest HTTP status line read.
const MAX_STATUS_LINE: usize = 1024;

/// What a probe needs besides the probe itself.
#[derive(Debug, Clone)]
pub(crate) struct ProbeContext {
    pub(crate) working_dir: PathBuf,
    pub(crate) env: Arc<BTreeMap<String, String>>,
    pub(crate) timeout: Duration,
}

/// Runs a probe once: `Ok` on success, otherwise why it failed.
pub(crate) async fn check(probe: Probe, context: ProbeContext) -> Result<(), String> {
    match probe {
        Probe::Http {
            port,
            path,
            headers,
        } => http(port, &path, &headers, context.timeout).await,
        Probe::Exec { command } => exec(&command, &context).await,
    }
}

async fn http(
    port: u16,
    path: &str,
    headers: &[(String, String)],
    limit: Duration,
) -> Result<(), String> {
    let request = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .map_err(|error| format!("could not connect to 127.0.0.1:{port}: {error}"))?;
        let mut text = format!("GET {path} HTTP/1.1\r\n");
        if !headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("host"))
        {
            text.push_str(&format!("Host: 127.0.0.1:{port}\r\n"));
        }
        for (name, value) in headers {
            text.push_str(&format!("{name}: {value}\r\n"));
        }
        text.push_str("User-Agent: pave-probe\r\nAccept: */*\r\nConnection: close\r\n\r\n");
        stream
            .write_all(text.as_bytes())
            .await
            .map_err(|error| format!("could not send the request: {error}"))?;
        let mut received = Vec::new();
        let mut chunk = [0_u8; 512];
        while !received.contains(&b'\n') && received.len() < MAX_STATUS_LINE {
            let read = stream
                .read(&mut chunk)
                .await
                .map_err(|error| format!("could not read the response: {error}"))?;
            if read == 0 {
                break;
            }
            received.extend_from_slice(chunk.get(..read).unwrap_or_default());
        }
        let status = parse_status(&received)
            .ok_or_else(|| "the response is not HTTP (no status line)".to_owned())?;
        if (200..400).contains(&status) {
            Ok(())
        } else {
            Err(format!("returned status {status}"))
        }
    };
    match timeout(limit, request).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(reason)) => Err(format!("HTTP probe GET {path} on port {port}: {reason}")),
        Err(_) => Err(format!(
            "HTTP probe GET {path} on port {port}: no response within {limit:?}"
        )),
    }
}

/// The status code of an `HTTP/1.x NNN …` status line.
pub(crate) fn parse_status(response: &[u8]) -> Option<u16> {
    let line = response.split(|byte| *byte == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split_ascii_whitespace();
    if !parts.next()?.starts_with("HTTP/") {
        return None;
    }
    let code = parts.next()?;
    if code.len() != 3 {
        return None;
    }
    code.parse().ok()
}

async fn exec(command: &[String], context: &ProbeContext) -> Result<(), String> {
    let describe = |reason: String| format!("exec probe {command:?}: {reason}");
    let Some((program, args)) = command.split_first() else {
        return Err(describe("empty command".to_owned()));
    };
    let resolved = resolve_program(
        program,
        &context.working_dir,
        context.env.get("PATH").map(String::as_str),
    )
    .map_err(|detail| describe(format!("program {program:?} {detail}")))?;
    let mut child = Command::new(resolved)
        .arg0(program)
        .args(args)
        .env_clear()
        .envs(context.env.iter())
        .current_dir(&context.working_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| describe(format!("could not start: {error}")))?;
    let group = child.id().map(|pid| {
        Group(PidRecord {
            pid,
            pgid: pid,
            start_time: state::proc_stat(pid).map_or(0, |stat| stat.start_time),
        })
    });
    let stderr = child.stderr.take();
    let run = async {
        let mut kept = Vec::new();
        if let Some(stderr) = stderr {
            // Stop reading after the limit; the pipe closes and further
            // writes fail instead of blocking the probe.
            let _ = stderr.take(MAX_PROBE_STDERR).read_to_end(&mut kept).await;
        }
        let status = child.wait().await;
        (status, kept)
    };
    let outcome = timeout(context.timeout, run).await;
    drop(group);
    match outcome {
        Ok((Ok(status), _)) if status.success() => Ok(()),
        Ok((Ok(status), stderr)) => {
            let stderr = String::from_utf8_lossy(&stderr);
            let stderr = stderr.trim();
            if stderr.is_empty() {
                Err(describe(describe_exit(status)))
            } else {
                Err(describe(format!("{}: {stderr}", describe_exit(status))))
            }
        }
        Ok((Err(error), _)) => Err(describe(format!("could not wait for it: {error}"))),
        Err(_) => Err(describe(format!("no result within {:?}", context.timeout))),
    }
}

/// Kills what is left of a probe's process group when dropped: on timeout,
/// and after a normal exit for anything it left running in the background.
struct Group(PidRecord);

impl Drop for Group {
    fn drop(&mut self) {
        if state::anything_left(&self.0) {
            state::signal_recorded(&self.0, Signal::SIGKILL);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_status;

    #[test]
    fn parses_status_lines() {
        assert_eq!(parse_status(b"HTTP/1.1 200 OK\r\n"), Some(200));
        assert_eq!(
            parse_status(b"HTTP/1.0 503 Service Unavailable\r\nX: y"),
            Some(503)
        );
        assert_eq!(parse_status(b"HTTP/1.1 301\r\n"), Some(301));
        assert_eq!(parse_status(b"SSH-2.0-OpenSSH\r\n"), None);
        assert_eq!(parse_status(b"HTTP/1.1 2000 OK\r\n"), None);
        assert_eq!(parse_status(b""), None);
    }
}
