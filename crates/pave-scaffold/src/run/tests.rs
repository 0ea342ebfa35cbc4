use std::time::Duration;

use serde_json::{Value, json};

use super::*;
use crate::parse::parse_template;

fn template(yaml: &str) -> Template {
    let entity: Value = serde_saphyr::from_str(yaml).expect("yaml");
    parse_template(&entity).expect("template")
}

fn run_with<'a>(
    template: &'a Template,
    registry: &'a ActionRegistry,
    workspace: &'a Workspace,
    parameters: Value,
) -> Run<'a> {
    Run {
        template,
        context: Context::new(parameters),
        registry,
        workspace,
        template_directory: None,
        dry_run: false,
        cancellation: Cancellation::new(),
    }
}

const HEADER: &str = "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata:\n  name: t\nspec:\n  type: service\n";

#[tokio::test]
async fn steps_run_in_order_and_see_earlier_outputs() {
    let directory = tempfile::tempdir().expect("tempdir");
    let workspace = Workspace::new(directory.path()).expect("workspace");
    let template = template(&format!(
        "{HEADER}  steps:\n    - id: first\n      action: debug:log\n      input: {{message: 'hello ${{{{ parameters.name }}}}'}}\n    - id: second\n      if: ${{{{ parameters.name === 'nobody' }}}}\n      action: debug:log\n      input: {{message: never}}\n    - id: third\n      name: Third step\n      action: fs:rename\n      input: {{files: []}}\n  output:\n    links:\n      - title: Site\n        url: https://example.com/${{{{ parameters.name }}}}\n      - title: Hidden\n        if: ${{{{ false }}}}\n        url: https://example.com/hidden\n    text:\n      - title: Done\n        content: Made ${{{{ parameters.name }}}}\n"
    ));
    let registry = ActionRegistry::with_builtin_actions();
    let mut events: Vec<RunEvent> = Vec::new();
    let output = run_template(
        run_with(&template, &registry, &workspace, json!({"name": "orders"})),
        &mut events,
    )
    .await
    .expect("run");
    assert_eq!(
        output.output,
        json!({
            "links": [{"title": "Site", "url": "https://example.com/orders"}],
            "text": [{"title": "Done", "content": "Made orders"}]
        })
    );
    assert_eq!(output.steps.keys().collect::<Vec<_>>(), ["first", "third"]);
    let statuses: Vec<(String, StepStatus)> = events
        .iter()
        .filter_map(|event| Some((event.step_id.clone()?, event.status?)))
        .collect();
    assert_eq!(
        statuses,
        [
            ("first".to_string(), StepStatus::Processing),
            ("first".to_string(), StepStatus::Completed),
            ("second".to_string(), StepStatus::Skipped),
            ("third".to_string(), StepStatus::Processing),
            ("third".to_string(), StepStatus::Completed),
        ]
    );
    assert!(events.iter().any(|event| event.message == "hello orders"));
    assert!(
        events
            .iter()
            .any(|event| event.message == "Beginning step Third step")
    );
}

#[tokio::test]
async fn each_collects_every_iteration_and_a_failure_stops_the_run() {
    let directory = tempfile::tempdir().expect("tempdir");
    let workspace = Workspace::new(directory.path()).expect("workspace");
    let template = template(&format!(
        "{HEADER}  steps:\n    - id: loop\n      each: ${{{{ parameters.names }}}}\n      action: debug:log\n      input: {{message: 'item ${{{{ each.value }}}}'}}\n    - id: broken\n      action: fs:rename\n      input: {{files: [{{from: ../outside, to: x}}]}}\n    - id: after\n      action: debug:log\n      input: {{message: after}}\n"
    ));
    let registry = ActionRegistry::with_builtin_actions();
    let mut events: Vec<RunEvent> = Vec::new();
    let error = run_template(
        run_with(
            &template,
            &registry,
            &workspace,
            json!({"names": ["a", "b"]}),
        ),
        &mut events,
    )
    .await
    .expect_err("the broken step fails");
    match &error {
        RunError::StepFailed { step, message } => {
            assert_eq!(step, "broken");
            assert!(message.contains("fs:rename"), "{message}");
        }
        other => panic!("unexpected {other:?}"),
    }
    let messages: Vec<&str> = events.iter().map(|event| event.message.as_str()).collect();
    assert!(messages.contains(&"item a") && messages.contains(&"item b"));
    assert!(
        !messages.contains(&"after"),
        "a later step ran: {messages:?}"
    );
    assert!(
        events
            .iter()
            .any(|event| event.step_id.as_deref() == Some("broken")
                && event.status == Some(StepStatus::Failed))
    );
}

#[tokio::test]
async fn secrets_are_masked_in_events_and_errors() {
    let directory = tempfile::tempdir().expect("tempdir");
    let workspace = Workspace::new(directory.path()).expect("workspace");
    let template = template(&format!(
        "{HEADER}  steps:\n    - id: leak\n      action: debug:log\n      input: {{message: 'token is ${{{{ secrets.token }}}}'}}\n    - id: fail\n      action: fs:delete\n      input: {{files: ['/${{{{ secrets.token }}}}']}}\n"
    ));
    let registry = ActionRegistry::with_builtin_actions();
    let mut run = run_with(&template, &registry, &workspace, json!({}));
    run.context
        .secrets
        .insert("token".into(), "s3cr3t-value".into());
    let mut events: Vec<RunEvent> = Vec::new();
    let error = run_template(run, &mut events).await.expect_err("fails");
    assert!(!error.to_string().contains("s3cr3t-value"), "{error}");
    for event in &events {
        assert!(!event.message.contains("s3cr3t-value"), "{event:?}");
    }
    assert!(events.iter().any(|event| event.message == "token is ***"));
}

#[tokio::test]
async fn a_cancelled_run_stops_in_the_running_step() {
    let directory = tempfile::tempdir().expect("tempdir");
    let workspace = Workspace::new(directory.path()).expect("workspace");
    let template = template(&format!(
        "{HEADER}  steps:\n    - id: wait\n      action: debug:wait\n      input: {{seconds: 30}}\n    - id: after\n      action: debug:log\n      input: {{message: after}}\n"
    ));
    let registry = ActionRegistry::with_builtin_actions();
    let run = run_with(&template, &registry, &workspace, json!({}));
    let cancellation = run.cancellation.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        cancellation.cancel();
    });
    let started = std::time::Instant::now();
    let mut events: Vec<RunEvent> = Vec::new();
    let error = run_template(run, &mut events).await.expect_err("cancelled");
    assert_eq!(
        error,
        RunError::Cancelled {
            step: Some("wait".into())
        }
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(!events.iter().any(|event| event.message == "after"));
}

#[test]
fn missing_actions_name_the_step_and_the_action() {
    let template = template(&format!(
        "{HEADER}  steps:\n    - id: fetch\n      action: fetch:plain\n      input: {{url: ./x}}\n    - id: publish\n      action: publish:github\n      input: {{}}\n"
    ));
    let registry = ActionRegistry::with_builtin_actions();
    let missing = missing_actions(&template, &registry);
    assert_eq!(
        missing,
        [("publish".to_string(), "publish:github".to_string())]
    );
    let message = missing_actions_message(&missing, &registry);
    assert!(
        message.contains("`publish:github` (step `publish`)"),
        "{message}"
    );
    assert!(message.contains("fetch:template"), "{message}");
}

#[test]
fn the_masker_masks_longer_secrets_first() {
    let secrets = ["abc".to_string(), "abcdef".to_string(), String::new()];
    let masker = Masker::new(secrets.iter());
    assert_eq!(masker.mask("x abcdef y abc"), "x *** y ***");
    assert_eq!(masker.mask("nothing"), "nothing");
}
