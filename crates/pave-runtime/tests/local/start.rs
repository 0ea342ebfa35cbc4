//! Starting instances: ports, environment, files, readiness.

use std::path::PathBuf;
use std::time::Duration;

use pave_runtime::{FileSpec, InstanceState, Probe, Runtime};

use crate::fixture::{Fixture, get, instance, plan, port, status};

fn healthz(port: u16) -> Option<Probe> {
    Some(Probe::Http {
        port,
        path: "/healthz".to_owned(),
        headers: vec![("X-Probe".to_owned(), "pave".to_owned())],
    })
}

#[tokio::test]
async fn http_ready_instances_of_one_workload_run_side_by_side() {
    let fixture = Fixture::new();
    let runtime = &fixture.runtime;
    let (dev_web, dev_admin, preview_web) = (port(), port(), port());
    assert_ne!(dev_web, preview_web);

    let mut web = fixture.server("web", &[]);
    web.readiness = healthz(dev_web);
    let mut dev = instance(
        "dep-dev-1",
        vec![web],
        &[("web", dev_web), ("admin", dev_admin)],
    );
    dev.primary_port = Some("web".to_owned());
    runtime
        .apply(&plan("dev", vec![dev]))
        .await
        .expect("apply dev");

    let mut web = fixture.server("web", &[]);
    web.readiness = healthz(preview_web);
    let preview = instance("dep-pr-1", vec![web], &[("web", preview_web)]);
    runtime
        .apply(&plan("pr-1", vec![preview]))
        .await
        .expect("apply preview");

    for id in ["dep-dev-1", "dep-pr-1"] {
        runtime
            .wait_ready(id, Duration::from_secs(5))
            .await
            .expect("ready");
        let status = status(runtime, id).await;
        assert_eq!(status.state, InstanceState::Ready);
        assert!(status.processes.iter().all(|process| process.ready));
    }

    let (code, body) = get(dev_web, "/env").await;
    assert_eq!(code, 200);
    let env: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(env["PORT"], dev_web.to_string());
    assert_eq!(env["PAVE_PORT_WEB"], dev_web.to_string());
    assert_eq!(env["PAVE_PORT_ADMIN"], dev_admin.to_string());
    let home = fixture.instance_dir("dev", "dep-dev-1");
    assert_eq!(env["HOME"], home.display().to_string());

    let (_, body) = get(preview_web, "/env").await;
    let env: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(env["PORT"], preview_web.to_string());
    assert_eq!(env["PAVE_PORT_WEB"], preview_web.to_string());

    let statuses = runtime.status("dev").await.expect("status");
    assert_eq!(statuses.len(), 1);
    assert_eq!(
        statuses.first().map(|status| status.workload.as_str()),
        Some("web")
    );
    let mut environments = runtime.environments().await.expect("environments");
    environments.sort();
    assert_eq!(environments, ["dev", "pr-1"]);

    // Applying the same plan again changes nothing.
    let before = status(runtime, "dep-dev-1").await;
    let mut web = fixture.server("web", &[]);
    web.readiness = healthz(dev_web);
    let mut dev = instance(
        "dep-dev-1",
        vec![web],
        &[("web", dev_web), ("admin", dev_admin)],
    );
    dev.primary_port = Some("web".to_owned());
    runtime
        .apply(&plan("dev", vec![dev]))
        .await
        .expect("apply again");
    assert_eq!(
        status(runtime, "dep-dev-1").await.processes,
        before.processes
    );
}

#[tokio::test]
async fn files_are_written_before_start_and_exec_readiness_works() {
    let fixture = Fixture::new();
    let runtime = &fixture.runtime;
    let mut main = fixture.shell(
        "main",
        "cat \"$HOME/config/app.conf\" && cat generated.txt && sleep 0.3 && touch ready && exec sleep 1000",
    );
    main.files = vec![
        FileSpec {
            path: PathBuf::from("config/app.conf"),
            mode: Some(0o640),
            content: b"greeting=hello\n".to_vec(),
        },
        FileSpec {
            path: fixture.work.path().join("generated.txt"),
            mode: None,
            content: b"from the working dir\n".to_vec(),
        },
    ];
    main.readiness = Some(Probe::Exec {
        command: vec!["test".to_owned(), "-e".to_owned(), "ready".to_owned()],
    });
    runtime
        .apply(&plan("dev", vec![instance("files-1", vec![main], &[])]))
        .await
        .expect("apply");
    let started = std::time::Instant::now();
    runtime
        .wait_ready("files-1", Duration::from_secs(5))
        .await
        .expect("ready");
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "ready before the file existed"
    );

    let config = fixture
        .instance_dir("dev", "files-1")
        .join("config/app.conf");
    let metadata = std::fs::metadata(&config).expect("config file");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(metadata.permissions().mode() & 0o7777, 0o640);
    let lines = runtime.logs("files-1", "main", 10).await.expect("logs");
    let texts: Vec<&str> = lines.iter().map(|line| line.text.as_str()).collect();
    assert!(texts.contains(&"greeting=hello"), "{texts:?}");
    assert!(
        texts
            .iter()
            .any(|text| text.contains("from the working dir")),
        "{texts:?}"
    );
}

#[tokio::test]
async fn file_writes_do_not_follow_symlinks_out_of_the_working_dir() {
    let fixture = Fixture::new();
    let outside = tempfile::tempdir().expect("outside");
    std::os::unix::fs::symlink(outside.path(), fixture.work.path().join("link")).expect("symlink");
    let mut main = fixture.shell("main", "exec sleep 1000");
    main.files = vec![FileSpec {
        path: fixture.work.path().join("link/escaped.txt"),
        mode: None,
        content: b"x".to_vec(),
    }];
    let error = fixture
        .runtime
        .apply(&plan("dev", vec![instance("link-1", vec![main], &[])]))
        .await
        .expect_err("a symlink on the way is refused");
    assert!(error.to_string().contains("symbolic link"), "{error}");
    assert!(!outside.path().join("escaped.txt").exists());
    assert!(
        fixture
            .runtime
            .instance("link-1")
            .await
            .expect("status")
            .is_none()
    );
}
