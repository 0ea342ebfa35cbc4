//! Pave's shipped golden paths (`golden-paths/` at the repository root), run
//! the way the task runner will run them: parse the template, fill defaults
//! and validate sample values, render every step input with the public
//! expression API, run the `fetch` step's `fetch:template` on the real
//! skeleton, and check what it produced. Then the generated project's own
//! tests run as real processes (`python3 -m unittest`, `cargo test`), and the
//! Python service is started and probed over HTTP.
//!
//! `publish:git` and `catalog:register` are not run; their inputs and the
//! template output are rendered with the outputs those actions document.

#![cfg(unix)]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use pave_catalog_model::{Rules, validate};
use pave_scaffold::actions::{ActionContext, ActionRegistry};
use pave_scaffold::{
    Context, Template, Workspace, parse_template, render_step_input, render_value, step_should_run,
    validate_values, with_defaults,
};
use serde_json::{Value, json};

/// One shipped golden path and what its files should say.
struct GoldenPath {
    /// Directory below `golden-paths/`, and the template's `metadata.name`.
    name: &'static str,
    /// The language tag on the template and on the generated component.
    tag: &'static str,
    /// How the commit message names it (`… from the Python golden path`).
    language: &'static str,
}

const PYTHON: GoldenPath = GoldenPath {
    name: "python-service",
    tag: "python",
    language: "Python",
};

const RUST: GoldenPath = GoldenPath {
    name: "rust-service",
    tag: "rust",
    language: "Rust",
};

/// Outputs `publish:git` and `catalog:register` document, for rendering the
/// steps after them and the template output.
const REMOTE_URL: &str = "https://pave.example/git/team-a/orders.git";
const CONTENTS_URL: &str = "https://pave.example/git/team-a/orders/blob/main";
const ENTITY_REF: &str = "component:default/orders";

impl GoldenPath {
    fn directory(&self) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../golden-paths")
            .join(self.name)
    }

    fn template(&self) -> Template {
        let path = self.directory().join("template.yaml");
        let source = std::fs::read_to_string(&path)
            .unwrap_or_else(|error| panic!("read {}: {error}", path.display()));
        let entity: Value = serde_saphyr::from_str(&source)
            .unwrap_or_else(|error| panic!("{} is not YAML: {error}", path.display()));
        // The catalog must accept it too: that is how Pave finds templates.
        let catalog_entity = validate(&entity, &Rules::default())
            .unwrap_or_else(|problems| panic!("{}: {problems:?}", path.display()));
        assert_eq!(
            catalog_entity.reference().to_string(),
            format!("template:default/{}", self.name)
        );
        parse_template(&entity).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
    }
}

/// What a user submits in the wizard; `system` is optional.
fn submitted(system: Option<&str>) -> Value {
    let mut values = json!({
        "name": "orders",
        "owner": "group:default/team-a",
        "repoUrl": "pave?owner=team-a&repo=orders",
    });
    if let Some(system) = system {
        values["system"] = json!(system);
    }
    values
}

/// Checks the template's shape: metadata, parameter pages, steps, output.
fn check_template(golden: &GoldenPath, template: &Template) {
    assert_eq!(template.name, golden.name);
    assert!(template.title.is_some() && template.description.is_some());
    assert!(
        template.tags.iter().any(|tag| tag == golden.tag),
        "{:?}",
        template.tags
    );
    assert_eq!(template.owner.as_deref(), Some("platform"));
    assert_eq!(template.template_type, "service");

    let pages: Vec<_> = template
        .parameters
        .iter()
        .map(|page| page.title.as_deref().unwrap_or_default())
        .collect();
    assert_eq!(pages, ["About the service", "Repository"]);
    let about = &template.parameters[0];
    assert_eq!(about.required, ["name", "owner"]);
    assert_eq!(about.properties["owner"]["ui:field"], "OwnerPicker");
    assert_eq!(
        about.properties["owner"]["ui:options"]["catalogFilter"]["kind"],
        json!(["Group", "User"])
    );
    assert_eq!(about.properties["system"]["ui:field"], "EntityPicker");
    assert_eq!(about.properties["name"]["ui:autofocus"], true);
    let repository = &template.parameters[1];
    assert_eq!(repository.required, ["repoUrl"]);
    assert_eq!(repository.properties["deploy"]["default"], true);
    assert_eq!(
        repository.properties["repoUrl"]["ui:field"],
        "RepoUrlPicker"
    );
    assert_eq!(
        repository.properties["repoUrl"]["ui:options"]["allowedHosts"],
        json!(["pave"])
    );

    let steps: Vec<_> = template
        .steps
        .iter()
        .map(|step| (step.id.as_deref().unwrap_or_default(), step.action.as_str()))
        .collect();
    assert_eq!(
        steps,
        [
            ("fetch", "fetch:template"),
            ("publish", "publish:git"),
            ("register", "catalog:register"),
            ("deploy", "pave:deploy"),
        ]
    );
    let links: Vec<_> = template
        .output
        .links
        .iter()
        .map(|link| link.title.as_deref().unwrap_or_default())
        .collect();
    assert_eq!(links, ["Repository", "Open in catalog", "Open in dev"]);
    assert_eq!(template.output.links[1].icon.as_deref(), Some("catalog"));
    assert_eq!(template.output.text.len(), 1);
}

/// Fills defaults and validates `values`; returns the parameters steps see.
fn accepted_parameters(template: &Template, values: &Value) -> Value {
    let parameters = with_defaults(template, values);
    if let Err(problems) = validate_values(template, &parameters) {
        panic!("{} refused {values}: {problems:?}", template.name);
    }
    assert!(
        parameters["description"]
            .as_str()
            .is_some_and(|text| !text.is_empty()),
        "the description has a default: {parameters}"
    );
    parameters
}

/// The problems for `values`, which must be refused.
fn refused(template: &Template, values: &Value) -> Vec<String> {
    let parameters = with_defaults(template, values);
    let problems = validate_values(template, &parameters)
        .expect_err(&format!("{} accepted {values}", template.name));
    problems
        .iter()
        .map(|problem| problem.path.clone())
        .collect()
}

/// Renders every step input and the output the way the task runner will, with
/// documented outputs standing in for the steps that are not run here.
/// Returns the rendered input of the `fetch` step.
fn render_steps(golden: &GoldenPath, template: &Template, parameters: &Value) -> Value {
    let name = parameters["name"].as_str().expect("name");
    let mut context = Context::new(parameters.clone());
    let mut inputs = Vec::new();
    for step in &template.steps {
        assert!(step_should_run(step, &context).expect("if renders"));
        let input = render_step_input(step, &context)
            .unwrap_or_else(|error| panic!("{}: {error}", template.name));
        let id = step.id.clone().expect("every step has an id");
        let output = match id.as_str() {
            "publish" => json!({
                "remoteUrl": REMOTE_URL,
                "repoContentsUrl": CONTENTS_URL,
                "commitHash": "0123456789abcdef0123456789abcdef01234567",
            }),
            "register" => json!({
                "entityRef": ENTITY_REF,
                "catalogInfoUrl": format!("{CONTENTS_URL}/catalog-info.yaml"),
            }),
            "deploy" => json!({"url": "http://orders--dev.localhost:7080", "environment": "dev"}),
            _ => json!({}),
        };
        context.steps.insert(id, output);
        inputs.push(input);
    }
    let [fetch, publish, register, deploy] = <[Value; 4]>::try_from(inputs).expect("four steps");
    assert_eq!(
        deploy,
        json!({"component": ENTITY_REF, "environment": "dev", "createEnvironment": true})
    );

    assert_eq!(fetch["url"], "./skeleton");
    let values = &fetch["values"];
    for key in ["name", "description", "owner", "repoUrl"] {
        assert_eq!(values[key], parameters[key], "values.{key}");
    }
    // An optional parameter that was not given is left out, not `null`.
    assert_eq!(values.get("system"), parameters.get("system"));

    assert_eq!(
        publish,
        json!({
            "repoUrl": "pave?owner=team-a&repo=orders",
            "description": parameters["description"],
            "defaultBranch": "main",
            "gitCommitMessage": format!("Create {name} from the {} golden path", golden.language),
        })
    );
    assert_eq!(
        register,
        json!({"repoContentsUrl": CONTENTS_URL, "catalogInfoPath": "/catalog-info.yaml"})
    );

    let links = &template.output.links;
    let repository = render_value(links[0].url.as_ref().expect("url"), &context).expect("url");
    assert_eq!(repository, REMOTE_URL);
    let entity = render_value(links[1].entity_ref.as_ref().expect("ref"), &context).expect("ref");
    assert_eq!(entity, ENTITY_REF);
    let text = render_value(
        template.output.text[0].content.as_ref().expect("content"),
        &context,
    )
    .expect("output text renders");
    let text = text.as_str().expect("text");
    assert!(
        text.contains(&format!("git clone {REMOTE_URL} {name}")),
        "{text}"
    );
    assert!(!text.contains("${{"), "{text}");
    fetch
}

/// Runs `fetch:template` with `input` into a fresh workspace.
fn run_fetch(golden: &GoldenPath, input: &Value) -> tempfile::TempDir {
    let output = tempfile::tempdir().expect("tempdir");
    let workspace = Workspace::new(output.path()).expect("workspace");
    let template_directory =
        Workspace::template_directory(golden.directory()).expect("template directory");
    let mut log = Vec::new();
    let result = {
        let mut context = ActionContext::new(&workspace, &mut log);
        context.template_directory = Some(&template_directory);
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(ActionRegistry::with_builtin_actions().run(
                "fetch:template",
                &mut context,
                input,
            ))
    };
    match result {
        Ok(output) => assert_eq!(output, json!({})),
        Err(error) => panic!(
            "{}: fetch:template failed: {error}\nlog: {log:#?}",
            golden.name
        ),
    }
    output
}

/// Every file below `root`, as paths relative to it, sorted.
fn files_below(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(directory) = pending.pop() {
        for entry in std::fs::read_dir(&directory).expect("list directory") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path.strip_prefix(root).expect("below root").to_path_buf());
            }
        }
    }
    files.sort();
    files
}

/// Checks the generated repository: nothing left unrendered, a valid catalog
/// entry and Score workload, and the files every golden path promises.
fn check_generated(golden: &GoldenPath, root: &Path, parameters: &Value) {
    let name = parameters["name"].as_str().expect("name");
    let system = parameters.get("system").and_then(Value::as_str);
    let files = files_below(root);
    let listed: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    for expected in [
        "README.md",
        "catalog-info.yaml",
        "score.yaml",
        ".github/workflows/ci.yaml",
        ".gitignore",
    ] {
        assert!(
            listed.iter().any(|f| f == expected),
            "no {expected} in {listed:?}"
        );
    }
    for file in &files {
        let text = std::fs::read_to_string(root.join(file)).expect("generated files are text");
        for leftover in ["${{", "{%", "{#"] {
            assert!(
                !text.contains(leftover),
                "{} still contains `{leftover}`:\n{text}",
                file.display()
            );
        }
    }
    let read = |name: &str| std::fs::read_to_string(root.join(name)).expect(name);

    let document: Value =
        serde_saphyr::from_str(&read("catalog-info.yaml")).expect("catalog-info.yaml is YAML");
    let entity = validate(&document, &Rules::default())
        .unwrap_or_else(|problems| panic!("catalog-info.yaml: {problems:?}\n{document:#}"));
    assert_eq!(
        entity.reference().to_string(),
        format!("component:default/{name}")
    );
    assert_eq!(
        entity.metadata.description,
        parameters["description"].as_str().map(str::to_string)
    );
    assert_eq!(entity.spec["type"], "service");
    assert_eq!(entity.spec["lifecycle"], "experimental");
    assert_eq!(entity.spec["owner"], "group:default/team-a");
    assert_eq!(entity.spec.get("system").and_then(Value::as_str), system);
    assert_eq!(document["metadata"]["tags"][0], golden.tag);
    assert!(
        document["metadata"].get("annotations").is_none(),
        "Pave adds the source location itself"
    );

    let workload = pave_workload::parse(&read("score.yaml"), "score.yaml")
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(workload.metadata.name, name);
    let container = &workload.containers["main"];
    assert_eq!(container.image, ".");
    // A Score placeholder, which expressions must leave alone.
    assert_eq!(container.variables["SERVICE_NAME"], "${metadata.name}");
    for probe in [&container.readiness_probe, &container.liveness_probe] {
        let http = probe
            .as_ref()
            .and_then(|p| p.http_get.as_ref())
            .expect("httpGet probe");
        assert_eq!((http.path.as_str(), http.port), ("/healthz", 8080));
    }
    let service = workload.service.as_ref().expect("service");
    assert_eq!(service.ports["web"].port, 8080);

    let workflow: Value =
        serde_saphyr::from_str(&read(".github/workflows/ci.yaml")).expect("ci.yaml is YAML");
    assert!(workflow["jobs"].is_object(), "{workflow:#}");

    let readme = read("README.md");
    assert!(readme.starts_with(&format!("# {name}\n")), "{readme}");
    assert!(readme.contains("`team-a/orders`"), "{readme}");
    match system {
        Some(system) => assert!(readme.contains(&format!("`{system}` system")), "{readme}"),
        None => assert!(!readme.contains("system`"), "{readme}"),
    }
}

/// Everything up to and including the generated files, for one golden path
/// and one set of submitted values.
fn generate(golden: &GoldenPath, values: &Value) -> tempfile::TempDir {
    let template = golden.template();
    check_template(golden, &template);
    let parameters = accepted_parameters(&template, values);
    let input = render_steps(golden, &template, &parameters);
    let output = run_fetch(golden, &input);
    check_generated(golden, output.path(), &parameters);
    if let Some(keep) = std::env::var_os("GOLDEN_PATHS_KEEP") {
        let name = parameters["name"].as_str().expect("name");
        keep_copy(
            output.path(),
            &Path::new(&keep).join(golden.name).join(name),
        );
    }
    output
}

/// Copies a generated project to `destination` for a person to look at
/// (`GOLDEN_PATHS_KEEP=/tmp/golden cargo test …` writes
/// `/tmp/golden/<golden path>/<service name>`), replacing an older copy.
fn keep_copy(root: &Path, destination: &Path) {
    let _ = std::fs::remove_dir_all(destination);
    for file in files_below(root) {
        let target = destination.join(&file);
        std::fs::create_dir_all(target.parent().expect("parent")).expect("create directory");
        std::fs::copy(root.join(&file), &target).expect("copy");
    }
}

/// A process started in its own process group; dropping it kills the whole
/// group if the process is still running, so nothing outlives a failed test.
struct Process {
    child: Child,
    what: String,
    log: PathBuf,
}

impl Process {
    /// Starts `command` with stdout and stderr going to `log`.
    fn start(mut command: Command, what: &str, log: PathBuf) -> Process {
        let file = std::fs::File::create(&log).expect("create log");
        command
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log handle"))
            .stderr(file)
            .process_group(0);
        let child = command
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {what}: {error}"));
        Process {
            child,
            what: what.to_string(),
            log,
        }
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits up to `timeout`; `None` if it is still running.
    fn wait_for(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the process to finish and fails the test unless it succeeds.
    fn expect_success(mut self, timeout: Duration) -> String {
        match self.wait_for(timeout) {
            Some(status) if status.success() => self.output(),
            Some(status) => panic!("{} failed ({status}):\n{}", self.what, self.output()),
            None => panic!(
                "{} did not finish within {timeout:?}:\n{}",
                self.what,
                self.output()
            ),
        }
    }

    /// Sends `signal` (e.g. `TERM`) to the process itself.
    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args(["-s", signal, &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -s {signal} {}", self.child.id());
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // Only while it runs: once reaped, its id may belong to someone else.
        if let Ok(None) = self.child.try_wait() {
            let group = format!("-{}", self.child.id());
            let _ = Command::new("kill")
                .args(["-s", "KILL", "--", &group])
                .stderr(Stdio::null())
                .status();
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("free port")
        .port()
}

/// `GET path` over a new connection; the status code and body, or `None`
/// when nothing accepts connections there yet.
fn http_get(address: SocketAddr, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let (head, body) = answer.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, body.to_string()))
}

fn python() -> Command {
    let mut command = Command::new("python3");
    command.env("PYTHONDONTWRITEBYTECODE", "1");
    command
}

#[test]
fn python_service_is_generated_and_its_tests_pass() {
    let output = generate(&PYTHON, &submitted(Some("payments")));
    let root = output.path();
    let logs = tempfile::tempdir().expect("tempdir");

    let mut tests = python();
    tests
        .args(["-m", "unittest", "discover", "-s", "tests", "-v"])
        .current_dir(root);
    let log = Process::start(
        tests,
        "python3 -m unittest",
        logs.path().join("unittest.log"),
    )
    .expect_success(Duration::from_secs(120));
    assert!(log.contains("OK"), "{log}");

    // Run the service as Pave's local runtime will: `PORT` set, from the checkout.
    let port = free_port();
    let mut command = python();
    command
        .args(["-m", "app"])
        .current_dir(root)
        .env("PORT", port.to_string())
        .env_remove("HOST");
    let mut service = Process::start(command, "python3 -m app", logs.path().join("app.log"));
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + Duration::from_secs(20);
    let answer = loop {
        if let Some(answer) = http_get(address, "/healthz") {
            break answer;
        }
        if let Some(status) = service.wait_for(Duration::ZERO) {
            panic!("python3 -m app exited ({status}):\n{}", service.output());
        }
        assert!(
            Instant::now() < deadline,
            "python3 -m app did not answer on {address}:\n{}",
            service.output()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(answer, (200, "ok\n".to_string()));
    let (status, body) = http_get(address, "/").expect("GET /");
    assert_eq!(status, 200);
    let body: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(body["service"], "orders");
    assert_eq!(http_get(address, "/nope").expect("GET /nope").0, 404);

    service.signal("TERM");
    match service.wait_for(Duration::from_secs(10)) {
        Some(status) => assert!(
            status.success(),
            "SIGTERM should stop it cleanly ({status}):\n{}",
            service.output()
        ),
        None => panic!("python3 -m app ignored SIGTERM:\n{}", service.output()),
    }
}

#[test]
fn rust_service_is_generated_and_its_tests_pass() {
    let output = generate(&RUST, &submitted(None));
    let root = output.path();
    let target = tempfile::tempdir().expect("tempdir");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());

    let mut format = Command::new(&cargo);
    format.args(["fmt", "--check"]).current_dir(root);
    Process::start(format, "cargo fmt --check", target.path().join("fmt.log"))
        .expect_success(Duration::from_secs(60));

    // What the generated CI runs, offline and into a throwaway target directory.
    let cargo_in_project = |arguments: &[&str]| {
        let mut command = Command::new(&cargo);
        command
            .args(arguments)
            .current_dir(root)
            .env("CARGO_TARGET_DIR", target.path().join("target"))
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS");
        command
    };
    let clippy = cargo_in_project(&[
        "clippy",
        "--offline",
        "--locked",
        "--all-targets",
        "--quiet",
        "--",
        "-D",
        "warnings",
    ]);
    Process::start(clippy, "cargo clippy", target.path().join("clippy.log"))
        .expect_success(Duration::from_secs(600));
    let tests = cargo_in_project(&["test", "--offline", "--locked", "--quiet"]);
    let log = Process::start(tests, "cargo test", target.path().join("test.log"))
        .expect_success(Duration::from_secs(600));
    let passed: usize = log
        .lines()
        .filter_map(|line| line.strip_prefix("test result: ok. "))
        .filter_map(|rest| rest.split(' ').next()?.parse::<usize>().ok())
        .sum();
    assert!(passed >= 10, "expected the generated tests to run:\n{log}");
}

#[test]
fn skeletons_render_other_values() {
    // The two slow tests above cover one variant each; this covers the other,
    // with the longest name allowed and a description that needs quoting in
    // YAML and TOML.
    let name = format!("long-{}-name", "x".repeat(53));
    assert_eq!(name.len(), 63);
    let description = "Takes \"orders\": the API # not a comment\n\tsecond line \\ é";
    let mut values = submitted(None);
    values["name"] = json!(name);
    values["description"] = json!(description);
    drop(generate(&PYTHON, &values));

    values["system"] = json!("system:default/payments");
    let output = generate(&RUST, &values);
    let cargo = || {
        let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        command.current_dir(output.path());
        command
    };
    // Cargo reads the rendered manifest back with the same name and description.
    let metadata = cargo()
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .output()
        .expect("run cargo metadata");
    assert!(
        metadata.status.success(),
        "{}",
        String::from_utf8_lossy(&metadata.stderr)
    );
    let metadata: Value = serde_json::from_slice(&metadata.stdout).expect("JSON");
    assert_eq!(metadata["packages"][0]["name"], json!(name));
    assert_eq!(metadata["packages"][0]["description"], description);
    // The code stays formatted with a long name (CI checks formatting).
    let format = cargo()
        .args(["fmt", "--check"])
        .output()
        .expect("run cargo fmt");
    assert!(
        format.status.success(),
        "{}",
        String::from_utf8_lossy(&format.stdout)
    );
}

#[test]
fn bad_values_are_refused() {
    for golden in [&PYTHON, &RUST] {
        let template = golden.template();
        for name in ["Orders!", "orders-", "1orders", "ab", ""] {
            let mut values = submitted(None);
            values["name"] = json!(name);
            assert_eq!(refused(&template, &values), ["/name"], "{name:?}");
        }
        let long = format!("a{}", "b".repeat(63));
        let mut values = submitted(None);
        values["name"] = json!(long);
        assert_eq!(refused(&template, &values), ["/name"]);

        let mut missing = submitted(None);
        missing.as_object_mut().expect("object").remove("owner");
        missing.as_object_mut().expect("object").remove("repoUrl");
        assert_eq!(refused(&template, &missing), ["/owner", "/repoUrl"]);
    }
    // Cargo cannot build a binary named like its own target directories.
    let template = RUST.template();
    let mut values = submitted(None);
    values["name"] = json!("build");
    assert_eq!(refused(&template, &values), ["/name"]);
    accepted_parameters(&PYTHON.template(), &values);
}
