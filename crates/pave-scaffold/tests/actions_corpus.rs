//! Runs the `fetch:template` step of Backstage's sample Go template against
//! its real skeleton, the way the task runner will: parse the template,
//! render the step input with the submitted values, run the action.

use std::path::PathBuf;

use pave_scaffold::actions::{ActionContext, ActionRegistry};
use pave_scaffold::{Context, Workspace, parse_template, render_step_input, with_defaults};
use serde_json::{Value, json};

fn template_directory() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus/backstage/sample-templates/local-template/gin-golan-template")
}

#[tokio::test]
async fn golang_template_skeleton_renders_into_the_workspace() {
    let directory = template_directory();
    let source =
        std::fs::read_to_string(directory.join("template.yaml")).expect("read template.yaml");
    let entity: Value = serde_saphyr::from_str(&source).expect("parse template.yaml");
    let template = parse_template(&entity).expect("valid template");
    let parameters = with_defaults(
        &template,
        &json!({
            "component_id": "orders-api",
            "module": "github.com/acme/orders-api",
            "owner": "group:default/payments",
            "description": "Takes orders",
            "repoUrl": "github.com?owner=acme&repo=orders-api"
        }),
    );
    let step = template
        .steps
        .iter()
        .find(|step| step.action == "fetch:template")
        .expect("the template has a fetch:template step");
    let mut input = render_step_input(step, &Context::new(parameters)).expect("render input");
    // The skeleton reads `values.destination`, which this template never
    // passes (it is a leftover from another sample); supply it as a real
    // template would from `parseRepoUrl`.
    input["values"]["destination"] = json!({"owner": "acme", "repo": "orders-api"});

    let workspace_directory = tempfile::tempdir().expect("tempdir");
    let workspace = Workspace::new(workspace_directory.path()).expect("workspace");
    let template_directory = Workspace::template_directory(&directory).expect("template directory");
    let mut log = Vec::new();
    let mut context = ActionContext::new(&workspace, &mut log);
    context.template_directory = Some(&template_directory);
    let output = ActionRegistry::with_builtin_actions()
        .run(&step.action, &mut context, &input)
        .await
        .expect("fetch:template runs");
    assert_eq!(output, json!({}));
    // `copyWithoutRender` (deprecated) is accepted with a warning.
    assert!(
        log.iter().any(|line| line.contains("deprecated")),
        "{log:?}"
    );

    let read = |name: &str| std::fs::read_to_string(workspace.root().join(name)).expect(name);
    let catalog: Value =
        serde_saphyr::from_str(&read("catalog-info.yaml")).expect("rendered YAML parses");
    assert_eq!(catalog["metadata"]["name"], "orders-api");
    assert_eq!(catalog["metadata"]["description"], "Takes orders");
    assert_eq!(
        catalog["metadata"]["annotations"]["github.com/project-slug"],
        "acme/orders-api"
    );
    assert_eq!(catalog["spec"]["owner"], "group:default/payments");
    assert_eq!(
        read("go.mod"),
        "module github.com/acme/orders-api\n\ngo 1.23\n"
    );
    assert!(read("main.go").contains(r#"r.Run(":8080")"#));
    assert!(read("readme.md").starts_with("# orders-api\n\nTakes orders\n"));
}

#[tokio::test]
async fn golang_template_without_description_leaves_it_out() {
    let directory = template_directory();
    let workspace_directory = tempfile::tempdir().expect("tempdir");
    let workspace = Workspace::new(workspace_directory.path()).expect("workspace");
    let template_directory = Workspace::template_directory(&directory).expect("template directory");
    let mut log = Vec::new();
    let mut context = ActionContext::new(&workspace, &mut log);
    context.template_directory = Some(&template_directory);
    let input = json!({
        "url": "./skeleton",
        "values": {
            "component_id": "billing",
            "owner": "team-b",
            "destination": {"owner": "acme", "repo": "billing"}
        }
    });
    ActionRegistry::with_builtin_actions()
        .run("fetch:template", &mut context, &input)
        .await
        .expect("fetch:template runs");
    let catalog =
        std::fs::read_to_string(workspace.root().join("catalog-info.yaml")).expect("read");
    assert!(catalog.contains("name: \"billing\""), "{catalog}");
    assert!(!catalog.contains("description"), "{catalog}");
}
