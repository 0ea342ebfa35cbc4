use std::collections::BTreeMap;

use super::*;

fn parse(yaml: &str) -> Workload {
    pave_workload::parse(yaml, "score.yaml").expect("score")
}

#[test]
fn containers_become_processes_on_their_own_ports() {
    let checkout = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(checkout.path().join("svc/conf")).expect("dir");
    std::fs::write(checkout.path().join("svc/conf/app.ini"), "x=1\n").expect("file");
    let workload = parse(
        "apiVersion: score.dev/v1b1\nmetadata: {name: web}\nservice:\n  ports: {http: {port: 80, targetPort: 8080}}\ncontainers:\n  main:\n    image: .\n    command: [python3, -m]\n    args: [app]\n    variables: {GREETING: hi}\n    files:\n      /etc/app/settings.json: {content: '{}', mode: '0644'}\n      conf/copy.ini: {source: conf/app.ini}\n      bin/data: {binaryContent: aGVsbG8=}\n    readinessProbe: {httpGet: {path: /healthz, port: 8080}}\n    livenessProbe: {exec: {command: ['true']}}\n",
    );
    let ports = BTreeMap::from([("http".to_string(), 41000)]);
    let spec = instance_spec(&PlanInput {
        deployment_id: "d1",
        workload: &workload,
        ports: &ports,
        checkout: checkout.path(),
        directory: "svc",
        file: "svc/score.yaml",
    })
    .expect("plan");
    assert_eq!(spec.id, "d1");
    assert_eq!(spec.primary_port.as_deref(), Some("http"));
    let process = &spec.processes[0];
    assert_eq!(process.program, "python3");
    assert_eq!(process.args, ["-m", "app"]);
    assert_eq!(process.env["GREETING"], "hi");
    assert_eq!(process.working_dir, checkout.path().join("svc"));
    assert_eq!(
        process.readiness,
        Some(Probe::Http {
            port: 41000,
            path: "/healthz".into(),
            headers: Vec::new()
        })
    );
    assert_eq!(
        process.liveness,
        Some(Probe::Exec {
            command: vec!["true".into()]
        })
    );
    let files: BTreeMap<String, (Option<u32>, Vec<u8>)> = process
        .files
        .iter()
        .map(|file| {
            (
                file.path.display().to_string(),
                (file.mode, file.content.clone()),
            )
        })
        .collect();
    assert_eq!(
        files["etc/app/settings.json"],
        (Some(0o644), b"{}".to_vec())
    );
    assert_eq!(files["conf/copy.ini"].1, b"x=1\n");
    assert_eq!(files["bin/data"].1, b"hello");
}

#[test]
fn what_the_local_runtime_cannot_run_is_named() {
    let checkout = tempfile::tempdir().expect("tempdir");
    let workload = parse(
        "apiVersion: score.dev/v1b1\nmetadata: {name: web}\ncontainers:\n  db: {image: 'postgres:16'}\n  main:\n    image: .\n    files:\n      x: {source: ../../etc/passwd}\n  worker:\n    image: .\n    command: [run]\n    readinessProbe: {httpGet: {path: /, port: 9999}}\n",
    );
    let ports = BTreeMap::from([("a".to_string(), 1), ("b".to_string(), 2)]);
    let errors = instance_spec(&PlanInput {
        deployment_id: "d1",
        workload: &workload,
        ports: &ports,
        checkout: checkout.path(),
        directory: "",
        file: "score.yaml",
    })
    .expect_err("refused");
    let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("containers.db.image") && m.contains("postgres:16")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("containers.main.command")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("containers.worker.readinessProbe.httpGet.port")),
        "{messages:?}"
    );
}

#[test]
fn a_workload_without_ports_still_gets_one() {
    let workload = parse(
        "apiVersion: score.dev/v1b1\nmetadata: {name: wk}\ncontainers:\n  main: {image: .}\n",
    );
    assert_eq!(port_names(&workload), [DEFAULT_PORT_NAME]);
}
