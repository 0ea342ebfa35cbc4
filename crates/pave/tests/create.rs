//! `pave create` as people use it: a real server (`pave up`, or `pave serve`
//! on PostgreSQL when `PAVE_TEST_DATABASE_URL` is set) with the golden paths
//! registered, the CLI as a process, real HTTP on 127.0.0.1 and real git.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use pave_store::testing::TestDatabase;
use serde_json::Value;

mod common;
use common::{BINARY, Server, api_get, succeeded, text};

/// A server with its admin token and a private CLI config directory.
struct Setup {
    _directory: tempfile::TempDir,
    server: Server,
    token: String,
    data_dir: PathBuf,
    config_dir: PathBuf,
    _database: TestDatabase,
}

impl Setup {
    async fn start() -> Setup {
        let directory = tempfile::tempdir().unwrap();
        let database = TestDatabase::create().await.unwrap();
        let data_dir = directory.path().join("data");
        let server = Server::start(&data_dir, &database);
        let token = server
            .admin_token()
            .expect("the first start prints a token");
        let config_dir = directory.path().join("config");
        Setup {
            server,
            token,
            data_dir,
            config_dir,
            _database: database,
            _directory: directory,
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BINARY);
        command
            .args(args)
            .env("PAVE_CONFIG_DIR", &self.config_dir)
            .env("PAVE_SERVER", &self.server.url)
            .env("PAVE_TOKEN", &self.token)
            .env_remove("NO_COLOR");
        command
    }

    fn pave(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run pave")
    }

    fn repository(&self, owner: &str, name: &str) -> PathBuf {
        self.data_dir
            .join("repositories")
            .join(owner)
            .join(format!("{name}.git"))
    }

    fn task(&self, id: &str) -> Value {
        let (status, task) = api_get(
            &self.server.address(),
            &format!("/api/scaffolder/v2/tasks/{id}"),
            &self.token,
        );
        assert_eq!(status, 200, "{task}");
        task
    }

    /// The task's final state, waiting up to a minute for it to finish.
    fn finished_task(&self, id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let task = self.task(id);
            if matches!(
                task["status"].as_str(),
                Some("completed" | "failed" | "cancelled")
            ) {
                return task;
            }
            assert!(
                Instant::now() < deadline,
                "task {id} never finished: {task}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The one-line error of a failed command; checks it says `expected`.
fn failed(output: &Output, expected: &str) -> String {
    let stderr = text(&output.stderr);
    assert!(
        !output.status.success(),
        "expected failure\nstdout: {}\nstderr: {stderr}",
        text(&output.stdout)
    );
    assert!(
        stderr.lines().any(|line| line.starts_with("error: ")),
        "{stderr}"
    );
    assert!(
        stderr.contains(expected),
        "expected `{expected}` in: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

fn commits(repository: &Path) -> usize {
    let output = Command::new("git")
        .arg("-C")
        .arg(repository)
        .args(["rev-list", "--count", "--all"])
        .output()
        .expect("run git");
    assert!(output.status.success(), "{}", text(&output.stderr));
    text(&output.stdout).trim().parse().unwrap()
}

fn python_service(name: &str) -> Vec<String> {
    vec![
        "create".into(),
        "python-service".into(),
        "--set".into(),
        format!("name={name}"),
        "--set".into(),
        "owner=group:default/team-a".into(),
        "--set".into(),
        format!("repoUrl=pave?owner=team-a&repo={name}"),
    ]
}

fn args(list: &[String]) -> Vec<&str> {
    list.iter().map(String::as_str).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_golden_path_runs_to_the_end_and_a_taken_repository_is_refused() {
    let setup = Setup::start().await;
    let run = python_service("orders");
    let stdout = succeeded(&setup.pave(&args(&run)));
    assert!(
        stdout.starts_with("Running template:default/python-service as task "),
        "{stdout}"
    );
    for step in [
        "✓ fetch     Fetch the skeleton",
        "✓ publish   Publish the repository",
        "✓ register  Register in the catalog",
    ] {
        assert!(stdout.contains(step), "`{step}` in:\n{stdout}");
    }
    assert!(
        stdout.contains("    Registered component:default/orders"),
        "the step's log is indented under it:\n{stdout}"
    );
    assert!(
        stdout.contains("\nLinks\n")
            && stdout.contains("Open in catalog  component:default/orders")
            && stdout.contains("orders.git")
            && stdout.contains("\nNext steps\n"),
        "{stdout}"
    );
    assert!(
        !stdout.contains('\x1b'),
        "no escapes when not on a terminal"
    );

    let component: Value = serde_json::from_slice(
        &setup
            .pave(&["catalog", "get", "component:default/orders", "-o", "json"])
            .stdout,
    )
    .expect("the component is in the catalog");
    assert_eq!(component["spec"]["owner"], "group:default/team-a");
    let repository = setup.repository("team-a", "orders");
    assert_eq!(commits(&repository), 1);

    // The same repository again: the run fails at publish and says why.
    let output = setup.pave(&args(&run));
    let stderr = failed(
        &output,
        "Pave's git hosting already has team-a/orders; choose another repository name",
    );
    assert!(stderr.contains("failed"), "{stderr}");
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("✓ fetch") && stdout.contains("✗ publish"),
        "{stdout}"
    );
    assert!(!stdout.contains("✓ register"), "{stdout}");
    assert_eq!(commits(&repository), 1, "the first repository is untouched");

    // --output json prints the finished task.
    let mut json_run = python_service("billing");
    json_run.extend(["--output".into(), "json".into()]);
    let stdout = succeeded(&setup.pave(&args(&json_run)));
    let task: Value = serde_json::from_str(&stdout).expect("only JSON on stdout");
    assert_eq!(task["status"], "completed");
    assert_eq!(task["templateRef"], "template:default/python-service");
    assert_eq!(task["spec"]["parameters"]["name"], "billing");
    assert_eq!(
        task["output"]["links"][1]["entityRef"],
        "component:default/billing"
    );
    assert_eq!(commits(&setup.repository("team-a", "billing")), 1);

    // --no-wait returns at once with the id; the task runs on.
    let mut later = python_service("payments");
    later.push("--no-wait".into());
    let stdout = succeeded(&setup.pave(&args(&later)));
    let id = stdout
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("Started task "))
        .unwrap_or_else(|| panic!("{stdout}"))
        .trim()
        .to_string();
    assert!(
        stdout.contains(&format!("{}/create/tasks/{id}", setup.server.url)),
        "{stdout}"
    );
    let task = setup.finished_task(&id);
    assert_eq!(task["status"], "completed", "{task}");
    assert_eq!(task["createdBy"], "user:default/admin");
    let mut later_json = python_service("shipping");
    later_json.extend(["--no-wait".into(), "-o".into(), "json".into()]);
    let started: Value = serde_json::from_slice(&setup.pave(&args(&later_json)).stdout).unwrap();
    let id = started["id"].as_str().expect("an id").to_string();
    assert_eq!(setup.finished_task(&id)["status"], "completed");
}

/// A local template: a skeleton file rendered with a value, a step that is
/// skipped, and an output text.
fn local_template(directory: &Path) -> PathBuf {
    std::fs::create_dir_all(directory.join("skeleton/docs")).unwrap();
    std::fs::create_dir_all(directory.join(".git")).unwrap();
    std::fs::write(directory.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    std::fs::write(
        directory.join("skeleton/hello.txt"),
        "Hello ${{ values.who }}!",
    )
    .unwrap();
    std::fs::write(
        directory.join("skeleton/docs/${{ values.who }}.md"),
        "# ${{ values.who }}\n",
    )
    .unwrap();
    let template = directory.join("template.yaml");
    std::fs::write(
        &template,
        r#"apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: hello
spec:
  owner: platform
  type: service
  parameters:
    - required: [who]
      properties:
        who: {type: string}
        loud: {type: boolean}
  steps:
    - id: render
      name: Render the skeleton
      action: fetch:template
      input:
        url: ./skeleton
        values:
          who: ${{ parameters.who }}
    - id: shout
      name: Shout
      if: ${{ parameters.loud }}
      action: debug:log
      input:
        message: HELLO
  output:
    text:
      - title: Greeting
        content: Said hello to ${{ parameters.who }}
"#,
    )
    .unwrap();
    template
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_runs_show_the_files_and_create_nothing() {
    let setup = Setup::start().await;

    // A catalog template, by reference.
    let mut run = python_service("inventory");
    run.push("--dry-run".into());
    let stdout = succeeded(&setup.pave(&args(&run)));
    assert!(
        stdout.starts_with("Dry run of python-service: nothing is created"),
        "{stdout}"
    );
    assert!(
        stdout.contains("✓ publish   Publish the repository")
            && stdout.contains("    Dry run: would publish"),
        "{stdout}"
    );
    let files: Vec<&str> = stdout
        .split("Files it would create")
        .nth(1)
        .unwrap_or_else(|| panic!("{stdout}"))
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    for file in ["catalog-info.yaml", "app/server.py", "score.yaml"] {
        assert!(files.contains(&file), "{file} in {files:?}");
    }
    assert!(stdout.contains("component:default/inventory"), "{stdout}");
    assert!(!setup.repository("team-a", "inventory").exists());
    failed(
        &setup.pave(&["catalog", "get", "component:default/inventory"]),
        "HTTP 404",
    );

    // A local template, sent with its files (not .git).
    let directory = tempfile::tempdir().unwrap();
    let template = local_template(directory.path());
    let template = template.to_str().unwrap();
    let stdout = succeeded(&setup.pave(&[
        "create",
        template,
        "--dry-run",
        "--set",
        "who=world",
        "--set",
        "loud=false",
    ]));
    assert!(
        stdout.contains("✓ render  Render the skeleton")
            && stdout.contains("- shout   Shout (skipped)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Files it would create (2 files, 20 bytes)"),
        "{stdout}"
    );
    let words = |line: &str| line.split_whitespace().collect::<Vec<_>>().join(" ");
    let files: Vec<String> = stdout.lines().map(words).collect();
    assert!(
        files.contains(&"hello.txt 12 bytes".to_string())
            && files.contains(&"docs/world.md 8 bytes".to_string()),
        "rendered names and sizes: {stdout}"
    );
    assert!(
        stdout.contains("\nGreeting\n  Said hello to world\n"),
        "{stdout}"
    );
    // A directory means its template.yaml; values may come from a file.
    let values = directory.path().join("values.json");
    std::fs::write(&values, r#"{"who": "file", "loud": true}"#).unwrap();
    let output = setup.pave(&[
        "create",
        directory.path().to_str().unwrap(),
        "--dry-run",
        "--values",
        values.to_str().unwrap(),
        "-o",
        "json",
    ]);
    let answer: Value = serde_json::from_str(&succeeded(&output)).unwrap();
    let contents = answer["directoryContents"].as_array().unwrap();
    let hello = contents
        .iter()
        .find(|file| file["path"] == "hello.txt")
        .unwrap_or_else(|| panic!("{answer}"));
    assert_eq!(hello["base64Content"], "SGVsbG8gZmlsZSE="); // "Hello file!"
    assert!(
        answer["log"]
            .as_array()
            .unwrap()
            .iter()
            .any(|event| event["body"]["message"] == "HELLO"),
        "{answer}"
    );

    // A local template runs only as a dry run.
    failed(
        &setup.pave(&["create", template, "--set", "who=world"]),
        "Register it first (`pave catalog register",
    );

    // Actions Pave does not offer are named.
    let github = tempfile::tempdir().unwrap();
    std::fs::write(
        github.path().join("template.yaml"),
        "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata:\n  name: gh\nspec:\n  owner: platform\n  type: service\n  steps:\n    - id: publish\n      action: publish:github\n      input:\n        repoUrl: github.com?owner=a&repo=b\n",
    )
    .unwrap();
    failed(
        &setup.pave(&[
            "create",
            github.path().join("template.yaml").to_str().unwrap(),
            "--dry-run",
        ]),
        "`publish:github`",
    );
    assert!(!setup.data_dir.join("repositories/a").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_refused_with_a_clear_message() {
    let setup = Setup::start().await;
    let output = setup.pave(&[
        "create",
        "python-service",
        "--set",
        "name=Bad Name",
        "--set",
        "owner=group:default/team-a",
        "--set",
        "repoUrl=pave?owner=team-a&repo=bad",
    ]);
    let stderr = failed(&output, "/name");
    assert!(
        stderr.contains("Bad Name") && stderr.contains("HTTP 400"),
        "{stderr}"
    );
    assert!(
        stderr
            .contains("parameters of template:default/python-service (* required): name* (string)"),
        "the template's parameters are listed: {stderr}"
    );
    assert!(text(&output.stdout).is_empty(), "no task was started");
    assert!(!setup.repository("team-a", "bad").exists());

    let stderr = failed(
        &setup.pave(&["create", "no-such-template", "--set", "name=x"]),
        "no template named template:default/no-such-template",
    );
    assert!(stderr.contains("pave catalog list --filter kind=template"));
    failed(
        &setup.pave(&["create", "./missing/template.yaml", "--dry-run"]),
        "cannot find the template file ./missing/template.yaml",
    );

    // Bad syntax is refused before any request: this server does not exist.
    for (flags, expected) in [
        (vec!["--set", "nokey"], "--set `nokey`: expected key=value"),
        (vec!["--set", "a..b=1"], "the key `a..b` has an empty part"),
        (vec!["--set-string", "=x"], "--set-string `=x`"),
        (vec!["--secret", "token"], "--secret: expected key=value"),
        (
            vec!["--values", "/nonexistent/values.yaml"],
            "/nonexistent/values.yaml",
        ),
    ] {
        let mut arguments = vec!["--server", "http://127.0.0.1:1", "create", "python-service"];
        arguments.extend(flags);
        let stderr = failed(&setup.pave(&arguments), expected);
        assert!(!stderr.contains("cannot reach"), "{stderr}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_cancels_the_running_task() {
    let setup = Setup::start().await;
    let directory = tempfile::tempdir().unwrap();
    let template = directory.path().join("template.yaml");
    std::fs::write(
        &template,
        "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata:\n  name: slow\nspec:\n  owner: platform\n  type: service\n  steps:\n    - id: wait\n      name: Wait a minute\n      action: debug:wait\n      input:\n        seconds: 60\n    - id: after\n      action: debug:log\n      input:\n        message: too late\n",
    )
    .unwrap();
    succeeded(&setup.pave(&["catalog", "register", template.to_str().unwrap()]));

    let mut child = setup
        .command(&["create", "slow"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let id = first
        .strip_prefix("Running template:default/slow as task ")
        .unwrap_or_else(|| panic!("{first}"))
        .to_string();
    let mut seen = vec![first];
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen.push(line.clone());
        if line.contains("Waiting") {
            break;
        }
    }
    assert!(
        seen.iter().any(|line| line == "→ wait   Wait a minute"),
        "{seen:?}"
    );
    let interrupted = Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let output = child.wait_with_output().unwrap();
    assert!(interrupted.elapsed() < Duration::from_secs(20));
    let stderr = failed(
        &output,
        &format!("interrupted: task {id} is cancelled at your request"),
    );
    assert!(
        stderr.contains(&format!("Interrupted: asking Pave to cancel task {id}")),
        "{stderr}"
    );
    assert!(
        !rest.iter().any(|line| line.contains("too late")),
        "{rest:?}"
    );
    assert_eq!(setup.finished_task(&id)["status"], "cancelled");
}
