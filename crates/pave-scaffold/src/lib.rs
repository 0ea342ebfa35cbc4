//! Pave's software templates: the Backstage `scaffolder.backstage.io/v1beta3`
//! Template model, validation of submitted values against its parameter
//! schema, and `${{ }}` expressions.
//!
//! This crate owns the rules and does no IO: it never reads files, opens
//! sockets, reads the environment or looks at the clock. Expressions are
//! sandboxed the same way (no template loader, no `include`/`import`). Actions,
//! workspaces and the task runner live elsewhere and call in here.
//!
//! Flow: [`parse_template`] the catalog entity, [`with_defaults`] and
//! [`validate_values`] the submitted values, then for each step
//! [`step_should_run`], [`each_items`] and [`render_step_input`] with a
//! [`Context`] that grows as steps produce outputs.

mod compat;
mod expression;
mod filters;
pub mod limits;
mod model;
mod parse;
mod values;

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
pub use values::{ValueProblem, validate_values, with_defaults};
