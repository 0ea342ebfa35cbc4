//! The software catalog engine: registered locations, ingestion from files
//! and git, Backstage-compatible storage of entities and relations, and
//! queries with Backstage's filter semantics.
//!
//! The entity rules themselves (validation, references, relations) live in
//! the pure `pave-catalog-model`; this crate reads, stores and queries.
//!
//! Architecture invariant: no HTTP here. The server maps [`CatalogError`]
//! to status codes; background refresh is started by the server.

pub mod ingest;
mod locations;
pub mod persist;
mod postings;
pub mod query;
pub mod rank;
mod read;
pub mod reader;
pub mod search;
pub mod source;
pub mod yaml;

use std::path::PathBuf;
use std::time::Duration;

use pave_catalog_model::{EntityProblem, Rules, validate};
use pave_store::{Store, StoreError};
use serde_json::Value;

pub use ingest::Problem;
pub use locations::{LocationRecord, Registered};
pub use persist::{Applied, OrphanStrategy};
pub use query::{DEFAULT_FULL_TEXT_FIELDS, Filter, Order};
pub use read::{
    MAX_LIMIT, MAX_SEARCH_CANDIDATES, PageInfo, QueryPage, QueryRequest, SEARCH_FACETS,
    SearchResults, Visible, attributes, decode_cursor,
};
pub use reader::LocationSpec;

/// A spawned task that is aborted when this is dropped, so work started for
/// a refresh never outlives it.
pub(crate) struct AbortOnDrop<T>(pub tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Errors from catalog operations; each says what to change.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Input(String),
    #[error("{0}")]
    Conflict(String),
}

impl From<sqlx::Error> for CatalogError {
    fn from(error: sqlx::Error) -> CatalogError {
        CatalogError::Store(error.into())
    }
}

/// How the catalog behaves; from the `catalog` section of the config.
#[derive(Debug, Clone)]
pub struct CatalogConfig {
    /// Locations that always exist (`catalog.locations`).
    pub locations: Vec<LocationSpec>,
    /// Which kinds are accepted (`catalog.rules`); every kind by default.
    pub rules: Rules,
    pub orphan_strategy: OrphanStrategy,
    /// How often each location is refreshed; each refresh waits a random
    /// extra up to half this, so locations do not refresh in lockstep.
    pub refresh_interval: Duration,
    /// Where git mirrors are kept.
    pub cache_dir: PathBuf,
}

impl CatalogConfig {
    /// No configured locations, every kind, orphans deleted and an hourly
    /// refresh: a catalog that changes only when asked (tests and tools).
    pub fn quiet(cache_dir: impl Into<PathBuf>) -> CatalogConfig {
        CatalogConfig {
            locations: Vec::new(),
            rules: Rules::default(),
            orphan_strategy: OrphanStrategy::Delete,
            refresh_interval: Duration::from_secs(3600),
            cache_dir: cache_dir.into(),
        }
    }
}

/// The catalog over one store.
pub struct Catalog {
    store: Store,
    reader: std::sync::Arc<reader::Reader>,
    config: CatalogConfig,
    /// One refresh at a time per process; replicas serialize in the database.
    refreshing: tokio::sync::Mutex<()>,
    /// Id lists of recent filter conditions.
    lists: postings::ListCache,
}

impl Catalog {
    pub fn new(store: Store, config: CatalogConfig) -> Catalog {
        Catalog {
            reader: std::sync::Arc::new(reader::Reader::new(config.cache_dir.clone())),
            store,
            config,
            refreshing: tokio::sync::Mutex::new(()),
            lists: postings::ListCache::default(),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn rules(&self) -> &Rules {
        &self.config.rules
    }

    /// Validates one entity without storing it (Backstage's validate-entity).
    pub fn validate(&self, document: &Value) -> Result<(), Vec<EntityProblem>> {
        validate(document, &self.config.rules).map(|_| ())
    }
}

/// The server runs these futures on a multi-threaded runtime, so they must
/// be `Send` for any borrowed arguments; a rustc limitation around async
/// closures and borrowed matches makes that easy to lose without noticing.
#[cfg(test)]
mod send_checks {
    fn assert_send<T: Send>(_: &T) {}

    #[allow(dead_code)]
    async fn futures_are_send(
        catalog: &super::Catalog,
        reader: &super::reader::Reader,
        spec: &super::LocationSpec,
        base: &super::reader::Base,
        git: &pave_git::GitReader,
        text: &str,
    ) {
        let rules = pave_catalog_model::Rules::default();
        assert_send(&super::ingest::process(reader, spec, &rules));
        assert_send(&reader.read(spec, None));
        assert_send(&reader.read_relative(base, text));
        assert_send(&catalog.refresh_location(text));
        assert_send(&super::persist::Writer::begin(
            catalog.store(),
            text,
            text,
            super::OrphanStrategy::Keep,
        ));
        assert_send(&catalog.register(spec.clone(), false));
        assert_send(&git.read_file(text, text, text));
        assert_send(&git.locate(text));
        assert_send(&git.list_files(text, text, text));
        assert_send(&git.resolve(text, None));
    }
}
