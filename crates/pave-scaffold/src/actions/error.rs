//! Errors of actions and of the registry. Each names the action, and what to do.

use crate::expression::ExpressionError;
use crate::workspace::WorkspaceError;

/// One way an input did not match its action's schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputProblem {
    /// The input key, e.g. `files[0].from`; empty for the input as a whole.
    pub key: String,
    /// What is wrong with it.
    pub message: String,
}

impl std::fmt::Display for InputProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "`{}`: {}", self.key, self.message)
        }
    }
}

/// Why an action could not run or failed.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// No action is registered under this name.
    #[error("there is no action `{name}`; use one of: {available}")]
    UnknownAction {
        /// The name asked for.
        name: String,
        /// The registered names, comma-separated.
        available: String,
    },
    /// Two actions were registered under one name.
    #[error("an action named `{name}` is already registered; give the new one another name")]
    DuplicateAction {
        /// The name.
        name: String,
    },
    /// The input does not match the action's schema.
    #[error("invalid input for action `{action}`: {}; fix the step's input", problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    InvalidInput {
        /// The action.
        action: String,
        /// Every problem found.
        problems: Vec<InputProblem>,
    },
    /// The action's own schema does not compile: a bug in the action.
    #[error("action `{action}` has an invalid input schema: {message}; report this as a bug")]
    InvalidSchema {
        /// The action.
        action: String,
        /// The compiler's message.
        message: String,
    },
    /// A path was refused or could not be inspected.
    #[error("action `{action}`: {source}")]
    Workspace {
        /// The action.
        action: String,
        /// The refusal.
        source: WorkspaceError,
    },
    /// Reading or writing a file failed.
    #[error("action `{action}`: could not {operation} `{path}`: {source}")]
    Io {
        /// The action.
        action: String,
        /// What was being done, e.g. `write`.
        operation: &'static str,
        /// The path, relative to the workspace or template directory.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A skeleton file or name failed to render.
    #[error("action `{action}`: could not render `{path}`: {source}")]
    Template {
        /// The action.
        action: String,
        /// The skeleton path, relative to the template directory.
        path: String,
        /// The expression failure (boxed: it is large, and rare).
        source: Box<ExpressionError>,
    },
    /// The action refused to go on, for a reason that names what to do.
    #[error("action `{action}`: {message}")]
    Failed {
        /// The action.
        action: String,
        /// What went wrong and what to do.
        message: String,
    },
    /// The task was cancelled while the action ran.
    #[error("action `{action}` was cancelled")]
    Cancelled {
        /// The action.
        action: String,
    },
}

impl ActionError {
    pub(crate) fn failed(action: &str, message: impl Into<String>) -> ActionError {
        ActionError::Failed {
            action: action.to_string(),
            message: message.into(),
        }
    }

    pub(crate) fn invalid(action: &str, key: &str, message: impl Into<String>) -> ActionError {
        ActionError::InvalidInput {
            action: action.to_string(),
            problems: vec![InputProblem {
                key: key.to_string(),
                message: message.into(),
            }],
        }
    }

    pub(crate) fn workspace(action: &str, source: WorkspaceError) -> ActionError {
        ActionError::Workspace {
            action: action.to_string(),
            source,
        }
    }

    pub(crate) fn io(
        action: &str,
        operation: &'static str,
        path: impl Into<String>,
        source: std::io::Error,
    ) -> ActionError {
        ActionError::Io {
            action: action.to_string(),
            operation,
            path: path.into(),
            source,
        }
    }
}
