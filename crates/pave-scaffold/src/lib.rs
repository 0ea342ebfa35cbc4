//! Pave's software templates: the Backstage `scaffolder.backstage.io/v1beta3`
//! Template model, validation of submitted values against its parameter
//! schema, and `${{ }}` expressions.
//!
//! The model, values and expressions do no IO: they never read files, open
//! sockets, read the environment or look at the clock. Expressions are
//! sandboxed the same way (no template loader, no `include`/`import`).
//!
//! [`actions`] are the exception, and the only place that touches files:
//! every path they use goes through a [`Workspace`], which refuses anything
//! that would leave the task's workspace (or, for reads, the template's
//! directory). They never use the network. The task runner will live here
//! too and call them in order.
//!
//! Flow: [`parse_template`] the catalog entity, [`with_defaults`] and
//! [`validate_values`] the submitted values (a wizard checks each page as it
//! is submitted with [`validate_page`]), then for each step
//! [`step_should_run`], [`each_items`] and [`render_step_input`] with a
//! [`Context`] that grows as steps produce outputs.

pub mod actions;
mod compat;
mod expression;
mod filters;
pub mod limits;
mod model;
mod parse;
pub mod run;
pub mod tasks;
mod text;
mod values;
mod workspace;

pub use expression::{
    Context, EachItem, ExpressionError, ExpressionErrorKind, UserContext, each_items,
    evaluate_condition, render_step_input, render_value, step_should_run,
};
pub use filters::{EntityRefParts, RepoUrl, parse_entity_ref, parse_repo_url};
pub use model::{
    FieldProblem, Output, OutputLink, OutputText, ParameterPage, Step, TEMPLATE_API_VERSION,
    Template, TemplateError,
};
pub use parse::parse_template;
pub use run::{
    Masker, Run, RunError, RunEvent, RunObserver, RunOutput, StepStatus, missing_actions,
    missing_actions_message, render_output, run_template,
};
pub use text::{TextOptions, render_text};
pub use values::{ValueProblem, validate_page, validate_values, with_defaults};
pub use workspace::{Workspace, WorkspaceError};
