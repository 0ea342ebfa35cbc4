//! Git: reading files from git repositories by running the `git` CLI.
//!
//! This crate owns the local mirrors of remotes and everything that touches
//! them: parsing location URLs ([`RepositoryPath`]), fetching and resolving
//! refs, reading a file at a commit and listing files by glob
//! ([`GitReader`]). It keeps one bare mirror per remote under a cache
//! directory and rebuilds a mirror it finds damaged.
//!
//! Architecture invariants:
//! - It runs the `git` program and links no git library, so behaviour and
//!   security fixes come with the installed git.
//! - It must never let input choose what git does: remotes are limited to
//!   `file://` and `https://` (plain `http://` only on loopback); refs, paths
//!   and URLs cannot start with '-', contain `..` or NUL, or use revision
//!   syntax; git runs with a cleared environment, no user or system config,
//!   no hooks, no credential helpers or prompts, a timeout that kills its
//!   whole process group, and bounded output.
//! - It knows nothing of the catalog, of YAML or of HTTP: it returns bytes
//!   and paths. It does not write to remotes (no commit or push yet).

mod command;
mod error;
mod glob;
pub mod location;
mod lookup;
mod mirror;
mod reader;
mod remote;
mod validation;

pub use error::GitError;
pub use location::RepositoryPath;
pub use reader::{DEFAULT_MAX_FILE_SIZE, DEFAULT_TIMEOUT, GitReader, ResolvedPath};
