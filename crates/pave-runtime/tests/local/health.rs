//! Readiness, crash loops and liveness.

use std::time::Duration;

use pave_runtime::{InstanceState, Probe, Runtime, RuntimeError};

use crate::fixture::{Fixture, eventually, instance, plan, port, status};

#[tokio::test]
async fn failing_readiness_never_gets_ready_and_the_timeout_quotes_the_logs() {
    let fixture = Fixture::new();
    let runtime = &fixture.runtime;
    let web_port = port();
    let mut web = fixture.server("web", &[("HEALTH_STATUS", "500")]);
    web.readiness = Some(Probe::Http {
        port: web_port,
        path: "/healthz".to_owned(),
        headers: Vec::new(),
    });
    runtime
        .apply(&plan(
            "dev",
            vec![instance("sick-1", vec![web], &[("web", web_port)])],
        ))
        .await
        .expect("apply");

    let error = runtime
        .wait_ready("sick-1", Duration::from_millis(1500))
        .await
        .expect_err("never ready");
    let RuntimeError::NotReady {
        reason, last_lines, ..
    } = &error
    else {
        panic!("unexpected error: {error}");
    };
    assert!(reason.contains("still starting"), "{reason}");
    assert!(reason.contains("readiness check failed"), "{reason}");
    assert!(
        last_lines
            .iter()
            .any(|line| line == &format!("web stdout: listening on {web_port}")),
        "{last_lines:?}"
    );
    assert!(error.to_string().contains("listening on"), "{error}");
    let status = status(runtime, "sick-1").await;
    assert_eq!(status.state, InstanceState::Starting);
    assert!(!status.processes.iter().any(|process| process.ready));
    assert_eq!(
        status.processes.first().map(|process| process.restarts),
        Some(0)
    );
}

#[tokio::test]
async fn a_crash_loop_degrades_with_growing_backoff() {
    let fixture = Fixture::new();
    let runtime = &fixture.runtime;
    let main = fixture.shell(
        "main",
        "date +%s%N >> \"$HOME/starts\"; echo boom; echo bang >&2; exit 1",
    );
    runtime
        .apply(&plan("dev", vec![instance("crash-1", vec![main], &[])]))
        .await
        .expect("apply");

    let error = runtime
        .wait_ready("crash-1", Duration::from_secs(5))
        .await
        .expect_err("degraded");
    let text = error.to_string();
    assert!(
        text.contains("crash loop: exited 3 times in 60 s"),
        "{text}"
    );
    assert!(text.contains("exit code 1"), "{text}");
    assert!(text.contains("main stdout: boom"), "{text}");
    assert!(text.contains("main stderr: bang"), "{text}");

    let status = status(runtime, "crash-1").await;
    let InstanceState::Degraded { reason } = &status.state else {
        panic!("expected degraded, got {:?}", status.state);
    };
    assert!(reason.contains("process \"main\""), "{reason}");
    let process = status.processes.first().expect("one process");
    assert!(process.restarts >= 3, "{process:?}");
    assert_eq!(process.last_exit.as_deref(), Some("exit code 1"));

    // It keeps being restarted, each time a little later (50, 100, 200, 400 ms).
    let starts_file = fixture.instance_dir("dev", "crash-1").join("starts");
    let starts = || -> Vec<u128> {
        std::fs::read_to_string(&starts_file)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| line.trim().parse().ok())
            .collect()
    };
    eventually(Duration::from_secs(5), "five starts", || async {
        starts().len() >= 5
    })
    .await;
    let starts = starts();
    let gaps: Vec<u128> = starts
        .windows(2)
        .map(|pair| pair[1].saturating_sub(pair[0]))
        .collect();
    let first = gaps.first().copied().unwrap_or_default();
    let fourth = gaps.get(3).copied().unwrap_or_default();
    // 50 ms and 400 ms of backoff, plus about the same start-up time each.
    assert!(
        fourth >= first + 250_000_000,
        "backoff did not grow: gaps in ns {gaps:?}"
    );
}

#[tokio::test]
async fn failing_liveness_after_ready_restarts_the_process() {
    let fixture = Fixture::new();
    let runtime = &fixture.runtime;
    let web_port = port();
    // Ready once it serves; healthy for the first 3 liveness probes, then failing.
    let mut web = fixture.server("web", &[("HEALTHY_FOR", "3")]);
    web.readiness = Some(Probe::Http {
        port: web_port,
        path: "/env".to_owned(),
        headers: Vec::new(),
    });
    web.liveness = Some(Probe::Http {
        port: web_port,
        path: "/healthz".to_owned(),
        headers: Vec::new(),
    });
    runtime
        .apply(&plan(
            "dev",
            vec![instance("live-1", vec![web], &[("web", web_port)])],
        ))
        .await
        .expect("apply");
    runtime
        .wait_ready("live-1", Duration::from_secs(5))
        .await
        .expect("ready");
    let first_pid = status(runtime, "live-1").await.processes[0].pid;

    eventually(Duration::from_secs(5), "a liveness restart", || async {
        status(runtime, "live-1").await.processes[0].restarts >= 1
    })
    .await;
    let process = status(runtime, "live-1").await.processes[0].clone();
    let last_exit = process.last_exit.unwrap_or_default();
    assert!(last_exit.contains("failed liveness probes"), "{last_exit}");
    assert!(last_exit.contains("returned status 500"), "{last_exit}");
    // The restarted server serves again (a new process on the same port).
    runtime
        .wait_ready("live-1", Duration::from_secs(5))
        .await
        .expect("ready again");
    let second_pid = status(runtime, "live-1").await.processes[0].pid;
    assert!(second_pid.is_some() && second_pid != first_pid);
}
