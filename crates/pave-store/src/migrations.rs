//! The schema, embedded in the binary: one ordered list of migrations per
//! backend. Both lists must have the same versions and describe the same
//! logical schema; a test checks the versions match.

use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationType, Migrator};

use crate::store::Backend;

/// (version, description, SQLite SQL, PostgreSQL SQL)
type Step = (i64, &'static str, &'static str, &'static str);

const STEPS: &[Step] = &[
    (
        1,
        "foundation",
        include_str!("../migrations/sqlite/0001_foundation.sql"),
        include_str!("../migrations/postgres/0001_foundation.sql"),
    ),
    (
        2,
        "catalog",
        include_str!("../migrations/sqlite/0002_catalog.sql"),
        include_str!("../migrations/postgres/0002_catalog.sql"),
    ),
    (
        3,
        "catalog integer ids and text index",
        include_str!("../migrations/sqlite/0003_catalog_ids.sql"),
        include_str!("../migrations/postgres/0003_catalog_ids.sql"),
    ),
    (
        4,
        "portal sessions",
        include_str!("../migrations/sqlite/0004_sessions.sql"),
        include_str!("../migrations/postgres/0004_sessions.sql"),
    ),
    (
        5,
        "scaffolder tasks",
        include_str!("../migrations/sqlite/0005_scaffolder.sql"),
        include_str!("../migrations/postgres/0005_scaffolder.sql"),
    ),
    (
        6,
        "environments and deployments",
        include_str!("../migrations/sqlite/0006_environments.sql"),
        include_str!("../migrations/postgres/0006_environments.sql"),
    ),
];

/// How many migrations the schema has; `/readyz` and tests use it.
pub const MIGRATION_COUNT: usize = STEPS.len();

pub(crate) fn migrator(backend: Backend) -> Migrator {
    let migrations = STEPS
        .iter()
        .map(|(version, description, sqlite, postgres)| {
            let sql = match backend {
                Backend::Sqlite => *sqlite,
                Backend::Postgres => *postgres,
            };
            Migration::new(
                *version,
                Cow::Borrowed(*description),
                MigrationType::Simple,
                sqlx::SqlStr::from_static(sql),
                false,
            )
        })
        .collect();
    Migrator::with_migrations(migrations)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::testing::TestDatabase;
    use crate::{ConnectOptions, Store};

    /// Version 3 rebuilds the catalog tables: entities go (the next refresh
    /// reads them again), registered locations stay and are marked unread.
    #[tokio::test]
    async fn the_catalog_rebuild_keeps_registered_locations() {
        let database = TestDatabase::create().await.unwrap();
        let store = Store::connect(&database.url, &ConnectOptions::default())
            .await
            .unwrap();
        migrator(store.backend())
            .run_to(2, store.pool())
            .await
            .unwrap();
        for sql in [
            "INSERT INTO catalog_locations (id, type, target, origin, created_at, refreshed_at, errors) \
             VALUES ('l1', 'file', '/srv/catalog.yaml', 'api', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', '[\"x\"]')",
            "INSERT INTO catalog_entities (uid, entity_ref, kind, namespace, name, location_id, location_key, body, hash, etag, orphan, errors, updated_at) \
             VALUES ('u1', 'component:default/a', 'component', 'default', 'a', 'l1', 'file:/srv/catalog.yaml', '{}', 'h', 'e', 0, '[]', 'now')",
            "INSERT INTO catalog_search (entity_uid, key, value, original) VALUES ('u1', 'kind', 'component', 'Component')",
        ] {
            sqlx::query(sql).execute(store.pool()).await.unwrap();
        }
        store.migrate().await.unwrap();
        let (target, refreshed, errors): (String, Option<String>, String) = sqlx::query_as(
            "SELECT target, refreshed_at, errors FROM catalog_locations WHERE id = 'l1'",
        )
        .fetch_one(store.pool())
        .await
        .unwrap();
        assert_eq!(target, "/srv/catalog.yaml");
        assert_eq!(refreshed, None, "the location is read again at start-up");
        assert_eq!(errors, "[]");
        let entities: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM catalog_entities")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(entities, 0);
        let generation: i64 =
            sqlx::query_scalar("SELECT value FROM catalog_generation WHERE id = 1")
                .fetch_one(store.pool())
                .await
                .unwrap();
        assert_eq!(generation, 0);
        store.close().await;
    }

    #[test]
    fn versions_increase_and_both_backends_have_every_step() {
        let mut last = 0;
        for (version, _, sqlite, postgres) in STEPS {
            assert!(*version > last, "migration versions must increase");
            assert!(!sqlite.trim().is_empty() && !postgres.trim().is_empty());
            last = *version;
        }
    }
}
