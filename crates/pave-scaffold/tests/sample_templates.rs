//! Backstage's sample templates (`../shared/corpus/backstage/sample-templates`)
//! through Pave's task engine, against a real database (SQLite, or
//! PostgreSQL when `PAVE_TEST_DATABASE_URL` is set) and a real catalog.
//!
//! Every local template reachable from `all-templates.yaml` (following
//! nested Locations) and from `local-template/` is parsed, given values that
//! fit its parameter schema, and dry-run with the files of its directory.
//! Each either runs (and what it rendered is checked) or is refused with a
//! message naming every action Pave does not offer and the step using it.
//! Nothing else is accepted. The templates no Location lists are run the
//! same way.
//!
//! Then `all-templates.yaml` itself is registered in the catalog: its
//! remote targets point to github.com, which is unreachable here, and must
//! become location errors without holding up the local templates, one of
//! which is then dry-run by reference with the files of its own location.
//!
//! The corpus is read in place and never written to.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pave_catalog::{Catalog, CatalogConfig, LocationSpec};
use pave_catalog_model::EntityRef;
use pave_scaffold::tasks::{
    DryRunFile, DryRunRequest, DryRunResult, Scaffolder, ScaffolderConfig, ScaffolderError,
};
use pave_scaffold::{parse_template, validate_values, with_defaults};
use pave_store::testing::TestDatabase;
use serde_json::{Value, json};

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus/backstage/sample-templates")
        .canonicalize()
        .expect("the sample templates are in ../shared/corpus/backstage/sample-templates")
}

struct Fixture {
    _database: TestDatabase,
    _root: tempfile::TempDir,
    catalog: Arc<Catalog>,
    engine: Scaffolder,
}

async fn fixture() -> Fixture {
    let database = TestDatabase::create().await.expect("database");
    let store = database.open().await.expect("store");
    let root = tempfile::tempdir().expect("tempdir");
    let catalog = Arc::new(Catalog::new(
        store.clone(),
        CatalogConfig::quiet(root.path().join("cache")),
    ));
    let engine = Scaffolder::new(
        store,
        Arc::clone(&catalog),
        ScaffolderConfig::under(&root.path().join("data")),
    );
    Fixture {
        _database: database,
        _root: root,
        catalog,
        engine,
    }
}

fn read_documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    serde_saphyr::from_multiple::<Value>(&text)
        .unwrap_or_else(|error| panic!("{} is not YAML: {error}", path.display()))
}

/// Local template files reachable from `start` through Location entities
/// (each with its entity), and the remote targets met on the way.
fn reachable(start: &Path) -> (BTreeMap<PathBuf, Value>, Vec<String>) {
    let mut templates = BTreeMap::new();
    let mut remote = Vec::new();
    let mut pending = vec![start.to_path_buf()];
    let mut seen = BTreeSet::new();
    while let Some(path) = pending.pop() {
        let path = path
            .canonicalize()
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        if !seen.insert(path.clone()) {
            continue;
        }
        for document in read_documents(&path) {
            match document["kind"].as_str() {
                Some("Location") => {
                    let url_location =
                        document.pointer("/spec/type").and_then(Value::as_str) == Some("url");
                    let targets = document
                        .pointer("/spec/targets")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default()
                        .into_iter()
                        .chain(document.pointer("/spec/target").cloned());
                    for target in targets {
                        let target = target.as_str().expect("a target is a string");
                        if url_location || target.contains("://") {
                            remote.push(target.to_string());
                        } else {
                            let directory = path.parent().expect("a file has a directory");
                            pending.push(directory.join(target));
                        }
                    }
                }
                Some("Template") => {
                    templates.insert(path.clone(), document);
                }
                _ => {}
            }
        }
    }
    (templates, remote)
}

/// Every Template document in the corpus, by file.
fn every_template_file() -> BTreeMap<PathBuf, Value> {
    let mut templates = BTreeMap::new();
    for file in files_under(&corpus_dir()) {
        if !(file.ends_with(".yaml") || file.ends_with(".yml")) {
            continue;
        }
        let path = corpus_dir().join(&file);
        // Skeleton files are templates for YAML, not YAML.
        let Ok(documents) = serde_saphyr::from_multiple::<Value>(
            &std::fs::read_to_string(&path).expect("read corpus file"),
        ) else {
            continue;
        };
        for document in documents {
            if document["kind"] == json!("Template") {
                templates.insert(path.clone(), document);
            }
        }
    }
    templates
}

/// Relative paths (with `/`) of the regular files under `root`, sorted.
fn files_under(root: &Path) -> Vec<String> {
    let mut files = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(directory) = pending.pop() {
        let entries = std::fs::read_dir(&directory)
            .unwrap_or_else(|error| panic!("{}: {error}", directory.display()));
        for entry in entries {
            let entry = entry.expect("directory entry");
            let kind = entry.file_type().expect("file type");
            if kind.is_dir() {
                pending.push(entry.path());
            } else if kind.is_file() {
                let relative = entry
                    .path()
                    .strip_prefix(root)
                    .expect("under the root")
                    .to_string_lossy()
                    .replace('\\', "/");
                files.push(relative);
            }
        }
    }
    files.sort();
    files
}

/// The files of a template's directory, as a dry run takes them inline.
fn template_files(template_file: &Path) -> Vec<DryRunFile> {
    let directory = template_file.parent().expect("a file has a directory");
    files_under(directory)
        .into_iter()
        .map(|path| DryRunFile {
            content: std::fs::read(directory.join(&path)).expect("read template file"),
            path,
            executable: false,
        })
        .collect()
}

/// One dry run of a sample template: the values a user would submit and
/// what a successful run must have rendered.
struct Case {
    /// The template's `metadata.name`.
    template: &'static str,
    /// What these values choose.
    label: &'static str,
    values: Value,
    secrets: &'static [(&'static str, &'static str)],
    /// Checks a run that succeeded (not called when the template uses
    /// actions Pave lacks and is refused).
    check: fn(&DryRunResult),
}

fn log_text(result: &DryRunResult) -> String {
    result
        .log
        .iter()
        .map(|event| event.message.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

fn titles(output: &Value, key: &str) -> Vec<String> {
    output[key]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|item| item["title"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn text_content<'a>(output: &'a Value, title: &str) -> &'a str {
    output["text"]
        .as_array()
        .and_then(|texts| texts.iter().find(|text| text["title"] == json!(title)))
        .and_then(|text| text["content"].as_str())
        .unwrap_or_else(|| panic!("no output text `{title}` in {output:#}"))
}

/// Values for every sample template, written from each one's parameters.
fn cases() -> Vec<Case> {
    vec![
        Case {
            template: "notifications-demo",
            label: "to entities",
            values: json!({
                "recipients": "entity",
                "entityRefs": ["component:default/orders", "group:default/team-a"],
                "title": "Deploy finished",
                "description": "orders 1.4.2 is live",
                "link": "https://deploys.example.com/orders/42",
                "severity": "high",
                "scope": "deploys",
            }),
            secrets: &[],
            check: |result| {
                assert!(log_text(result).contains("Deploy finished"));
            },
        },
        Case {
            template: "conditional-output-demo",
            label: "CI on, details shown",
            values: json!({"name": "orders", "enableCI": "Yes", "showDetails": true}),
            secrets: &[],
            check: |result| {
                assert!(result.files.is_empty(), "{:?}", result.files);
                assert!(
                    log_text(result).contains("Creating orders"),
                    "{:?}",
                    result.log
                );
                let output = &result.output;
                assert_eq!(
                    titles(output, "links"),
                    ["Backstage Homepage", "CI Dashboard", "CI Docs"]
                );
                assert_eq!(output["links"][0]["url"], "https://backstage.io");
                assert_eq!(output["links"][1]["url"], "https://ci.example.com/orders");
                assert_eq!(output["links"][1]["icon"], "dashboard");
                assert_eq!(
                    titles(output, "text"),
                    ["Summary", "CI Details", "CI Setup Instructions"]
                );
                assert_eq!(text_content(output, "Summary"), "**Component:** `orders`\n");
                assert_eq!(text_content(output, "CI Details"), "**CI enabled:** Yes\n");
                assert_eq!(
                    text_content(output, "CI Setup Instructions"),
                    "Run `ci-setup --name orders` to configure CI.\n"
                );
            },
        },
        Case {
            template: "conditional-output-demo",
            label: "CI off, details hidden",
            values: json!({"name": "orders", "enableCI": "No", "showDetails": false}),
            secrets: &[],
            check: |result| {
                assert_eq!(titles(&result.output, "links"), ["Backstage Homepage"]);
                assert_eq!(titles(&result.output, "text"), ["Summary"]);
            },
        },
        Case {
            template: "conditional-parameters-demo",
            label: "AWS with monitoring",
            values: json!({
                "name": "orders",
                "cloudProvider": "AWS",
                "awsRegion": "eu-west-1",
                "awsAccountId": "123456789012",
                "enableMonitoring": true,
                "alertEmail": "ops@example.com",
                "alertThreshold": 80,
            }),
            secrets: &[],
            check: |result| {
                assert!(
                    log_text(result).contains("Creating orders on AWS.\nMonitoring enabled: true"),
                    "{:?}",
                    result.log
                );
                assert_eq!(titles(&result.output, "text"), ["Summary", "AWS Details"]);
                assert_eq!(
                    text_content(&result.output, "Summary"),
                    "**Component:** `orders`\n**Cloud Provider:** AWS\n"
                );
                assert_eq!(
                    text_content(&result.output, "AWS Details"),
                    "**Region:** eu-west-1\n**Account ID:** 123456789012\n"
                );
            },
        },
        Case {
            template: "conditional-parameters-demo",
            label: "Azure, region by default",
            values: json!({
                "name": "orders",
                "cloudProvider": "Azure",
                "azureSubscriptionId": "sub-0001",
            }),
            secrets: &[],
            check: |result| {
                assert!(
                    log_text(result)
                        .contains("Creating orders on Azure.\nMonitoring enabled: false"),
                    "{:?}",
                    result.log
                );
                assert_eq!(titles(&result.output, "text"), ["Summary", "Azure Details"]);
                assert_eq!(
                    text_content(&result.output, "Azure Details"),
                    "**Subscription ID:** sub-0001\n**Region:** eastus\n"
                );
            },
        },
        Case {
            template: "bui-kitchen-sink-demo",
            label: "every widget filled",
            values: json!({
                "name": "sink",
                "description": "Exercises\nevery widget",
                "email": "ada@example.com",
                "website": "https://example.com/sink",
                "password": "correct horse",
                "favouriteColour": "#ff8800",
                "replicas": 5,
                "confidence": 72.5,
                "enabled": false,
                "consent": true,
                "environment": "staging",
                "region": "eu-west-1",
                "features": ["logging", "metrics"],
                "tags": ["demo", "bui"],
                "startDate": "2026-11-24",
                "startDateTime": "2026-11-24T09:30:00Z",
                "cutoffTime": "17:30:00Z",
                "readme": "data:text/plain;name=README.md;base64,SGVsbG8=",
                "owner": {"displayName": "Ada Lovelace", "slack": "@ada"},
                "contacts": [
                    {"name": "Grace", "role": "Engineer", "primary": true},
                    {"name": "Linus", "role": "PM"},
                ],
                "componentName": "sink",
                "ownerRef": "group:default/team-a",
                "relatedEntity": "component:default/orders",
                "relatedEntities": ["component:default/orders", "component:default/billing"],
                "myGroups": "group:default/team-a",
                "ownedEntity": "component:default/orders",
                "entityTags": ["python", "demo"],
                "repoUrl": "github.com?owner=acme&repo=sink",
                "repoOwner": "backstage",
                "repoBranch": "main",
            }),
            // `ui:field: Secret` values go to the secrets, not the parameters.
            secrets: &[("deployToken", "s3cr3t-deploy-token")],
            check: |result| {
                let log = log_text(result);
                assert!(
                    log.contains("Submitted kitchen sink for sink.\nEnvironment: staging\nOwner: group:default/team-a\nRepo: github.com?owner=acme&repo=sink"),
                    "{log}"
                );
                assert!(!log.contains("s3cr3t-deploy-token"));
                assert_eq!(
                    text_content(&result.output, "Summary"),
                    "**Name:** sink\n**Environment:** staging\n**Region:** eu-west-1\n**Features:** logging,metrics\n"
                );
            },
        },
        Case {
            template: "golang-template",
            label: "a Gin service on GitHub",
            values: json!({
                "component_id": "orders-api",
                "module": "github.com/acme/orders-api",
                "go_version": 1.22,
                "description": "Takes orders",
                "owner": "group:default/payments",
                "port": ":9090",
                "repoUrl": "github.com?owner=acme&repo=orders-api",
            }),
            secrets: &[],
            check: |result| {
                let paths: Vec<&str> = result.files.iter().map(|file| file.path.as_str()).collect();
                assert_eq!(
                    paths,
                    ["catalog-info.yaml", "go.mod", "main.go", "readme.md"]
                );
                assert_eq!(
                    result.output["links"][1]["entityRef"],
                    "component:default/orders-api"
                );
            },
        },
        // Templates that no Location lists.
        Case {
            template: "accordion-field-demo",
            label: "advanced sections filled",
            values: json!({
                "serviceName": "orders",
                "advanced_section": {
                    "replicas": 3,
                    "memoryLimit": "256Mi",
                    "enableMetrics": true,
                    "nested_section": {"port": 8080, "ingressEnabled": false},
                },
            }),
            secrets: &[],
            check: |result| {
                let log = log_text(result);
                assert!(log.contains("Service Name:   orders"), "{log}");
                assert!(log.contains("Ingress:        false"), "{log}");
                assert_eq!(
                    text_content(&result.output, "Summary"),
                    "**Service:** `orders`\n**Replicas:** 3\n**Memory:** 256Mi\n**Port:** 8080\n"
                );
            },
        },
        Case {
            template: "wait-action",
            label: "default name",
            values: json!({}),
            secrets: &[],
            check: |result| {
                assert!(log_text(result).contains("Some async call"));
            },
        },
        Case {
            template: "test",
            label: "a secret key",
            values: json!({"myKey": "my-key-value"}),
            secrets: &[("myKey", "my-key-value")],
            check: |result| {
                // No steps: nothing is written, nothing is shown.
                assert!(result.files.is_empty(), "{:?}", result.files);
                assert_eq!(result.output, json!({}));
            },
        },
    ]
}

/// How one dry run ended.
enum Outcome {
    /// It ran; a short note of what it rendered.
    Ran(String),
    /// It was refused, naming these `action (step)`s.
    MissingActions(Vec<String>),
}

/// Dry-runs `case` on the template in `path` and checks the outcome.
async fn dry_run_case(engine: &Scaffolder, path: &Path, entity: &Value, case: &Case) -> Outcome {
    let name = case.template;
    let label = case.label;
    let template = parse_template(entity)
        .unwrap_or_else(|error| panic!("{}: does not parse: {error}", path.display()));
    // The values fit the schema whether or not the template can run.
    let values = with_defaults(&template, &case.values);
    if let Err(problems) = validate_values(&template, &values) {
        panic!("the test's values for {name} ({label}) do not fit its parameters: {problems:?}");
    }
    let missing: Vec<(String, String)> = template
        .steps
        .iter()
        .enumerate()
        .filter(|(_, step)| engine.actions().get(&step.action).is_none())
        .map(|(index, step)| (step.label(index), step.action.clone()))
        .collect();
    let result = engine
        .dry_run(DryRunRequest {
            template: entity.clone(),
            values: case.values.clone(),
            secrets: case
                .secrets
                .iter()
                .map(|(key, value)| (key.to_string(), value.to_string()))
                .collect(),
            files: template_files(path),
            created_by: "user:default/alice".into(),
            use_catalog_location: false,
        })
        .await;
    if missing.is_empty() {
        // PAVE BUG if this fails: the template only uses actions Pave offers.
        let result = result.unwrap_or_else(|error| {
            panic!(
                "PAVE BUG: {name} ({label}) uses only actions Pave offers but was refused: {error}"
            )
        });
        assert_eq!(
            result.error, None,
            "PAVE BUG: {name} ({label}) uses only actions Pave offers but failed; log: {:#?}",
            result.log
        );
        (case.check)(&result);
        let links = result.output["links"].as_array().map_or(0, Vec::len);
        let texts = result.output["text"].as_array().map_or(0, Vec::len);
        return Outcome::Ran(format!(
            "ok: {} steps, {} files, {links} links, {texts} texts",
            template.steps.len(),
            result.files.len()
        ));
    }
    let message = match result {
        Err(ScaffolderError::Input { message, .. }) => message,
        Ok(DryRunResult {
            error: Some(error), ..
        }) => error,
        Ok(result) => panic!(
            "{name} ({label}) uses {missing:?}, which Pave lacks, yet ran: {:#?}",
            result.log
        ),
        Err(other) => {
            panic!(
                "PAVE BUG: {name} ({label}) failed for another reason than missing actions: {other}"
            )
        }
    };
    assert!(
        message.contains("actions Pave does not offer"),
        "PAVE BUG: {name} ({label}) failed for another reason than missing actions: {message}"
    );
    let mut named = Vec::new();
    for (step, action) in &missing {
        let expected = format!("`{action}` (step `{step}`)");
        assert!(
            message.contains(&expected),
            "{name} ({label}): the message does not name {expected}: {message}"
        );
        named.push(format!("{action} (step {step})"));
    }
    Outcome::MissingActions(named)
}

/// Runs every case of the templates in `templates`; returns summary rows.
async fn dry_run_all(
    engine: &Scaffolder,
    templates: &BTreeMap<PathBuf, Value>,
    note: &str,
) -> Vec<[String; 4]> {
    let cases = cases();
    let mut rows = Vec::new();
    for (path, entity) in templates {
        let name = entity["metadata"]["name"].as_str().expect("a name");
        let relative = path
            .strip_prefix(corpus_dir())
            .unwrap_or(path)
            .display()
            .to_string();
        let mine: Vec<&Case> = cases.iter().filter(|case| case.template == name).collect();
        assert!(
            !mine.is_empty(),
            "{relative}: no values for template `{name}`; add a case to cases()"
        );
        for case in mine {
            let outcome = dry_run_case(engine, path, entity, case).await;
            let result = match outcome {
                Outcome::Ran(note) => note,
                Outcome::MissingActions(named) => {
                    format!("refused, Pave lacks {}", named.join(", "))
                }
            };
            rows.push([
                format!("{name}{note}"),
                relative.clone(),
                case.label.to_string(),
                result,
            ]);
        }
    }
    rows
}

fn print_summary(title: &str, rows: &[[String; 4]]) {
    let mut widths = [8, 4, 6, 7];
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 4]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:width$}"))
            .collect();
        format!("| {} |", padded.join(" | "))
    };
    eprintln!("\n{title}");
    eprintln!("{}", line(["template", "file", "values", "outcome"]));
    let rule: Vec<String> = widths.iter().map(|width| "-".repeat(*width)).collect();
    eprintln!("|-{}-|", rule.join("-|-"));
    for row in rows {
        eprintln!("{}", line([&row[0], &row[1], &row[2], &row[3]]));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_reachable_sample_template_dry_runs_or_names_the_actions_pave_lacks() {
    let fixture = fixture().await;
    let (mut templates, remote) = reachable(&corpus_dir().join("all-templates.yaml"));
    let (local, local_remote) = reachable(&corpus_dir().join("local-template/template.yaml"));
    assert!(local_remote.is_empty(), "{local_remote:?}");
    templates.extend(local);
    let names: BTreeSet<&str> = templates
        .values()
        .map(|entity| entity["metadata"]["name"].as_str().expect("a name"))
        .collect();
    assert_eq!(
        names,
        BTreeSet::from([
            "bui-kitchen-sink-demo",
            "conditional-output-demo",
            "conditional-parameters-demo",
            "golang-template",
            "notifications-demo",
        ])
    );
    // remote-templates.yaml lists GitHub URLs: the catalog test below
    // shows they fail cleanly; here there is nothing local to run.
    assert_eq!(remote.len(), 6, "{remote:?}");
    assert!(
        remote
            .iter()
            .all(|target| target.starts_with("https://github.com/"))
    );

    let started = Instant::now();
    let rows = dry_run_all(&fixture.engine, &templates, "").await;
    let took = started.elapsed();

    let all: BTreeMap<PathBuf, Value> = every_template_file()
        .into_iter()
        .filter(|(path, _)| !templates.contains_key(path))
        .collect();
    let unlisted = dry_run_all(&fixture.engine, &all, " (unlisted)").await;
    assert_eq!(unlisted.len(), 3, "{unlisted:?}");

    let mut table = rows;
    table.extend(unlisted);
    for target in &remote {
        table.push([
            target
                .rsplit('/')
                .nth(1)
                .unwrap_or(target.as_str())
                .to_string()
                + " (remote)",
            "remote-templates.yaml".into(),
            "-".into(),
            "not read: github.com is unreachable offline (a location error)".into(),
        ]);
    }
    print_summary(
        &format!(
            "Backstage sample templates through Pave's dry run (reachable ones in {:.0} ms):",
            took.as_secs_f64() * 1e3
        ),
        &table,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_templates_registers_local_templates_while_remote_targets_fail_cleanly() {
    let fixture = fixture().await;
    let (templates, remote) = reachable(&corpus_dir().join("all-templates.yaml"));
    let target = corpus_dir().join("all-templates.yaml");
    let started = Instant::now();
    let registered = tokio::time::timeout(
        Duration::from_secs(60),
        fixture.catalog.register(
            LocationSpec {
                r#type: "file".into(),
                target: target.display().to_string(),
            },
            false,
        ),
    )
    .await
    .expect("registering all-templates.yaml took over 60 s: an unreachable remote blocked it")
    .expect("all-templates.yaml registers");
    let took = started.elapsed();
    eprintln!(
        "registered all-templates.yaml in {:.0} ms: {} entities, {} location errors",
        took.as_secs_f64() * 1e3,
        registered.entities.len(),
        registered.location.errors.len()
    );

    // Every local template is an entity.
    for entity in templates.values() {
        let name = entity["metadata"]["name"].as_str().expect("a name");
        fixture
            .catalog
            .entity_by_ref(&EntityRef::new("template", "default", name))
            .await
            .unwrap_or_else(|error| panic!("template {name} is not in the catalog: {error}"));
    }
    let kinds: BTreeSet<String> = registered
        .entities
        .iter()
        .map(|entity| {
            format!(
                "{}:{}",
                entity["kind"].as_str().unwrap_or_default(),
                entity["metadata"]["name"].as_str().unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(
        kinds,
        BTreeSet::from([
            "Location:example-templates".to_string(),
            "Location:example-templates-remote".to_string(),
            "Template:bui-kitchen-sink-demo".to_string(),
            "Template:conditional-output-demo".to_string(),
            "Template:conditional-parameters-demo".to_string(),
            "Template:notifications-demo".to_string(),
        ])
    );
    // Each remote target is one location error, naming it; nothing else is.
    let errors = &registered.location.errors;
    for url in &remote {
        assert!(
            errors
                .iter()
                .any(|problem| problem.location == format!("url:{url}")),
            "no location error for {url}: {errors:#?}"
        );
    }
    assert_eq!(errors.len(), remote.len(), "{errors:#?}");
    for problem in errors {
        eprintln!("location error: {problem}");
    }

    // A registered template dry-runs by reference, with its own location.
    let template = fixture
        .catalog
        .entity_by_ref(&EntityRef::new(
            "template",
            "default",
            "conditional-output-demo",
        ))
        .await
        .expect("template");
    let result = fixture
        .engine
        .dry_run(DryRunRequest {
            template,
            values: json!({"name": "billing"}),
            secrets: Default::default(),
            files: Vec::new(),
            created_by: "user:default/alice".into(),
            use_catalog_location: true,
        })
        .await
        .expect("dry run by reference");
    assert_eq!(result.error, None, "log: {:#?}", result.log);
    assert_eq!(
        result.output["links"][1]["url"],
        "https://ci.example.com/billing"
    );
    assert_eq!(
        text_content(&result.output, "CI Details"),
        "**CI enabled:** Yes\n"
    );

    // local-template/ registers too; its Go template, run by reference, is
    // refused for `publish:github` before anything is read or written.
    let local = fixture
        .catalog
        .register(
            LocationSpec {
                r#type: "file".into(),
                target: corpus_dir()
                    .join("local-template/template.yaml")
                    .display()
                    .to_string(),
            },
            false,
        )
        .await
        .expect("local-template registers");
    assert!(local.location.errors.is_empty(), "{:#?}", local.location);
    let golang = fixture
        .catalog
        .entity_by_ref(&EntityRef::new("template", "default", "golang-template"))
        .await
        .expect("golang-template");
    let error = fixture
        .engine
        .dry_run(DryRunRequest {
            template: golang,
            values: json!({
                "component_id": "orders-api",
                "module": "github.com/acme/orders-api",
                "owner": "group:default/payments",
                "repoUrl": "github.com?owner=acme&repo=orders-api",
            }),
            secrets: Default::default(),
            files: Vec::new(),
            created_by: "user:default/alice".into(),
            use_catalog_location: true,
        })
        .await
        .expect_err("publish:github is not offered");
    assert!(
        error
            .to_string()
            .contains("`publish:github` (step `publish`)"),
        "{error}"
    );
}
