//! Re-adoption after a crash of Pave (simulated with `abandon`).

use std::time::Duration;

use pave_runtime::{InstanceState, Probe, Runtime};

use crate::fixture::{Fixture, alive, get, instance, pid, plan, port, processes_with, status};

#[tokio::test]
async fn a_new_runtime_adopts_running_processes_without_starting_copies() {
    let fixture = Fixture::new();
    let web_port = port();
    let marker = format!("adopt-marker-{web_port}");
    let web = || {
        let mut web = fixture.server("web", &[]);
        web.args.push(marker.clone());
        web.readiness = Some(Probe::Http {
            port: web_port,
            path: "/healthz".to_owned(),
            headers: Vec::new(),
        });
        web
    };
    let kept = instance("kept-1", vec![web()], &[("web", web_port)]);
    let leftover = instance(
        "leftover-1",
        vec![fixture.shell("main", "exec sleep 1000")],
        &[],
    );

    let first = &fixture.runtime;
    first
        .apply(&plan("dev", vec![kept.clone(), leftover]))
        .await
        .expect("apply");
    first
        .wait_ready("kept-1", Duration::from_secs(5))
        .await
        .expect("ready");
    first
        .wait_ready("leftover-1", Duration::from_secs(5))
        .await
        .expect("ready");
    let web_pid = pid(first, "kept-1").await;
    let leftover_pid = pid(first, "leftover-1").await;
    first.abandon();

    // Pave "crashed": the processes still run and serve.
    assert!(alive(web_pid) && alive(leftover_pid));
    assert_eq!(get(web_port, "/env").await.0, 200);

    let second = fixture.another_runtime();
    let second = &second.0;
    second
        .apply(&plan("dev", vec![kept]))
        .await
        .expect("re-apply");
    second
        .wait_ready("kept-1", Duration::from_secs(5))
        .await
        .expect("adopted and ready");
    let adopted = status(second, "kept-1").await;
    assert_eq!(adopted.state, InstanceState::Ready);
    assert_eq!(
        adopted.processes[0].pid,
        Some(web_pid),
        "not the same process"
    );
    assert_eq!(adopted.processes[0].restarts, 0);
    assert_eq!(
        processes_with(&marker),
        [web_pid],
        "a second copy was started"
    );
    // The instance that is not in the plan any more was stopped and removed.
    assert!(!alive(leftover_pid), "the leftover process survived");
    assert!(!fixture.instance_dir("dev", "leftover-1").exists());

    // An adopted process is stopped like any other.
    second
        .apply(&plan("dev", vec![]))
        .await
        .expect("apply empty plan");
    assert!(!alive(web_pid), "the adopted process survived");
    assert!(processes_with(&marker).is_empty());
    assert!(!fixture.instance_dir("dev", "kept-1").exists());
}

#[tokio::test]
async fn an_adopted_process_that_dies_is_restarted() {
    let fixture = Fixture::new();
    let spec = instance(
        "solo-1",
        vec![fixture.shell("main", "exec sleep 1000")],
        &[],
    );
    fixture
        .runtime
        .apply(&plan("dev", vec![spec.clone()]))
        .await
        .expect("apply");
    let original = pid(&fixture.runtime, "solo-1").await;
    fixture.runtime.abandon();

    let second = fixture.another_runtime();
    let second = &second.0;
    second
        .apply(&plan("dev", vec![spec]))
        .await
        .expect("re-apply");
    assert_eq!(pid(second, "solo-1").await, original);
    second
        .wait_ready("solo-1", Duration::from_secs(2))
        .await
        .expect("ready at once");

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(original).expect("pid")),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill");
    crate::fixture::eventually(Duration::from_secs(5), "a fresh process", || async {
        status(second, "solo-1").await.processes[0]
            .pid
            .is_some_and(|pid| pid != original)
    })
    .await;
    let status = status(second, "solo-1").await;
    assert_eq!(status.processes[0].restarts, 1);
}

#[tokio::test]
async fn state_of_processes_that_died_while_pave_was_down_is_replaced() {
    let fixture = Fixture::new();
    let spec = instance(
        "dead-1",
        vec![fixture.shell("main", "exec sleep 1000")],
        &[],
    );
    fixture
        .runtime
        .apply(&plan("dev", vec![spec.clone()]))
        .await
        .expect("apply");
    let original = pid(&fixture.runtime, "dead-1").await;
    fixture.runtime.abandon();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(original).expect("pid")),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill");
    crate::fixture::eventually(Duration::from_secs(2), "the process to die", || async {
        !alive(original)
    })
    .await;

    let second = fixture.another_runtime();
    let second = &second.0;
    second
        .apply(&plan("dev", vec![spec]))
        .await
        .expect("re-apply");
    let fresh = pid(second, "dead-1").await;
    assert_ne!(fresh, original);
    assert!(alive(fresh));
    second
        .wait_ready("dead-1", Duration::from_secs(2))
        .await
        .expect("ready");
}

/// Set for the helper test below when it plays a Pave process.
const CHILD_ROOT: &str = "PAVE_RUNTIME_TEST_CHILD_ROOT";
const CHILD_WORK: &str = "PAVE_RUNTIME_TEST_CHILD_WORK";

/// Not a test on its own: when run by
/// [`processes_survive_a_sigkill_of_pave_and_are_adopted`] (with the
/// variables above set), it plays Pave: it starts an instance, says so on
/// stdout, and waits to be killed with SIGKILL.
#[tokio::test]
async fn helper_pave_process() {
    let (Ok(root), Ok(work)) = (std::env::var(CHILD_ROOT), std::env::var(CHILD_WORK)) else {
        return;
    };
    let runtime = pave_runtime::LocalRuntime::new(root.into(), crate::fixture::fast_options())
        .expect("runtime");
    let spec = survivor_spec(std::path::Path::new(&work));
    runtime
        .apply(&plan("dev", vec![spec]))
        .await
        .expect("apply");
    runtime
        .wait_ready("survivor-1", Duration::from_secs(5))
        .await
        .expect("ready");
    println!("PAVE-HELPER-READY");
    tokio::time::sleep(Duration::from_secs(30)).await;
}

fn survivor_spec(work: &std::path::Path) -> pave_runtime::InstanceSpec {
    let process = pave_runtime::ProcessSpec {
        name: "main".to_owned(),
        program: "sh".to_owned(),
        args: vec![
            "-c".to_owned(),
            "while true; do echo alive; echo still >&2; sleep 0.05; done".to_owned(),
        ],
        env: Default::default(),
        working_dir: work.to_owned(),
        files: Vec::new(),
        readiness: None,
        liveness: None,
    };
    instance("survivor-1", vec![process], &[])
}

/// Kills the helper Pave when dropped, even if the test fails.
struct HelperPave(std::process::Child);

impl Drop for HelperPave {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn processes_survive_a_sigkill_of_pave_and_are_adopted() {
    use std::io::BufRead;

    let fixture = Fixture::new();
    let mut helper = HelperPave(
        std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "adoption::helper_pave_process",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ROOT, fixture.runtime_root())
            .env(CHILD_WORK, fixture.work.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start the helper Pave"),
    );
    let stdout = helper.0.stdout.take().expect("stdout");
    let ready = tokio::task::spawn_blocking(move || {
        std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .any(|line| line.contains("PAVE-HELPER-READY"))
    });
    let ready = tokio::time::timeout(Duration::from_secs(8), ready)
        .await
        .expect("the helper Pave started the instance in time")
        .expect("reader");
    assert!(ready, "the helper Pave ended without starting the instance");

    let pid_file = fixture.instance_dir("dev", "survivor-1").join("main.pid");
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&pid_file).expect("pid file")).expect("json");
    let survivor = u32::try_from(record["pid"].as_u64().expect("pid")).expect("pid fits");

    // kill -9 of Pave.
    helper.0.kill().expect("SIGKILL");
    helper.0.wait().expect("reaped");

    // The process lives on and keeps writing (no pipe to break).
    let log = fixture
        .instance_dir("dev", "survivor-1")
        .join("logs/main.out.log");
    let before = std::fs::metadata(&log).expect("log").len();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(alive(survivor), "the process died with Pave");
    assert!(
        std::fs::metadata(&log).expect("log").len() > before,
        "it stopped writing"
    );

    let second = fixture.another_runtime();
    let second = &second.0;
    second
        .apply(&plan("dev", vec![survivor_spec(fixture.work.path())]))
        .await
        .expect("re-apply");
    assert_eq!(pid(second, "survivor-1").await, survivor, "not adopted");
    second
        .wait_ready("survivor-1", Duration::from_secs(2))
        .await
        .expect("ready");
    second
        .apply(&plan("dev", vec![]))
        .await
        .expect("apply empty plan");
    assert!(!alive(survivor), "the adopted process survived");
}
