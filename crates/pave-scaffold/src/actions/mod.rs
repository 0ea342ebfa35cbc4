//! Template actions: the [`Action`] trait, the context a step runs with, and
//! a registry of actions by name.
//!
//! Like Vector's components, each built-in action lives in its own module and
//! registers under the name templates use (`fetch:template`, `fs:rename`, …).
//! Inputs are validated against the action's JSON Schema before it runs, so
//! an action only sees input of the documented shape; paths in that input
//! still go through the [`Workspace`] before any file is touched.
//!
//! File actions use blocking `std::fs` calls: workspaces are local and
//! skeletons are small, and it keeps the confinement checks and the IO in one
//! straight line of code. Run tasks on a multi-threaded runtime.

mod catalog_register;
mod catalog_write;
mod debug_log;
mod debug_wait;
mod error;
mod fetch_plain;
mod fetch_plain_file;
mod fetch_template;
mod fetch_template_file;
mod files;
mod fs_delete;
mod fs_rename;
mod publish_git;
#[cfg(test)]
mod test_support;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::watch;

use crate::workspace::Workspace;

pub use catalog_register::CatalogRegister;
pub use catalog_write::CatalogWrite;
pub use debug_log::DebugLog;
pub use debug_wait::{DebugWait, MAX_WAIT};
pub use error::{ActionError, InputProblem};
pub use fetch_plain::FetchPlain;
pub use fetch_plain_file::FetchPlainFile;
pub use fetch_template::FetchTemplate;
pub use fetch_template_file::FetchTemplateFile;
pub use fs_delete::FsDelete;
pub use fs_rename::FsRename;
pub use publish_git::{PAVE_HOST, PublishGit, PublishSettings};

/// What [`Action::run`] returns: the action's output object, or why it failed.
pub type ActionFuture<'a> = Pin<Box<dyn Future<Output = Result<Value, ActionError>> + Send + 'a>>;

/// One step kind a template can use, such as `fetch:template`.
pub trait Action: Send + Sync {
    /// The name templates use in `action:`.
    fn name(&self) -> &'static str;

    /// One sentence for people choosing an action.
    fn description(&self) -> &'static str;

    /// JSON Schema of the input; it is checked before [`Action::run`].
    fn input_schema(&self) -> Value;

    /// Runs the action with input that matched [`Action::input_schema`].
    /// Returns the step's output (an object; `{}` when there is none).
    fn run<'a>(&'a self, context: &'a mut ActionContext<'_>, input: &'a Value) -> ActionFuture<'a>;
}

/// Where an action's log lines go: a task's event stream, or a list in tests.
pub trait ActionLogger: Send {
    /// Records one line.
    fn log(&mut self, line: String);
}

impl ActionLogger for Vec<String> {
    fn log(&mut self, line: String) {
        self.push(line);
    }
}

/// A cancellation signal shared between whoever runs a task and its steps.
/// Cloning shares the signal.
#[derive(Debug, Clone)]
pub struct Cancellation {
    sender: Arc<watch::Sender<bool>>,
}

impl Default for Cancellation {
    fn default() -> Self {
        Cancellation::new()
    }
}

impl Cancellation {
    /// A signal that has not fired.
    pub fn new() -> Cancellation {
        let (sender, _receiver) = watch::channel(false);
        Cancellation {
            sender: Arc::new(sender),
        }
    }

    /// Fires the signal; every clone sees it.
    pub fn cancel(&self) {
        self.sender.send_replace(true);
    }

    /// Whether the signal has fired.
    pub fn is_cancelled(&self) -> bool {
        *self.sender.borrow()
    }

    /// Completes once the signal fires (at once if it already has).
    pub async fn cancelled(&self) {
        let mut receiver = self.sender.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = receiver.wait_for(|cancelled| *cancelled).await;
    }
}

/// Everything a step can reach besides its input.
pub struct ActionContext<'a> {
    /// The task's workspace: every path an action writes is inside it.
    pub workspace: &'a Workspace,
    /// The directory the template was read from; `fetch:*` urls are relative
    /// to it and confined to it. `None` for a template without files (e.g.
    /// an inline dry-run), where `fetch:*` actions fail with a clear error.
    pub template_directory: Option<&'a Workspace>,
    /// A dry run: actions with effects outside the workspace (publishing,
    /// registering) must only describe them. Workspace writes still happen,
    /// into a throwaway workspace, as in Backstage.
    pub dry_run: bool,
    /// Fires when the task is cancelled; long actions check it.
    pub cancellation: Cancellation,
    /// Receives the step's log lines.
    pub logger: &'a mut dyn ActionLogger,
    /// Who runs the task (`publish:git` makes them the commit's author).
    pub user: Option<crate::expression::UserContext>,
}

impl<'a> ActionContext<'a> {
    /// A context for a real run, with no template directory and a fresh
    /// cancellation signal; set the public fields for anything else.
    pub fn new(workspace: &'a Workspace, logger: &'a mut dyn ActionLogger) -> ActionContext<'a> {
        ActionContext {
            workspace,
            template_directory: None,
            dry_run: false,
            cancellation: Cancellation::new(),
            logger,
            user: None,
        }
    }

    /// Logs one line.
    pub fn log(&mut self, line: impl Into<String>) {
        self.logger.log(line.into());
    }

    /// Fails with [`ActionError::Cancelled`] once the task is cancelled.
    pub fn check_cancelled(&self, action: &str) -> Result<(), ActionError> {
        if self.cancellation.is_cancelled() {
            Err(ActionError::Cancelled {
                action: action.to_string(),
            })
        } else {
            Ok(())
        }
    }
}

/// Checks `input` against `action`'s schema. Every problem names its input key.
pub fn validate_input(action: &dyn Action, input: &Value) -> Result<(), ActionError> {
    let schema = action.input_schema();
    let validator = jsonschema::options()
        .offline()
        .build(&schema)
        .map_err(|error| ActionError::InvalidSchema {
            action: action.name().to_string(),
            message: error.to_string(),
        })?;
    let mut problems: Vec<InputProblem> = Vec::new();
    for error in validator.iter_errors(input) {
        let mut key = pointer_to_key(error.instance_path().as_str());
        if let jsonschema::error::ValidationErrorKind::Required { property } = error.kind() {
            let name = property
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| property.to_string());
            key = crate::limits::join_key(&key, &name);
        }
        let problem = InputProblem {
            key,
            message: error.to_string(),
        };
        if !problems.contains(&problem) {
            problems.push(problem);
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ActionError::InvalidInput {
            action: action.name().to_string(),
            problems,
        })
    }
}

/// `/files/0/from` → `files[0].from`, the way template authors write keys.
fn pointer_to_key(pointer: &str) -> String {
    let mut key = String::new();
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if !segment.is_empty() && segment.bytes().all(|byte| byte.is_ascii_digit()) {
            key.push_str(&format!("[{segment}]"));
        } else {
            key = crate::limits::join_key(&key, &segment);
        }
    }
    key
}

/// Reads validated input into an action's typed input.
pub(crate) fn parse_input<T: serde::de::DeserializeOwned>(
    action: &str,
    input: &Value,
) -> Result<T, ActionError> {
    serde_json::from_value(input.clone())
        .map_err(|error| ActionError::invalid(action, "", error.to_string()))
}

/// Actions by name.
#[derive(Clone, Default)]
pub struct ActionRegistry {
    actions: BTreeMap<&'static str, Arc<dyn Action>>,
}

impl std::fmt::Debug for ActionRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.actions.keys()).finish()
    }
}

impl ActionRegistry {
    /// A registry with no actions.
    pub fn new() -> ActionRegistry {
        ActionRegistry::default()
    }

    /// A registry with every built-in action of this crate.
    pub fn with_builtin_actions() -> ActionRegistry {
        let mut registry = ActionRegistry::new();
        let builtin: [Arc<dyn Action>; 8] = [
            Arc::new(FetchPlain),
            Arc::new(FetchPlainFile),
            Arc::new(FetchTemplate),
            Arc::new(FetchTemplateFile),
            Arc::new(FsRename),
            Arc::new(FsDelete),
            Arc::new(DebugLog),
            Arc::new(DebugWait),
        ];
        for action in builtin {
            registry.actions.insert(action.name(), action);
        }
        registry
    }

    /// Adds an action; its name must be new.
    pub fn register(&mut self, action: Arc<dyn Action>) -> Result<(), ActionError> {
        let name = action.name();
        if self.actions.contains_key(name) {
            return Err(ActionError::DuplicateAction {
                name: name.to_string(),
            });
        }
        self.actions.insert(name, action);
        Ok(())
    }

    /// The action registered under `name`.
    pub fn get(&self, name: &str) -> Option<&dyn Action> {
        self.actions.get(name).map(|action| action.as_ref())
    }

    /// Every action, by name.
    pub fn actions(&self) -> impl Iterator<Item = &dyn Action> {
        self.actions.values().map(|action| action.as_ref())
    }

    /// Validates `input` against the action's schema, then runs it. Input
    /// keys the schema does not know are logged, not refused, because
    /// Backstage templates carry keys Pave does not use (`token`).
    pub async fn run(
        &self,
        name: &str,
        context: &mut ActionContext<'_>,
        input: &Value,
    ) -> Result<Value, ActionError> {
        let action = self.get(name).ok_or_else(|| ActionError::UnknownAction {
            name: name.to_string(),
            available: self.actions.keys().copied().collect::<Vec<_>>().join(", "),
        })?;
        validate_input(action, input)?;
        for key in unknown_keys(&action.input_schema(), input) {
            context.log(format!(
                "input `{key}` is not used by action `{name}` and is ignored; check its spelling"
            ));
        }
        context.check_cancelled(name)?;
        action.run(context, input).await
    }
}

/// Top-level input keys that the schema's `properties` do not mention.
fn unknown_keys(schema: &Value, input: &Value) -> Vec<String> {
    let (Some(properties), Some(input)) = (
        schema.get("properties").and_then(Value::as_object),
        input.as_object(),
    ) else {
        return Vec::new();
    };
    input
        .keys()
        .filter(|key| !properties.contains_key(*key))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pointers_become_template_keys() {
        assert_eq!(pointer_to_key(""), "");
        assert_eq!(pointer_to_key("/files/0/from"), "files[0].from");
        assert_eq!(pointer_to_key("/a~1b"), "a/b");
    }

    #[test]
    fn builtin_actions_have_valid_schemas_and_unique_names() {
        let registry = ActionRegistry::with_builtin_actions();
        let names: Vec<&str> = registry.actions().map(|action| action.name()).collect();
        assert_eq!(
            names,
            [
                "debug:log",
                "debug:wait",
                "fetch:plain",
                "fetch:plain:file",
                "fetch:template",
                "fetch:template:file",
                "fs:delete",
                "fs:rename"
            ]
        );
        for action in registry.actions() {
            assert!(
                jsonschema::options()
                    .offline()
                    .build(&action.input_schema())
                    .is_ok()
            );
            assert!(!action.description().is_empty());
        }
    }

    #[test]
    fn duplicate_registration_is_refused() {
        let mut registry = ActionRegistry::with_builtin_actions();
        let error = registry.register(Arc::new(DebugLog)).unwrap_err();
        assert!(error.to_string().contains("already registered"), "{error}");
    }

    #[tokio::test]
    async fn unknown_action_lists_the_known_ones() {
        let (_dirs, workspace) = test_support::workspace();
        let mut log = Vec::new();
        let mut context = ActionContext::new(&workspace, &mut log);
        let error = ActionRegistry::with_builtin_actions()
            .run("publish:nowhere", &mut context, &json!({}))
            .await
            .unwrap_err();
        assert!(error.to_string().contains("fetch:template"), "{error}");
    }

    #[tokio::test]
    async fn invalid_input_names_the_action_and_key() {
        let (_dirs, workspace) = test_support::workspace();
        let mut log = Vec::new();
        let mut context = ActionContext::new(&workspace, &mut log);
        let error = ActionRegistry::with_builtin_actions()
            .run("fs:rename", &mut context, &json!({"files": [{"from": 3}]}))
            .await
            .unwrap_err();
        let text = error.to_string();
        assert!(text.contains("`fs:rename`"), "{text}");
        assert!(text.contains("files[0].from"), "{text}");
        assert!(text.contains("files[0].to"), "{text}");
    }

    #[tokio::test]
    async fn unknown_keys_are_logged() {
        let (_dirs, workspace) = test_support::workspace();
        let mut log = Vec::new();
        let mut context = ActionContext::new(&workspace, &mut log);
        ActionRegistry::with_builtin_actions()
            .run(
                "debug:log",
                &mut context,
                &json!({"message": "hi", "mesage": "typo"}),
            )
            .await
            .unwrap();
        assert!(log.iter().any(|line| line.contains("`mesage`")), "{log:?}");
    }

    #[tokio::test]
    async fn cancelled_task_does_not_start_actions() {
        let (_dirs, workspace) = test_support::workspace();
        let mut log = Vec::new();
        let mut context = ActionContext::new(&workspace, &mut log);
        context.cancellation.cancel();
        let error = ActionRegistry::with_builtin_actions()
            .run("debug:log", &mut context, &json!({"message": "hi"}))
            .await
            .unwrap_err();
        assert!(matches!(error, ActionError::Cancelled { .. }));
    }
}
