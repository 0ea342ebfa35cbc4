//! Stopping: smaller plans, deleting environments, shutting down.

use std::time::Duration;

use pave_runtime::{LocalOptions, Runtime, RuntimeError};

use crate::fixture::{
    Fixture, alive, eventually, fast_options, instance, pid, plan, read_pid_file,
};

/// A process whose shell leader has a background grandchild, whose pid it
/// writes to `$HOME/grandchild.pid`.
const WITH_GRANDCHILD: &str = "sleep 1000 & echo $! > \"$HOME/grandchild.pid\"; sleep 1000";

#[tokio::test]
async fn a_smaller_plan_stops_the_removed_instance_and_its_whole_group() {
    let fixture = Fixture::new();
    let runtime = &fixture.runtime;
    let keep = instance(
        "keep-1",
        vec![fixture.shell("main", "exec sleep 1000")],
        &[],
    );
    let gone = instance("gone-1", vec![fixture.shell("main", WITH_GRANDCHILD)], &[]);
    runtime
        .apply(&plan("dev", vec![keep.clone(), gone]))
        .await
        .expect("apply");
    let gone_dir = fixture.instance_dir("dev", "gone-1");
    let grandchild_file = gone_dir.join("grandchild.pid");
    eventually(Duration::from_secs(5), "the grandchild", || async {
        grandchild_file.exists()
            && std::fs::read_to_string(&grandchild_file).is_ok_and(|text| text.ends_with('\n'))
    })
    .await;
    let leader = pid(runtime, "gone-1").await;
    let grandchild = read_pid_file(&grandchild_file);
    let kept = pid(runtime, "keep-1").await;
    assert!(alive(leader) && alive(grandchild));

    runtime
        .apply(&plan("dev", vec![keep]))
        .await
        .expect("apply smaller plan");
    assert!(!alive(leader), "the leader survived");
    assert!(!alive(grandchild), "the grandchild survived");
    assert!(!gone_dir.exists(), "its state was not removed");
    assert!(runtime.instance("gone-1").await.expect("status").is_none());
    assert_eq!(
        pid(runtime, "keep-1").await,
        kept,
        "the kept instance was restarted"
    );
}

#[tokio::test]
async fn a_group_ignoring_sigterm_is_killed_after_the_grace_period() {
    let fixture = Fixture::with_options(LocalOptions {
        stop_grace: Duration::from_millis(300),
        ..fast_options()
    });
    let runtime = &fixture.runtime;
    let stubborn = fixture.shell("main", "trap '' TERM; sleep 1000 & wait");
    runtime
        .apply(&plan(
            "dev",
            vec![instance("stubborn-1", vec![stubborn], &[])],
        ))
        .await
        .expect("apply");
    let leader = pid(runtime, "stubborn-1").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = std::time::Instant::now();
    runtime
        .apply(&plan("dev", vec![]))
        .await
        .expect("apply empty plan");
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "no grace period"
    );
    assert!(!alive(leader));
}

#[tokio::test]
async fn delete_environment_stops_everything_and_removes_its_state() {
    let fixture = Fixture::new();
    let runtime = &fixture.runtime;
    runtime
        .apply(&plan(
            "pr-7",
            vec![instance(
                "pr-7-a",
                vec![fixture.shell("main", WITH_GRANDCHILD)],
                &[],
            )],
        ))
        .await
        .expect("apply");
    runtime
        .apply(&plan(
            "dev",
            vec![instance(
                "dev-a",
                vec![fixture.shell("main", "exec sleep 1000")],
                &[],
            )],
        ))
        .await
        .expect("apply");
    let leader = pid(runtime, "pr-7-a").await;
    let other = pid(runtime, "dev-a").await;

    runtime.delete_environment("pr-7").await.expect("delete");
    assert!(!alive(leader));
    assert!(!fixture.runtime_root().join("pr-7").exists());
    assert_eq!(runtime.environments().await.expect("environments"), ["dev"]);
    assert!(runtime.status("pr-7").await.expect("status").is_empty());
    assert!(alive(other), "another environment was touched");
    // Deleting what does not exist is fine.
    runtime
        .delete_environment("pr-7")
        .await
        .expect("delete again");
    runtime
        .delete_environment("../etc")
        .await
        .expect("nothing there");
}

#[tokio::test]
async fn shutdown_stops_every_instance_and_refuses_new_plans() {
    // A long grace, so "SIGTERM was enough" is told apart from "SIGKILL
    // was needed" even on a loaded machine.
    let fixture = Fixture::with_options(LocalOptions {
        stop_grace: Duration::from_secs(20),
        ..fast_options()
    });
    let runtime = &fixture.runtime;
    for environment in ["dev", "staging"] {
        let id = format!("{environment}-a");
        runtime
            .apply(&plan(
                environment,
                vec![instance(
                    &id,
                    vec![fixture.shell("main", WITH_GRANDCHILD)],
                    &[],
                )],
            ))
            .await
            .expect("apply");
    }
    let pids = [pid(runtime, "dev-a").await, pid(runtime, "staging-a").await];
    let grandchild_file = fixture.instance_dir("dev", "dev-a").join("grandchild.pid");
    eventually(Duration::from_secs(5), "the grandchild", || async {
        std::fs::read_to_string(&grandchild_file).is_ok_and(|text| text.ends_with('\n'))
    })
    .await;
    let grandchild = read_pid_file(&grandchild_file);

    let started = std::time::Instant::now();
    runtime.shutdown().await.expect("shutdown");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "SIGTERM was not enough: the grace period passed"
    );
    for pid in pids {
        assert!(!alive(pid));
    }
    assert!(!alive(grandchild));
    assert!(runtime.instance("dev-a").await.expect("status").is_none());
    // Logs and specs stay for the next start.
    assert!(
        fixture
            .instance_dir("dev", "dev-a")
            .join("instance.json")
            .exists()
    );
    assert!(
        !fixture
            .instance_dir("dev", "dev-a")
            .join("main.pid")
            .exists()
    );
    let error = runtime
        .apply(&plan("dev", vec![]))
        .await
        .expect_err("shut down");
    assert!(matches!(error, RuntimeError::ShutDown), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_stop_in_one_environment_does_not_hold_up_another() {
    let fixture = Fixture::with_options(LocalOptions {
        stop_grace: Duration::from_secs(4),
        ..fast_options()
    });
    let runtime = fixture.runtime.clone();
    let stubborn = fixture.shell("main", "trap '' TERM; sleep 1000 & wait");
    runtime
        .apply(&plan("slow", vec![instance("slow-1", vec![stubborn], &[])]))
        .await
        .expect("apply");
    let leader = pid(&runtime, "slow-1").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Deleting `slow` waits out its grace period in the background...
    let deleting = {
        let runtime = runtime.clone();
        tokio::spawn(async move { runtime.delete_environment("slow").await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    // ...while another environment starts at once.
    let started = std::time::Instant::now();
    runtime
        .apply(&plan(
            "fast",
            vec![instance(
                "fast-1",
                vec![fixture.shell("main", "sleep 1000")],
                &[],
            )],
        ))
        .await
        .expect("apply fast");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the start waited for another environment's stop: {:?}",
        started.elapsed()
    );
    deleting.await.expect("join").expect("delete");
    assert!(!alive(leader));
    runtime.shutdown().await.expect("shutdown");
}
