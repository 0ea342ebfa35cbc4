//! The active policy set in the database, versioned for optimistic
//! concurrency: a write names the version it was based on, and a stale write
//! is refused instead of silently replacing someone else's change.

use cedar_policy::Schema;
use pave_store::{RowExt, Store, StoreError, Transaction, format_time, now};

use crate::AccessError;
use crate::authorizer::PolicySnapshot;
use crate::policy::{self, DEFAULT_POLICIES};

const ACTIVE: &str = "active";

/// Who replaced the policies when Pave seeded the defaults.
pub const SYSTEM_PRINCIPAL: &str = "system:pave";

/// Policies used when the stored set no longer validates (for example after
/// an upgrade changed the schema): only admins may act, so they can fix it.
pub const EMERGENCY_POLICIES: &str = "@id(\"emergency-admins-only\")\npermit (principal in Pave::Group::\"default/admins\", action, resource);\n";

async fn read(store: &Store) -> Result<Option<(String, i64, String, String)>, AccessError> {
    let row = pave_store::query(
        "SELECT source, version, updated_at, updated_by FROM policy_sets WHERE name = $1",
    )
    .bind(ACTIVE)
    .fetch_optional(store.pool())
    .await
    .map_err(StoreError::from)?;
    row.map(|row| -> Result<_, sqlx::Error> {
        Ok((
            row.try_get::<String, _>("source")?,
            row.try_get::<i64, _>("version")?,
            row.try_get::<String, _>("updated_at")?,
            row.try_get::<String, _>("updated_by")?,
        ))
    })
    .transpose()
    .map_err(|error| AccessError::Store(error.into()))
}

/// The stored version, without parsing the policies (for cheap polling).
pub async fn current_version(store: &Store) -> Result<Option<i64>, AccessError> {
    pave_store::query_scalar::<_, i64>("SELECT version FROM policy_sets WHERE name = $1")
        .bind(ACTIVE)
        .fetch_optional(store.pool())
        .await
        .map_err(|error| AccessError::Store(error.into()))
}

/// Loads the active set, storing the defaults on first start.
pub async fn load(store: &Store, schema: &Schema) -> Result<PolicySnapshot, AccessError> {
    if read(store).await?.is_none() {
        // Several replicas may start at once: the first insert wins.
        pave_store::query(
            "INSERT INTO policy_sets (name, source, version, updated_at, updated_by) VALUES ($1, $2, 1, $3, $4) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(ACTIVE)
        .bind(DEFAULT_POLICIES)
        .bind(format_time(now()))
        .bind(SYSTEM_PRINCIPAL)
        .execute(store.pool())
        .await
        .map_err(StoreError::from)?;
    }
    upgrade_untouched_defaults(store).await?;
    let Some((source, version, updated_at, updated_by)) = read(store).await? else {
        return Err(AccessError::NotFound(
            "the active policy set vanished while it was being created; start again".into(),
        ));
    };
    let set = match policy::compile(&source, schema) {
        Ok(set) => set,
        Err(error) => {
            tracing::error!(%error, version, "the stored policy set does not validate; only admins may act until it is replaced");
            policy::compile(EMERGENCY_POLICIES, schema)?
        }
    };
    Ok(PolicySnapshot {
        source,
        version,
        updated_at,
        updated_by,
        set,
    })
}

/// Default policy sets of earlier Pave versions, oldest first. A stored set
/// that is exactly one of them, still as Pave seeded it, is replaced by the
/// current defaults at start-up, so new actions work on upgraded servers
/// (version 1 let every signed-in principal read every template task and
/// nobody but admins run templates; version 2 let nobody but admins create
/// environments, deploy or open previews). A set anyone changed is left
/// alone.
const PREVIOUS_DEFAULTS: &[&str] = &[
    include_str!("../policies/previous/default-1.cedar"),
    include_str!("../policies/previous/default-2.cedar"),
];

async fn upgrade_untouched_defaults(store: &Store) -> Result<(), AccessError> {
    let Some((source, version, _, updated_by)) = read(store).await? else {
        return Ok(());
    };
    if updated_by != SYSTEM_PRINCIPAL || !PREVIOUS_DEFAULTS.contains(&source.as_str()) {
        return Ok(());
    }
    // Conditional on the version, so replicas starting together upgrade once.
    let changed = pave_store::query(
        "UPDATE policy_sets SET source = $1, version = version + 1, updated_at = $2, updated_by = $3 \
         WHERE name = $4 AND version = $5",
    )
    .bind(DEFAULT_POLICIES)
    .bind(format_time(now()))
    .bind(SYSTEM_PRINCIPAL)
    .bind(ACTIVE)
    .bind(version)
    .execute(store.pool())
    .await
    .map_err(StoreError::from)?
    .rows_affected();
    if changed == 1 {
        tracing::info!(
            version = version + 1,
            "the stored policies were an earlier version's defaults; replaced them with the current defaults"
        );
    }
    Ok(())
}

/// Replaces the active set inside `transaction`.
///
/// `expected_version` is the version the caller read; when it is given and
/// the stored version differs, nothing changes and the result is a conflict.
pub async fn save(
    transaction: &mut Transaction,
    schema: &Schema,
    source: &str,
    expected_version: Option<i64>,
    updated_by: &str,
) -> Result<PolicySnapshot, AccessError> {
    let set = policy::compile(source, schema)?;
    let found = current_version_in(transaction).await?;
    let expected = expected_version.unwrap_or(found);
    if expected != found {
        return Err(StoreError::Conflict { expected, found }.into());
    }
    let updated_at = format_time(now());
    let changed = pave_store::query(
        "UPDATE policy_sets SET source = $1, version = version + 1, updated_at = $2, updated_by = $3 \
         WHERE name = $4 AND version = $5",
    )
    .bind(source)
    .bind(&updated_at)
    .bind(updated_by)
    .bind(ACTIVE)
    .bind(expected)
    .execute(&mut **transaction)
    .await
    .map_err(StoreError::from)?
    .rows_affected();
    if changed != 1 {
        // Another writer committed between our read and our update.
        let found = current_version_in(transaction).await?;
        return Err(StoreError::Conflict { expected, found }.into());
    }
    Ok(PolicySnapshot {
        source: source.to_string(),
        version: expected + 1,
        updated_at,
        updated_by: updated_by.to_string(),
        set,
    })
}

async fn current_version_in(transaction: &mut Transaction) -> Result<i64, AccessError> {
    Ok(
        pave_store::query_scalar::<_, i64>("SELECT version FROM policy_sets WHERE name = $1")
            .bind(ACTIVE)
            .fetch_optional(&mut **transaction)
            .await
            .map_err(StoreError::from)?
            .unwrap_or(0),
    )
}
