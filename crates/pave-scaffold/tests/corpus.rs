//! The Backstage sample templates in the shared corpus: every local template
//! parses, and two of them validate and render with values a user would submit.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pave_scaffold::{
    Context, Template, evaluate_condition, parse_template, render_step_input, render_value,
    step_should_run, validate_values, with_defaults,
};
use serde_json::{Value, json};

fn corpus_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpus/backstage/sample-templates"
    ))
}

fn read_documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_saphyr::from_multiple::<Value>(&text)
        .unwrap_or_else(|e| panic!("cannot parse {}: {e}", path.display()))
}

/// Follows Location entities from `start`; returns local Template entities
/// (by file) and the remote targets that were skipped.
fn reachable_templates(start: &Path) -> (BTreeMap<PathBuf, Value>, Vec<String>) {
    let mut templates = BTreeMap::new();
    let mut remote = Vec::new();
    let mut pending = vec![start.to_path_buf()];
    let mut seen = Vec::new();
    while let Some(path) = pending.pop() {
        let path = path
            .canonicalize()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if seen.contains(&path) {
            continue;
        }
        seen.push(path.clone());
        for document in read_documents(&path) {
            match document["kind"].as_str() {
                Some("Location") => {
                    let is_url =
                        document.pointer("/spec/type").and_then(Value::as_str) == Some("url");
                    let targets = document
                        .pointer("/spec/targets")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default()
                        .into_iter()
                        .chain(document.pointer("/spec/target").cloned());
                    for target in targets {
                        let target = target.as_str().expect("target is a string").to_string();
                        if is_url || target.starts_with("http://") || target.starts_with("https://")
                        {
                            remote.push(target);
                        } else {
                            pending.push(path.parent().expect("file has a directory").join(target));
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

fn load(relative: &str) -> Template {
    let path = corpus_dir().join(relative);
    let document = read_documents(&path)
        .into_iter()
        .next()
        .expect("one document");
    parse_template(&document).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

#[test]
fn every_reachable_local_template_parses() {
    let (mut templates, remote) = reachable_templates(&corpus_dir().join("all-templates.yaml"));
    let (local, local_remote) =
        reachable_templates(&corpus_dir().join("local-template/template.yaml"));
    templates.extend(local);
    assert!(local_remote.is_empty());
    let mut names = Vec::new();
    for (path, entity) in &templates {
        let template = parse_template(entity).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(!template.steps.is_empty(), "{}", path.display());
        names.push(template.name);
    }
    names.sort();
    assert_eq!(
        names,
        [
            "bui-kitchen-sink-demo",
            "conditional-output-demo",
            "conditional-parameters-demo",
            "golang-template",
            "notifications-demo",
        ]
    );
    // remote-templates.yaml is a `type: url` Location of GitHub URLs: skipped.
    assert_eq!(remote.len(), 6, "{remote:?}");
    assert!(
        remote
            .iter()
            .all(|target| target.starts_with("https://github.com/backstage/software-templates/"))
    );
}

#[test]
fn unlisted_local_templates_parse_too() {
    for relative in [
        "accordion-demo/template.yaml",
        "longrunning-demo/wait-action.yaml",
        "template.yaml",
    ] {
        load(relative);
    }
}

#[test]
fn golang_template_model() {
    let template = load("local-template/gin-golan-template/template.yaml");
    assert_eq!(template.name, "golang-template");
    assert_eq!(
        template.title.as_deref(),
        Some("Create Gin Golang Template")
    );
    assert_eq!(template.tags, ["golang", "gin", "backend"]);
    assert_eq!(template.owner.as_deref(), Some("lmhinnel"));
    assert_eq!(template.template_type, "service");
    assert_eq!(template.parameters.len(), 2);
    let first = &template.parameters[0];
    assert_eq!(
        first.required,
        ["component_id", "module", "go_version", "owner"]
    );
    assert_eq!(
        first.properties["component_id"]["ui:field"],
        "EntityNamePicker"
    );
    // ui:* keys stay in the page, and leave the validation schema.
    assert!(first.schema.to_string().contains("ui:options"));
    assert!(!first.validation_schema().to_string().contains("ui:"));
    let actions: Vec<_> = template.steps.iter().map(|s| s.action.as_str()).collect();
    assert_eq!(
        actions,
        ["fetch:template", "publish:github", "catalog:register"]
    );
    assert_eq!(template.steps[1].id.as_deref(), Some("publish"));
    assert_eq!(template.output.links.len(), 2);
    assert_eq!(template.output.links[1].icon.as_deref(), Some("catalog"));
    assert_eq!(
        template.output.links[1].entity_ref,
        Some(json!("${{ steps.register.output.entityRef }}"))
    );
}

#[test]
fn golang_template_validates_and_renders() {
    let template = load("local-template/gin-golan-template/template.yaml");
    let submitted = json!({
        "component_id": "orders",
        "module": "github.com/acme/orders",
        "owner": "group:default/team-a",
        "repoUrl": "github.com?owner=acme&repo=orders",
    });
    let values = with_defaults(&template, &submitted);
    assert_eq!(values["go_version"], json!(1.23));
    assert_eq!(values["port"], ":8080");
    validate_values(&template, &values).expect("valid values");

    // Missing required values and a value outside the enum are all reported.
    let problems = validate_values(&template, &json!({ "go_version": 1.5 })).unwrap_err();
    let paths: Vec<_> = problems.iter().map(|p| p.path.as_str()).collect();
    for expected in [
        "/component_id",
        "/module",
        "/owner",
        "/repoUrl",
        "/go_version",
    ] {
        assert!(paths.contains(&expected), "{expected} not in {problems:?}");
    }

    let mut context = Context::new(values);
    let fetch = render_step_input(&template.steps[0], &context).unwrap();
    assert_eq!(
        fetch["values"],
        json!({
            "component_id": "orders",
            "module": "github.com/acme/orders",
            "go_version": 1.23,
            "owner": "group:default/team-a",
            "port": ":8080",
        }),
        "description was not given, so its key is dropped as in Backstage"
    );
    assert_eq!(fetch["copyWithoutRender"], json!([".github/workflows/*"]));
    let publish = render_step_input(&template.steps[1], &context).unwrap();
    assert_eq!(publish["repoUrl"], "github.com?owner=acme&repo=orders");
    assert_eq!(publish["description"], "This is orders");
    assert_eq!(publish["allowedHosts"], json!(["github.com"]));

    context.steps.insert(
        "publish".into(),
        json!({ "remoteUrl": "https://github.com/acme/orders", "repoContentsUrl": "https://github.com/acme/orders/blob/main" }),
    );
    let register = render_step_input(&template.steps[2], &context).unwrap();
    assert_eq!(
        register["repoContentsUrl"],
        "https://github.com/acme/orders/blob/main"
    );
    let link = render_value(template.output.links[0].url.as_ref().unwrap(), &context).unwrap();
    assert_eq!(link, "https://github.com/acme/orders");
}

#[test]
fn conditional_parameters_demo_pages_follow_their_conditions() {
    let template = load("conditional-parameters-demo/template.yaml");
    assert_eq!(template.parameters.len(), 6);
    assert!(template.parameters[1].condition.is_some());
    let gcp = json!({ "name": "svc", "cloudProvider": "GCP", "gcpProjectId": "p-1" });
    let values = with_defaults(&template, &gcp);
    // Only the GCP page's defaults apply; the monitoring page stays hidden.
    assert_eq!(values["gcpRegion"], "us-central1");
    assert!(values.get("azureRegion").is_none());
    assert_eq!(values["enableMonitoring"], false);
    assert!(values.get("alertThreshold").is_none());
    validate_values(&template, &values).expect("valid");

    // The AWS page's required region is only required when AWS is chosen.
    let aws = with_defaults(&template, &json!({ "name": "svc", "cloudProvider": "AWS" }));
    let problems = validate_values(&template, &aws).unwrap_err();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].path, "/awsRegion");

    let monitored = with_defaults(
        &template,
        &json!({ "name": "svc", "cloudProvider": "GCP", "gcpProjectId": "p", "enableMonitoring": true, "alertEmail": "not-an-email" }),
    );
    assert_eq!(monitored["alertThreshold"], 90);
    let problems = validate_values(&template, &monitored).unwrap_err();
    assert_eq!(problems[0].path, "/alertEmail", "{problems:?}");

    let context = Context::new(values);
    assert!(step_should_run(&template.steps[0], &context).unwrap());
    let log = render_step_input(&template.steps[0], &context).unwrap();
    assert_eq!(
        log["message"],
        "Creating svc on GCP.\nMonitoring enabled: false\n"
    );
    let shown: Vec<_> = template
        .output
        .text
        .iter()
        .filter(|text| {
            text.if_condition
                .as_ref()
                .is_none_or(|c| evaluate_condition(c, &context).unwrap())
        })
        .map(|text| text.title.clone().unwrap())
        .collect();
    assert_eq!(shown, ["Summary", "GCP Details"]);
}

#[test]
fn kitchen_sink_renders_lists_like_nunjucks() {
    let template = load("bui-kitchen-sink-demo/template.yaml");
    let values = with_defaults(
        &template,
        &json!({ "name": "sink", "email": "a@example.com", "features": ["logging", "tracing"], "deployToken": "s3cr3t" }),
    );
    assert_eq!(values["replicas"], 3);
    validate_values(&template, &values).expect("valid");
    let context = Context::new(values);
    let summary =
        render_value(template.output.text[0].content.as_ref().unwrap(), &context).unwrap();
    assert_eq!(
        summary,
        "**Name:** sink\n**Environment:** development\n**Region:** \n**Features:** logging,tracing\n"
    );
}

#[test]
fn notifications_demo_keeps_array_types() {
    let template = load("notifications-demo/template.yaml");
    let values = with_defaults(
        &template,
        &json!({ "title": "Hi", "entityRefs": ["component:default/a", "group:default/b"] }),
    );
    validate_values(&template, &values).expect("valid");
    let input = render_step_input(&template.steps[0], &Context::new(values)).unwrap();
    assert_eq!(
        input["entityRefs"],
        json!(["component:default/a", "group:default/b"])
    );
    assert_eq!(input["severity"], "normal");
    assert!(input.get("scope").is_none());
}
