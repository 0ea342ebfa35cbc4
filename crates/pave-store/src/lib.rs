//! Pave's storage: one connection pool over SQLite or PostgreSQL, the schema
//! migrations for both, and write transactions.
//!
//! This crate owns the schema and nothing else: it knows tables, not what
//! tokens, policies or audit events mean. Every query uses `$1` placeholders and
//! only the value types both backends share through `sqlx::Any` (text, integers,
//! floats, blobs), so the same SQL runs on both; times are RFC 3339 UTC text.
//!
//! Architecture invariant: nothing here knows HTTP, Cedar or the catalog.

mod migrations;
mod store;
pub mod testing;
mod time;

pub use migrations::MIGRATION_COUNT;
pub use store::{Backend, ConnectOptions, Store, StoreError, Transaction, redact_url};
pub use time::{format_time, now, parse_time};

/// The row type every query returns; re-exported so callers need not name sqlx.
pub type Row = sqlx::any::AnyRow;
pub use sqlx::Row as RowExt;
pub use sqlx::{AnyPool, query, query_scalar};
