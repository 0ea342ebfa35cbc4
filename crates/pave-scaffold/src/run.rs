//! Running a template: its steps in order in one workspace, then its output.
//!
//! This is the part of a task that does not care where the task is kept: the
//! persisted task engine ([`crate::tasks`]) and dry runs both call
//! [`run_template`] and differ only in what they do with the [`RunEvent`]s
//! it reports. Semantics follow Backstage's workflow runner:
//!
//! - a step whose `if` is false is skipped (and reported `skipped`);
//! - a step with `each` runs its action once per item, and each of its
//!   outputs becomes the list of what every iteration produced;
//! - the first failing step fails the run, and later steps do not start;
//! - `steps.<id>.output` is visible to every later step and to the output.
//!
//! Secrets never reach the events: every message goes through a [`Masker`]
//! that replaces secret values with `***`.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::actions::{ActionContext, ActionError, ActionLogger, ActionRegistry, Cancellation};
use crate::expression::{
    Context, ExpressionError, each_items, evaluate_condition, render_step_input, render_value,
    step_should_run,
};
use crate::model::{Step, Template};
use crate::workspace::Workspace;

/// Where a step is, as Backstage reports it in task events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    /// Running.
    Processing,
    /// Finished without error.
    Completed,
    /// Failed; the run stops.
    Failed,
    /// Its `if` was false.
    Skipped,
    /// The task was cancelled while it ran.
    Cancelled,
}

impl StepStatus {
    /// The name used in events.
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Processing => "processing",
            StepStatus::Completed => "completed",
            StepStatus::Failed => "failed",
            StepStatus::Skipped => "skipped",
            StepStatus::Cancelled => "cancelled",
        }
    }
}

/// One thing that happened during a run: a log line, optionally with the
/// step it belongs to and that step's new status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunEvent {
    /// The step, when the event belongs to one.
    pub step_id: Option<String>,
    /// Set when the step changed status.
    pub status: Option<StepStatus>,
    /// The log line, secrets masked.
    pub message: String,
}

/// Receives a run's events in order.
pub trait RunObserver: Send {
    /// Records one event.
    fn event(&mut self, event: RunEvent);
}

impl RunObserver for Vec<RunEvent> {
    fn event(&mut self, event: RunEvent) {
        self.push(event);
    }
}

impl RunObserver for tokio::sync::mpsc::UnboundedSender<RunEvent> {
    fn event(&mut self, event: RunEvent) {
        // A closed receiver means nobody is listening any more (the task's
        // writer stopped); the run itself goes on and reports its result.
        let _ = self.send(event);
    }
}

/// Replaces secret values in text with `***`.
#[derive(Debug, Clone, Default)]
pub struct Masker {
    /// Longest first, so a secret that contains another is masked whole.
    secrets: Vec<String>,
}

impl Masker {
    /// A masker for these secret values; empty values are ignored.
    pub fn new<'a>(values: impl IntoIterator<Item = &'a String>) -> Masker {
        let mut secrets: Vec<String> = values
            .into_iter()
            .filter(|value| !value.is_empty())
            .cloned()
            .collect();
        secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
        secrets.dedup();
        Masker { secrets }
    }

    /// `text` with every secret replaced.
    pub fn mask(&self, text: &str) -> String {
        let mut masked = text.to_string();
        for secret in &self.secrets {
            if masked.contains(secret.as_str()) {
                masked = masked.replace(secret.as_str(), "***");
            }
        }
        masked
    }
}

/// Everything a run needs.
pub struct Run<'a> {
    /// The template to run.
    pub template: &'a Template,
    /// Parameters (validated, defaults applied), user and secrets.
    pub context: Context,
    /// The actions steps may use.
    pub registry: &'a ActionRegistry,
    /// The task's workspace.
    pub workspace: &'a Workspace,
    /// The template's own directory (skeletons), when it has files.
    pub template_directory: Option<&'a Workspace>,
    /// Describe effects outside the workspace instead of making them.
    pub dry_run: bool,
    /// Fires when the task is cancelled.
    pub cancellation: Cancellation,
}

/// What a finished run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutput {
    /// The template's rendered `output` (`links`, `text` and other keys).
    pub output: Value,
    /// Every step's output by step id.
    pub steps: BTreeMap<String, Value>,
}

/// Why a run stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    /// A step's action failed, or its input could not be rendered.
    #[error("step `{step}` failed: {message}")]
    StepFailed {
        /// The step id (or position).
        step: String,
        /// What went wrong, secrets masked.
        message: String,
    },
    /// The task was cancelled.
    #[error("the task was cancelled{}", step.as_ref().map(|s| format!(" during step `{s}`")).unwrap_or_default())]
    Cancelled {
        /// The step that was running, if any.
        step: Option<String>,
    },
    /// The template's output could not be rendered.
    #[error("the template's output could not be rendered: {message}")]
    Output {
        /// The expression error, secrets masked.
        message: String,
    },
}

/// The actions a template uses that `registry` does not offer, with the step
/// that uses each: `[("publish", "publish:github")]`. Check before running so
/// a template Pave cannot finish fails before it changes anything.
pub fn missing_actions(template: &Template, registry: &ActionRegistry) -> Vec<(String, String)> {
    template
        .steps
        .iter()
        .enumerate()
        .filter(|(_, step)| registry.get(&step.action).is_none())
        .map(|(index, step)| (step.label(index), step.action.clone()))
        .collect()
}

/// A message for [`missing_actions`]: names each action and the step using it.
pub fn missing_actions_message(missing: &[(String, String)], registry: &ActionRegistry) -> String {
    let listed = missing
        .iter()
        .map(|(step, action)| format!("`{action}` (step `{step}`)"))
        .collect::<Vec<_>>()
        .join(", ");
    let available = registry
        .actions()
        .map(|action| action.name())
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "the template uses actions Pave does not offer: {listed}; Pave offers {available}. Change those steps to use one of these actions"
    )
}

/// Runs every step of `run.template`, reporting to `observer`, and renders
/// the template's output.
pub async fn run_template(
    mut run: Run<'_>,
    observer: &mut dyn RunObserver,
) -> Result<RunOutput, RunError> {
    let masker = Masker::new(run.context.secrets.values());
    let mut reporter = Reporter {
        observer,
        masker: &masker,
    };
    for (index, step) in run.template.steps.iter().enumerate() {
        let label = step.label(index);
        if run.cancellation.is_cancelled() {
            reporter.status(
                &label,
                StepStatus::Cancelled,
                "Cancelled before this step began",
            );
            return Err(RunError::Cancelled { step: None });
        }
        match run_step(&mut run, step, &label, &mut reporter).await {
            Ok(Some(output)) => {
                if let Some(id) = &step.id {
                    run.context.steps.insert(id.clone(), output);
                }
            }
            Ok(None) => {}
            Err(error) => return Err(error),
        }
    }
    let output = render_output(run.template, &run.context).map_err(|error| RunError::Output {
        message: masker.mask(&error.to_string()),
    })?;
    Ok(RunOutput {
        output,
        steps: run.context.steps,
    })
}

/// Runs one step; `Ok(None)` when it was skipped.
async fn run_step(
    run: &mut Run<'_>,
    step: &Step,
    label: &str,
    reporter: &mut Reporter<'_>,
) -> Result<Option<Value>, RunError> {
    let failed = |reporter: &mut Reporter<'_>, message: String| {
        let message = reporter.masker.mask(&message);
        reporter.status(label, StepStatus::Failed, &message);
        RunError::StepFailed {
            step: label.to_string(),
            message,
        }
    };
    let should_run = match step_should_run(step, &run.context) {
        Ok(should_run) => should_run,
        Err(error) => return Err(failed(reporter, error.to_string())),
    };
    if !should_run {
        reporter.status(
            label,
            StepStatus::Skipped,
            &format!("Skipping step {label} because its if condition was false"),
        );
        return Ok(None);
    }
    let title = step.name.as_deref().unwrap_or(&step.action);
    reporter.status(
        label,
        StepStatus::Processing,
        &format!("Beginning step {title}"),
    );
    let iterations = match each_items(step, &run.context) {
        Ok(items) => items,
        Err(error) => return Err(failed(reporter, error.to_string())),
    };
    let result = match iterations {
        None => {
            let input = match render_step_input(step, &run.context) {
                Ok(input) => input,
                Err(error) => return Err(failed(reporter, error.to_string())),
            };
            run_action(run, step, label, &input, reporter).await
        }
        Some(items) => {
            let mut combined: Map<String, Value> = Map::new();
            let mut outcome = Ok(Value::Object(Map::new()));
            for item in items {
                let context = run.context.with_each(item.clone());
                let input = match render_step_input(step, &context) {
                    Ok(input) => input,
                    Err(error) => return Err(failed(reporter, error.to_string())),
                };
                reporter.log(
                    label,
                    &format!("Running step {label} for item {}", display_key(&item.key)),
                );
                match run_action(run, step, label, &input, reporter).await {
                    Ok(Value::Object(output)) => {
                        for (key, value) in output {
                            match combined.entry(key) {
                                serde_json::map::Entry::Occupied(mut entry) => {
                                    if let Value::Array(list) = entry.get_mut() {
                                        list.push(value);
                                    }
                                }
                                serde_json::map::Entry::Vacant(entry) => {
                                    entry.insert(Value::Array(vec![value]));
                                }
                            }
                        }
                    }
                    Ok(_) => {}
                    Err(error) => {
                        outcome = Err(error);
                        break;
                    }
                }
            }
            outcome.map(|_| Value::Object(combined))
        }
    };
    match result {
        Ok(output) => {
            if run.cancellation.is_cancelled() {
                reporter.status(label, StepStatus::Cancelled, "Cancelled");
                return Err(RunError::Cancelled {
                    step: Some(label.to_string()),
                });
            }
            reporter.status(
                label,
                StepStatus::Completed,
                &format!("Finished step {title}"),
            );
            Ok(Some(output))
        }
        Err(ActionError::Cancelled { .. }) => {
            reporter.status(label, StepStatus::Cancelled, "Cancelled");
            Err(RunError::Cancelled {
                step: Some(label.to_string()),
            })
        }
        Err(error) => Err(failed(reporter, error.to_string())),
    }
}

async fn run_action(
    run: &Run<'_>,
    step: &Step,
    label: &str,
    input: &Value,
    reporter: &mut Reporter<'_>,
) -> Result<Value, ActionError> {
    let mut logger = StepLogger {
        reporter,
        step: label,
    };
    let mut context = ActionContext {
        workspace: run.workspace,
        template_directory: run.template_directory,
        dry_run: run.dry_run,
        cancellation: run.cancellation.clone(),
        logger: &mut logger,
        user: run.context.user.clone(),
    };
    run.registry.run(&step.action, &mut context, input).await
}

fn display_key(key: &Value) -> String {
    match key {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Renders `spec.output`: links and texts whose `if` holds, and other keys.
pub fn render_output(template: &Template, context: &Context) -> Result<Value, ExpressionError> {
    let mut output = Map::new();
    let mut links = Vec::new();
    for link in &template.output.links {
        if let Some(condition) = &link.if_condition
            && !evaluate_condition(condition, context)?
        {
            continue;
        }
        let mut rendered = Map::new();
        if let Some(title) = &link.title {
            rendered.insert(
                "title".into(),
                render_value(&Value::String(title.clone()), context)?,
            );
        }
        if let Some(icon) = &link.icon {
            rendered.insert("icon".into(), Value::String(icon.clone()));
        }
        if let Some(url) = &link.url {
            rendered.insert("url".into(), render_value(url, context)?);
        }
        if let Some(entity_ref) = &link.entity_ref {
            rendered.insert("entityRef".into(), render_value(entity_ref, context)?);
        }
        links.push(Value::Object(rendered));
    }
    if !links.is_empty() {
        output.insert("links".into(), Value::Array(links));
    }
    let mut texts = Vec::new();
    for text in &template.output.text {
        if let Some(condition) = &text.if_condition
            && !evaluate_condition(condition, context)?
        {
            continue;
        }
        let mut rendered = Map::new();
        if let Some(title) = &text.title {
            rendered.insert(
                "title".into(),
                render_value(&Value::String(title.clone()), context)?,
            );
        }
        if let Some(content) = &text.content {
            rendered.insert("content".into(), render_value(content, context)?);
        }
        texts.push(Value::Object(rendered));
    }
    if !texts.is_empty() {
        output.insert("text".into(), Value::Array(texts));
    }
    for (key, value) in &template.output.other {
        output.insert(key.clone(), render_value(value, context)?);
    }
    Ok(Value::Object(output))
}

/// Sends events with secrets masked.
struct Reporter<'o> {
    observer: &'o mut dyn RunObserver,
    masker: &'o Masker,
}

impl Reporter<'_> {
    fn status(&mut self, step: &str, status: StepStatus, message: &str) {
        self.observer.event(RunEvent {
            step_id: Some(step.to_string()),
            status: Some(status),
            message: self.masker.mask(message),
        });
    }

    fn log(&mut self, step: &str, message: &str) {
        self.observer.event(RunEvent {
            step_id: Some(step.to_string()),
            status: None,
            message: self.masker.mask(message),
        });
    }
}

/// An action's log, as events of its step.
struct StepLogger<'r, 'o> {
    reporter: &'r mut Reporter<'o>,
    step: &'r str,
}

impl ActionLogger for StepLogger<'_, '_> {
    fn log(&mut self, line: String) {
        self.reporter.log(self.step, &line);
    }
}

#[cfg(test)]
mod tests;
