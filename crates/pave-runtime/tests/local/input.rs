//! Plans that cannot run fail clearly, before anything changes.

use std::path::PathBuf;

use pave_runtime::{Runtime, RuntimeError};

use crate::fixture::{Fixture, alive, instance, pid, plan, port};

#[tokio::test]
async fn a_missing_program_is_named_with_the_working_dir() {
    let fixture = Fixture::new();
    let mut main = fixture.shell("main", "");
    main.program = "pave-no-such-program".to_owned();
    main.args.clear();
    let error = fixture
        .runtime
        .apply(&plan("dev", vec![instance("bad-1", vec![main], &[])]))
        .await
        .expect_err("missing program");
    assert!(
        matches!(error, RuntimeError::ProgramNotFound { .. }),
        "{error}"
    );
    let text = error.to_string();
    assert!(text.contains("\"pave-no-such-program\""), "{text}");
    assert!(
        text.contains(&fixture.work.path().display().to_string()),
        "{text}"
    );
    assert!(
        fixture
            .runtime
            .instance("bad-1")
            .await
            .expect("status")
            .is_none()
    );
    assert!(!fixture.instance_dir("dev", "bad-1").exists());

    let mut main = fixture.shell("main", "");
    main.program = "./bin/server".to_owned();
    let error = fixture
        .runtime
        .apply(&plan("dev", vec![instance("bad-2", vec![main], &[])]))
        .await
        .expect_err("missing relative program");
    assert!(error.to_string().contains("bin/server"), "{error}");
}

#[tokio::test]
async fn a_missing_working_dir_is_named() {
    let fixture = Fixture::new();
    let mut main = fixture.shell("main", "exec sleep 1000");
    let missing = fixture.work.path().join("not-checked-out");
    main.working_dir = missing.clone();
    let error = fixture
        .runtime
        .apply(&plan("dev", vec![instance("bad-1", vec![main], &[])]))
        .await
        .expect_err("missing working dir");
    assert!(
        matches!(error, RuntimeError::WorkingDirMissing { .. }),
        "{error}"
    );
    assert!(
        error.to_string().contains(&missing.display().to_string()),
        "{error}"
    );
}

#[tokio::test]
async fn a_taken_port_is_reported() {
    let fixture = Fixture::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let taken = listener.local_addr().expect("address").port();
    let spec = instance(
        "web-1",
        vec![fixture.shell("main", "exec sleep 1000")],
        &[("web", taken)],
    );
    let error = fixture
        .runtime
        .apply(&plan("dev", vec![spec]))
        .await
        .expect_err("port in use");
    assert!(
        matches!(error, RuntimeError::PortInUse { port, .. } if port == taken),
        "{error}"
    );
    assert!(error.to_string().contains("already in use"), "{error}");
}

#[tokio::test]
async fn an_id_never_changes_its_spec_or_environment() {
    let fixture = Fixture::new();
    let runtime = &fixture.runtime;
    let spec = instance(
        "dep-1",
        vec![fixture.shell("main", "exec sleep 1000")],
        &[("web", port())],
    );
    runtime
        .apply(&plan("dev", vec![spec.clone()]))
        .await
        .expect("apply");
    let running = pid(runtime, "dep-1").await;

    let mut changed = spec.clone();
    changed.processes[0].args = vec!["-c".to_owned(), "exec sleep 999".to_owned()];
    let error = runtime
        .apply(&plan("dev", vec![changed]))
        .await
        .expect_err("changed spec");
    assert!(matches!(error, RuntimeError::SpecChanged { .. }), "{error}");
    let error = runtime
        .apply(&plan("staging", vec![spec]))
        .await
        .expect_err("other environment");
    assert!(
        matches!(error, RuntimeError::IdInOtherEnvironment { .. }),
        "{error}"
    );
    assert!(
        alive(running) && pid(runtime, "dep-1").await == running,
        "a rejected plan changed something"
    );
}

#[tokio::test]
async fn invalid_plans_are_rejected_before_anything_runs() {
    let fixture = Fixture::new();
    let mut main = fixture.shell("main", "exec sleep 1000");
    main.working_dir = PathBuf::from("relative/dir");
    let error = fixture
        .runtime
        .apply(&plan("dev", vec![instance("x", vec![main], &[])]))
        .await
        .expect_err("relative working dir");
    assert!(matches!(error, RuntimeError::InvalidPlan { .. }), "{error}");
    let error = fixture
        .runtime
        .apply(&plan("../escape", vec![]))
        .await
        .expect_err("unsafe environment name");
    assert!(matches!(error, RuntimeError::InvalidPlan { .. }), "{error}");
    assert!(
        fixture
            .runtime
            .environments()
            .await
            .expect("environments")
            .is_empty()
    );
}
