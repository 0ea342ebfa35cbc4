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
