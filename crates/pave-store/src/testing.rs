//! Fresh databases for tests, on whichever backend the test run targets.
//!
//! Tests read `PAVE_TEST_DATABASE_URL`. Unset, every test gets its own SQLite
//! file in a temporary directory. Set to a PostgreSQL URL (the server's
//! maintenance database, such as `postgres://pave@127.0.0.1:5433/postgres`),
//! every test gets a new, empty database created on that server, so tests
//! never see each other's rows. `.ci/run` runs the suite once per backend.

use std::path::PathBuf;

use crate::store::{Backend, ConnectOptions, Store, StoreError};

/// The environment variable that picks the backend for a test run.
pub const TEST_DATABASE_VARIABLE: &str = "PAVE_TEST_DATABASE_URL";

/// A database that exists only for one test.
#[derive(Debug)]
pub struct TestDatabase {
    /// The URL a server or store under test should use.
    pub url: String,
    /// The directory that holds a SQLite file; removed when dropped.
    directory: Option<PathBuf>,
}

impl TestDatabase {
    /// Creates an empty database on the backend this test run targets.
    pub async fn create() -> Result<TestDatabase, StoreError> {
        match std::env::var(TEST_DATABASE_VARIABLE) {
            Ok(url) if !url.trim().is_empty() => Self::create_postgres(url.trim()).await,
            _ => Ok(Self::create_sqlite()),
        }
    }

    /// Which backend this test run targets.
    pub fn backend() -> Backend {
        match std::env::var(TEST_DATABASE_VARIABLE) {
            Ok(url) if !url.trim().is_empty() => Backend::Postgres,
            _ => Backend::Sqlite,
        }
    }

    fn create_sqlite() -> TestDatabase {
        let directory = std::env::temp_dir().join(format!("pave-test-{}", uuid::Uuid::new_v4()));
        // A failure here shows up as a clear connect error in the test.
        let _ = std::fs::create_dir_all(&directory);
        let url = format!("sqlite://{}/pave.db?mode=rwc", directory.display());
        TestDatabase {
            url,
            directory: Some(directory),
        }
    }

    async fn create_postgres(server_url: &str) -> Result<TestDatabase, StoreError> {
        let name = format!("pave_test_{}", uuid::Uuid::new_v4().simple());
        let admin = Store::connect(
            server_url,
            &ConnectOptions {
                max_connections: 1,
                ..ConnectOptions::default()
            },
        )
        .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(admin.pool())
            .await?;
        admin.close().await;
        let url = match server_url.rsplit_once('/') {
            Some((base, _)) if base.contains("://") && base.len() > "postgres://".len() => {
                format!("{base}/{name}")
            }
            _ => format!("{server_url}/{name}"),
        };
        Ok(TestDatabase {
            url,
            directory: None,
        })
    }

    /// Connects to this database and migrates it.
    pub async fn open(&self) -> Result<Store, StoreError> {
        Store::open(&self.url, &ConnectOptions::default()).await
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // PostgreSQL test databases go with the throwaway cluster `.ci/run` made.
        if let Some(directory) = &self.directory {
            let _ = std::fs::remove_dir_all(directory);
        }
    }
}
