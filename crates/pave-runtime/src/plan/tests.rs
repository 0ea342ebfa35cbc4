use std::collections::BTreeMap;
use std::path::PathBuf;

use super::*;

fn process(name: &str) -> ProcessSpec {
    ProcessSpec {
        name: name.to_owned(),
        program: "sh".to_owned(),
        args: vec!["-c".to_owned(), "sleep 1".to_owned()],
        env: BTreeMap::new(),
        working_dir: PathBuf::from("/tmp"),
        files: Vec::new(),
        readiness: None,
        liveness: None,
    }
}

fn instance(id: &str, ports: &[(&str, u16)]) -> InstanceSpec {
    InstanceSpec {
        id: id.to_owned(),
        workload: "web".to_owned(),
        processes: vec![process("main")],
        ports: ports
            .iter()
            .map(|(name, port)| ((*name).to_owned(), *port))
            .collect(),
        primary_port: None,
    }
}

fn plan(instances: Vec<InstanceSpec>) -> EnvironmentPlan {
    EnvironmentPlan {
        environment: "dev".to_owned(),
        instances,
    }
}

fn reason(result: Result<(), RuntimeError>) -> String {
    match result {
        Err(error) => error.to_string(),
        Ok(()) => panic!("expected an error"),
    }
}

#[test]
fn port_variables() {
    let mut spec = instance("a", &[("web", 8080), ("admin-api.v2", 9090)]);
    let env = spec.port_env();
    assert_eq!(env.get("PORT").map(String::as_str), Some("9090"));
    assert_eq!(env.get("PAVE_PORT_WEB").map(String::as_str), Some("8080"));
    assert_eq!(
        env.get("PAVE_PORT_ADMIN_API_V2").map(String::as_str),
        Some("9090")
    );
    spec.primary_port = Some("web".to_owned());
    assert_eq!(
        spec.port_env().get("PORT").map(String::as_str),
        Some("8080")
    );
    assert!(instance("b", &[]).port_env().is_empty());
}

#[test]
fn accepts_a_good_plan() {
    plan(vec![
        instance("a", &[("web", 8080)]),
        instance("b", &[("web", 8081)]),
    ])
    .validate()
    .expect("valid");
}

#[test]
fn rejects_unsafe_names() {
    for bad in ["", "..", ".hidden", "-x", "a/b", "a b", &"x".repeat(129)] {
        let mut plan = plan(vec![instance("a", &[])]);
        plan.environment = bad.to_owned();
        assert!(plan.validate().is_err(), "environment {bad:?}");
        let plan = self::plan(vec![instance(bad, &[])]);
        assert!(plan.validate().is_err(), "id {bad:?}");
    }
}

#[test]
fn rejects_duplicates_and_collisions() {
    let text = reason(plan(vec![instance("a", &[]), instance("a", &[])]).validate());
    assert!(text.contains("twice"), "{text}");
    let text = reason(
        plan(vec![
            instance("a", &[("web", 8080)]),
            instance("b", &[("web", 8080)]),
        ])
        .validate(),
    );
    assert!(text.contains("port 8080"), "{text}");
    let text = reason(plan(vec![instance("a", &[("web-1", 1), ("web_1", 2)])]).validate());
    assert!(text.contains("PAVE_PORT_WEB_1"), "{text}");
    let mut spec = instance("a", &[]);
    spec.processes.push(process("main"));
    assert!(plan(vec![spec]).validate().is_err());
    let mut spec = instance("a", &[("web", 1)]);
    spec.primary_port = Some("api".to_owned());
    assert!(reason(plan(vec![spec]).validate()).contains("primary_port"));
}

#[test]
fn confines_files() {
    let with_file = |path: &str| {
        let mut spec = instance("a", &[]);
        if let Some(process) = spec.processes.first_mut() {
            process.files.push(FileSpec {
                path: PathBuf::from(path),
                mode: None,
                content: b"x".to_vec(),
            });
        }
        plan(vec![spec]).validate()
    };
    assert!(with_file("config/app.toml").is_ok());
    assert!(with_file("/tmp/app.toml").is_ok());
    assert!(with_file("../escape").is_err());
    assert!(with_file("a/../../escape").is_err());
    assert!(with_file("/etc/passwd").is_err());
    assert!(with_file("/tmp").is_err());
    assert!(with_file("instance.json").is_err());
    assert!(with_file("logs/main.out.log").is_err());
    assert!(with_file("main.pid").is_err());
}

#[test]
fn rejects_request_splitting_probes() {
    let with_probe = |probe: Probe| {
        let mut spec = instance("a", &[]);
        if let Some(process) = spec.processes.first_mut() {
            process.readiness = Some(probe);
        }
        plan(vec![spec]).validate()
    };
    let http = |path: &str, header: (&str, &str)| Probe::Http {
        port: 80,
        path: path.to_owned(),
        headers: vec![(header.0.to_owned(), header.1.to_owned())],
    };
    assert!(with_probe(http("/health", ("X-Probe", "yes"))).is_ok());
    assert!(with_probe(http("/a b", ("X", "y"))).is_err());
    assert!(with_probe(http("health", ("X", "y"))).is_err());
    assert!(with_probe(http("/", ("X", "y\r\nEvil: 1"))).is_err());
    assert!(with_probe(http("/", ("X:", "y"))).is_err());
    assert!(with_probe(Probe::Exec { command: vec![] }).is_err());
}

#[test]
fn rejects_bad_process_fields() {
    let mut spec = instance("a", &[]);
    if let Some(process) = spec.processes.first_mut() {
        process.working_dir = PathBuf::from("relative");
    }
    assert!(reason(plan(vec![spec]).validate()).contains("absolute"));
    let mut spec = instance("a", &[]);
    if let Some(process) = spec.processes.first_mut() {
        process.env.insert("A=B".to_owned(), "x".to_owned());
    }
    assert!(plan(vec![spec]).validate().is_err());
    let mut spec = instance("a", &[]);
    spec.processes.clear();
    assert!(plan(vec![spec]).validate().is_err());
}
