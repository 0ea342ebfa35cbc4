use std::time::{Duration, Instant};

use super::{GitRunner, Request};
use crate::error::GitError;
use crate::remote::Remote;

fn runner(timeout: Duration) -> (tempfile::TempDir, GitRunner) {
    let home = tempfile::tempdir().unwrap_or_else(|error| panic!("temp dir: {error}"));
    let runner = GitRunner::new(home.path().to_path_buf(), timeout);
    (home, runner)
}

fn remote() -> Remote {
    Remote::parse("file:///nonexistent/repo.git").unwrap_or_else(|error| panic!("{error}"))
}

/// Command lines of running processes whose arguments contain `marker`.
fn processes_with(marker: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| std::fs::read(entry.path().join("cmdline")).ok())
        .map(|bytes| String::from_utf8_lossy(&bytes).replace('\0', " "))
        .filter(|line| line.contains(marker))
        .collect()
}

#[tokio::test]
async fn git_sees_only_the_controlled_environment() {
    let (_home, runner) = runner(Duration::from_secs(30));
    let remote = remote();
    // A shell alias prints the environment git hands to the programs it runs.
    let request = Request::new(&remote, None).args(["-c", "alias.environment=!env", "environment"]);
    let output = runner
        .run(request)
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    assert!(output.success, "{}", output.stderr);
    let environment = output.stdout_text();
    for expected in [
        "GIT_TERMINAL_PROMPT=0",
        "GIT_CONFIG_NOSYSTEM=1",
        "GIT_CONFIG_GLOBAL=/dev/null",
        "GIT_ASKPASS=\n",
        "SSH_ASKPASS=\n",
        "GIT_ALLOW_PROTOCOL=file:https\n",
        "LC_ALL=C",
    ] {
        assert!(
            environment.contains(expected),
            "missing {expected:?} in\n{environment}"
        );
    }
    // Cargo sets this for the test process; git must not inherit it.
    assert!(!environment.contains("CARGO_MANIFEST_DIR"), "{environment}");
}

#[tokio::test]
async fn only_command_line_config_is_read() {
    let (_home, runner) = runner(Duration::from_secs(30));
    let remote = remote();
    let request = Request::new(&remote, None).args(["config", "--list", "--show-origin"]);
    let output = runner
        .run(request)
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    assert!(output.success, "{}", output.stderr);
    let listing = output.stdout_text();
    for line in listing.lines() {
        assert!(
            line.starts_with("command line:"),
            "config from outside the command line: {line}"
        );
    }
    for expected in [
        "protocol.allow=never",
        "core.hookspath=/dev/null",
        "credential.helper=",
    ] {
        assert!(
            listing.contains(expected),
            "missing {expected:?} in\n{listing}"
        );
    }
}

#[tokio::test]
async fn a_timeout_kills_git_and_its_children() {
    let (_home, runner) = runner(Duration::from_millis(300));
    let remote = remote();
    // A number no other process on the machine will sleep for.
    let marker = format!("30.{}", std::process::id());
    let alias = format!("alias.wait=!sleep {marker}; true");
    let started = Instant::now();
    let request = Request::new(&remote, None).args(["-c", alias.as_str(), "wait"]);
    let result = runner.run(request).await;
    assert!(
        matches!(result, Err(GitError::Timeout { .. })),
        "{result:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    // SIGKILL is asynchronous; give the kernel a moment.
    let deadline = Instant::now() + Duration::from_secs(2);
    while !processes_with(&marker).is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(processes_with(&marker), Vec::<String>::new(), "left behind");
}

#[tokio::test]
async fn too_much_output_stops_git() {
    let (_home, runner) = runner(Duration::from_secs(30));
    let remote = remote();
    let request = Request::new(&remote, None)
        .args(["-c", "alias.flood=!yes", "flood"])
        .max_stdout(10_000);
    let result = runner.run(request).await;
    assert!(
        matches!(result, Err(GitError::OutputTooLarge { limit: 10_000, .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn extra_config_cannot_override_the_hardening() {
    let (_home, runner) = runner(Duration::from_secs(30));
    let remote = remote();
    let request = Request::new(&remote, None)
        .config("core.hooksPath=/tmp/hooks")
        .config("user.name=Someone")
        .args(["config", "--get-all", "core.hooksPath"]);
    let output = runner
        .run(request)
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    // Both are on the command line; git uses the last one, the hardening's.
    assert_eq!(output.stdout_text(), "/tmp/hooks\n/dev/null\n");
    let request = Request::new(&remote, None)
        .config("core.hooksPath=/tmp/hooks")
        .args(["config", "--get", "core.hooksPath"]);
    let output = runner
        .run(request)
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(output.stdout_text(), "/dev/null\n");
}
