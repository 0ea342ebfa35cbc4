//! The connection pool and its life cycle: connect, migrate, begin, close.

use std::sync::Once;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{Any, AnyPool, Executor};

use crate::migrations;

/// A write transaction. Commit it, or drop it to roll back.
pub type Transaction = sqlx::Transaction<'static, Any>;

/// Which database engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Picks the backend from a database URL's scheme.
    pub fn from_url(url: &str) -> Result<Backend, StoreError> {
        let scheme = url.split_once(':').map(|(scheme, _)| scheme).unwrap_or("");
        match scheme {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            _ => Err(StoreError::UnsupportedUrl {
                url: redact_url(url),
            }),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Errors from the store. Each says what failed and what to try.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "database URL `{url}` is not supported: use `sqlite://PATH` or `postgres://USER@HOST:PORT/DB`"
    )]
    UnsupportedUrl { url: String },
    #[error(
        "cannot connect to the database at `{url}`: {source}. Check that it is running and that the URL, user and password are right"
    )]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error(
        "cannot migrate the database schema at `{url}`: {source}. The database may belong to a newer Pave; restore a backup or point Pave at an empty database"
    )]
    Migrate {
        url: String,
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    #[error(
        "the record was changed by someone else (expected version {expected}, found {found}): read it again and retry"
    )]
    Conflict { expected: i64, found: i64 },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// Pool sizing and timeouts. The defaults suit `pave up`.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// A connected, migrated database. Cheap to clone: clones share the pool.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    url: String,
}

static DRIVERS: Once = Once::new();

impl Store {
    /// Connects to `url` and checks the database answers. Does not migrate.
    pub async fn connect(url: &str, options: &ConnectOptions) -> Result<Store, StoreError> {
        DRIVERS.call_once(install_default_drivers);
        let backend = Backend::from_url(url)?;
        let redacted = redact_url(url);
        let mut pool_options = AnyPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout);
        if backend == Backend::Sqlite {
            // WAL lets readers run beside the one writer; NORMAL sync is durable
            // across application crashes in WAL mode and much faster than FULL.
            // A 16 MiB page cache per connection (SQLite's default is 2 MiB)
            // keeps index pages of a large catalog in memory; the log is cut
            // back to 64 MiB after each checkpoint.
            pool_options = pool_options.after_connect(|connection, _| {
                Box::pin(async move {
                    connection
                        .execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA cache_size = -16384; PRAGMA journal_size_limit = 67108864;")
                        .await?;
                    Ok(())
                })
            });
        }
        let pool = pool_options
            .connect(url)
            .await
            .map_err(|source| StoreError::Connect {
                url: redacted.clone(),
                source,
            })?;
        Ok(Store {
            pool,
            backend,
            url: redacted,
        })
    }

    /// Brings the schema up to date. Safe to run on every start and from
    /// several replicas at once (the migrator takes a lock).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        migrations::migrator(self.backend)
            .run(&self.pool)
            .await
            .map_err(|source| StoreError::Migrate {
                url: self.url.clone(),
                source,
            })
    }

    /// Connects and migrates: what a server does at start.
    pub async fn open(url: &str, options: &ConnectOptions) -> Result<Store, StoreError> {
        let store = Store::connect(url, options).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// The pool, for reads.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The database URL with any password removed, safe to print.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Begins a write transaction.
    ///
    /// On SQLite it is `BEGIN IMMEDIATE`: the write lock is taken up front, so
    /// a transaction that reads before it writes waits for other writers
    /// instead of failing with `SQLITE_BUSY` when it upgrades.
    pub async fn begin(&self) -> Result<Transaction, StoreError> {
        let transaction = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(transaction)
    }

    /// Serializes writers of one logical sequence (such as the audit chain)
    /// until `transaction` ends. SQLite's `BEGIN IMMEDIATE` already serializes
    /// every writer; PostgreSQL takes a transaction-scoped advisory lock.
    pub async fn lock_sequence(
        &self,
        transaction: &mut Transaction,
        key: i64,
    ) -> Result<(), StoreError> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(key)
                .execute(&mut **transaction)
                .await?;
        }
        Ok(())
    }

    /// After a large write, folds SQLite's write-ahead log back into the
    /// database and truncates it. Until then every read looks pages up in
    /// the log too, which at a 100,000-entity refresh (a log of most of a
    /// gigabyte) made lookups several times slower. A checkpoint that
    /// readers keep from finishing is simply partial; the next one goes on.
    /// Nothing to do on PostgreSQL.
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        if self.backend == Backend::Sqlite {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// Checks the database answers a query.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes every connection and waits for them to finish. SQLite
    /// checkpoints its write-ahead log when the last connection closes.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Removes the password from a database URL so it can be logged or shown.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, path) = match rest.find('/') {
        Some(index) => rest.split_at(index),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((credentials, host)) => {
            let user = credentials.split(':').next().unwrap_or("");
            if credentials.contains(':') {
                format!("{scheme}://{user}:***@{host}{path}")
            } else {
                format!("{scheme}://{user}@{host}{path}")
            }
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact_url("postgres://pave:s3cret@db:5432/pave"),
            "postgres://pave:***@db:5432/pave"
        );
        assert_eq!(
            redact_url("postgres://pave@db/pave"),
            "postgres://pave@db/pave"
        );
        assert_eq!(
            redact_url("sqlite:///tmp/x.db?mode=rwc"),
            "sqlite:///tmp/x.db?mode=rwc"
        );
    }

    #[test]
    fn backends_come_from_the_scheme() {
        assert_eq!(Backend::from_url("sqlite://x").unwrap(), Backend::Sqlite);
        assert_eq!(
            Backend::from_url("postgresql://h/d").unwrap(),
            Backend::Postgres
        );
        let error = Backend::from_url("mysql://h/d").unwrap_err().to_string();
        assert!(error.contains("mysql://h/d") && error.contains("sqlite://"));
    }
}
