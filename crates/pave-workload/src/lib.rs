//! The Score workload model (`score.dev/v1b1`, <https://score.dev>).
//!
//! A workload spec (`score.yaml`) says what a component needs to run: its
//! containers, the ports it serves and the resources it depends on. This crate
//! turns the text of such a file into a typed [`Workload`] and substitutes Score
//! placeholders (`${metadata.name}`, `${resources.db.host}`).
//!
//! - [`parse`] reads YAML (or JSON), checks it against the embedded Score JSON
//!   schema, and builds the typed model. Errors name the file, the field path and
//!   what is wrong; every schema problem is reported, not only the first.
//! - [`substitute`] expands placeholders in one string;
//!   [`substitute_workload`] expands them in every container variable, inline
//!   file content and volume source of a workload.
//!
//! **Architecture invariant:** this crate does no IO. The caller reads files and
//! supplies resource outputs through [`ResourceOutputs`].

mod model;
mod parse;
mod path;
mod placeholder;

pub use model::{
    Before, Container, ContainerResources, ExecProbe, File, FileContent, HttpHeader, HttpProbe,
    HttpScheme, Metadata, Port, Probe, Protocol, Readiness, Resource, ResourceLimits, Service,
    Volume, Workload,
};
pub use parse::{API_VERSION, Limits, Problem, WorkloadError, parse, parse_with_limits};
pub use placeholder::{
    Context, OutputError, PlaceholderError, PlaceholderErrorKind, ResourceOutputs,
    SubstitutionErrors, substitute, substitute_workload,
};
