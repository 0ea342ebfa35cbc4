//! Git: reading files from git repositories, publishing directories as
//! commits, and hosting Pave's own repositories, by running the `git` CLI.
//!
//! This crate owns the local mirrors of remotes and everything that touches
//! them: parsing location URLs ([`RepositoryPath`]), fetching and resolving
//! refs, reading a file at a commit and listing files by glob
//! ([`GitReader`]). It keeps one bare mirror per remote under a cache
//! directory and rebuilds a mirror it finds damaged.
//!
//! It also writes: [`GitPublisher`] commits every file of a directory as the
//! first commit of a new branch and pushes it, and [`Hosting`] keeps bare
//! repositories under Pave's data directory (`<root>/<owner>/<name>.git`),
//! each created whole from a directory and readable through its `file://` URL.
//!
//! Architecture invariants:
//! - It runs the `git` program and links no git library, so behaviour and
//!   security fixes come with the installed git.
//! - It must never let input choose what git does: remotes are limited to
//!   `file://` and `https://` (plain `http://` only on loopback); refs, paths
//!   and URLs cannot start with '-', contain `..` or NUL, or use revision
//!   syntax; git runs with a cleared environment, no user or system config,
//!   no hooks (not even the receiving repository's, for `file://` pushes), no
//!   credential helpers or prompts, a timeout that kills its whole process
//!   group, and bounded output.
//! - It never destroys history: a push only ever creates a new branch (never
//!   forced; an existing branch is an error), and a hosted repository is never
//!   replaced. A publish never writes into the directory it publishes.
//! - What it writes appears whole or not at all: commits are built in a
//!   scratch git directory that is always removed, and hosted repositories
//!   are renamed into place only when complete.
//! - It knows nothing of the catalog, of YAML or of HTTP: it returns bytes
//!   and paths.

mod command;
mod error;
mod glob;
mod hosting;
pub mod location;
mod lookup;
mod mirror;
mod publish;
mod reader;
mod remote;
mod scratch;
mod validation;

pub use error::GitError;
pub use hosting::{HostedRepository, Hosting};
pub use location::RepositoryPath;
pub use publish::{CommitSpec, GitPublisher, Published};
pub use reader::{DEFAULT_MAX_FILE_SIZE, DEFAULT_TIMEOUT, GitReader, ResolvedPath};
