//! Deployment records in the database. A record is immutable except for its
//! status, message, `active` flag and `updated_at`.

use pave_store::{RowExt, Store, StoreError, format_time, now};
use serde::Serialize;
use serde_json::Value;

/// Where a deployment is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DeploymentStatus {
    /// Recorded; nothing started yet.
    Pending,
    /// The new version is starting beside the old one.
    Progressing,
    /// Ready and serving (or was, before a newer one replaced it).
    Healthy,
    /// Running, but failing its probes or crash-looping.
    Degraded,
    /// Never became ready, or could not start; the old version kept serving.
    Failed,
}

impl DeploymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentStatus::Pending => "Pending",
            DeploymentStatus::Progressing => "Progressing",
            DeploymentStatus::Healthy => "Healthy",
            DeploymentStatus::Degraded => "Degraded",
            DeploymentStatus::Failed => "Failed",
        }
    }

    fn parse(text: &str) -> DeploymentStatus {
        match text {
            "Pending" => DeploymentStatus::Pending,
            "Progressing" => DeploymentStatus::Progressing,
            "Healthy" => DeploymentStatus::Healthy,
            "Degraded" => DeploymentStatus::Degraded,
            _ => DeploymentStatus::Failed,
        }
    }

    /// True while the deployment is still being rolled out.
    pub fn is_in_progress(self) -> bool {
        matches!(
            self,
            DeploymentStatus::Pending | DeploymentStatus::Progressing
        )
    }
}

/// One deployment record.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub id: String,
    /// The component's entity reference.
    pub component: String,
    pub environment: String,
    /// What was asked for: a branch, tag or commit.
    pub revision: String,
    /// The commit it runs.
    pub commit: String,
    /// The Score workload as read at that commit.
    pub workload: Value,
    /// What Pave worked out: ports, URLs, routes, variables (secrets masked)
    /// and the runtime instance. The API leaves the instance out.
    pub resolved: Value,
    pub status: DeploymentStatus,
    pub message: String,
    /// The one the environment runs for this component.
    pub active: bool,
    /// `deploy`, `rollback`, `promote` or `preview`.
    pub kind: String,
    /// The deployment a rollback or promotion copies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub based_on: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
}

const COLUMNS: &str = "id, component, environment, revision, commit_sha, workload, resolved, status, message, active, kind, based_on, created_by, created_at, updated_at";

fn from_row(row: &sqlx::any::AnyRow) -> Result<Deployment, StoreError> {
    let text = |name: &str| row.try_get::<String, _>(name).map_err(StoreError::from);
    Ok(Deployment {
        id: text("id")?,
        component: text("component")?,
        environment: text("environment")?,
        revision: text("revision")?,
        commit: text("commit_sha")?,
        workload: serde_json::from_str(&text("workload")?).unwrap_or(Value::Null),
        resolved: serde_json::from_str(&text("resolved")?).unwrap_or(Value::Null),
        status: DeploymentStatus::parse(&text("status")?),
        message: text("message")?,
        active: row.try_get::<i64, _>("active").map_err(StoreError::from)? != 0,
        kind: text("kind")?,
        based_on: row.try_get("based_on").map_err(StoreError::from)?,
        created_by: text("created_by")?,
        created_at: text("created_at")?,
        updated_at: text("updated_at")?,
    })
}

/// A deployment about to be recorded.
#[derive(Debug, Clone)]
pub(crate) struct NewDeployment<'a> {
    pub id: &'a str,
    pub component: &'a str,
    pub environment: &'a str,
    pub revision: &'a str,
    pub commit: &'a str,
    pub workload: &'a Value,
    pub resolved: &'a Value,
    pub kind: &'a str,
    pub based_on: Option<&'a str>,
    pub created_by: &'a str,
}

pub(crate) async fn insert(store: &Store, new: &NewDeployment<'_>) -> Result<(), StoreError> {
    let time = format_time(now());
    pave_store::query(
        "INSERT INTO deployments (id, component, environment, revision, commit_sha, workload, resolved, status, message, active, kind, based_on, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'Pending', '', 0, $8, $9, $10, $11, $11)",
    )
    .bind(new.id)
    .bind(new.component)
    .bind(new.environment)
    .bind(new.revision)
    .bind(new.commit)
    .bind(new.workload.to_string())
    .bind(new.resolved.to_string())
    .bind(new.kind)
    .bind(new.based_on)
    .bind(new.created_by)
    .bind(&time)
    .execute(store.pool())
    .await?;
    Ok(())
}

pub(crate) async fn set_status(
    store: &Store,
    id: &str,
    status: DeploymentStatus,
    message: &str,
) -> Result<(), StoreError> {
    pave_store::query(
        "UPDATE deployments SET status = $1, message = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(status.as_str())
    .bind(message)
    .bind(format_time(now()))
    .bind(id)
    .execute(store.pool())
    .await?;
    Ok(())
}

/// Makes `id` the active deployment of its component and environment, and
/// marks it healthy, in one transaction.
pub(crate) async fn activate(store: &Store, deployment: &Deployment) -> Result<(), StoreError> {
    let mut transaction = store.begin().await?;
    let time = format_time(now());
    pave_store::query(
        "UPDATE deployments SET active = 0, updated_at = $1 WHERE component = $2 AND environment = $3 AND active = 1",
    )
    .bind(&time)
    .bind(&deployment.component)
    .bind(&deployment.environment)
    .execute(&mut *transaction)
    .await?;
    pave_store::query(
        "UPDATE deployments SET active = 1, status = 'Healthy', message = $1, updated_at = $2 WHERE id = $3",
    )
    .bind("ready and serving")
    .bind(&time)
    .bind(&deployment.id)
    .execute(&mut *transaction)
    .await?;
    transaction.commit().await?;
    Ok(())
}

pub(crate) async fn get(store: &Store, id: &str) -> Result<Option<Deployment>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM deployments WHERE id = $1");
    let row = pave_store::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(store.pool())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// What a deployment list may be narrowed to.
#[derive(Debug, Clone, Default)]
pub struct DeploymentFilter {
    pub component: Option<String>,
    pub environment: Option<String>,
    pub limit: Option<i64>,
}

/// Newest first.
pub(crate) async fn list(
    store: &Store,
    filter: &DeploymentFilter,
) -> Result<Vec<Deployment>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM deployments WHERE ($1 = '' OR component = $1) AND ($2 = '' OR environment = $2) ORDER BY created_at DESC, id DESC LIMIT $3"
    );
    let rows = pave_store::query(sqlx::AssertSqlSafe(sql))
        .bind(filter.component.as_deref().unwrap_or(""))
        .bind(filter.environment.as_deref().unwrap_or(""))
        .bind(filter.limit.unwrap_or(100).clamp(1, 1000))
        .fetch_all(store.pool())
        .await?;
    rows.iter().map(from_row).collect()
}

/// The deployments an environment should run: the active ones, and the
/// ones being rolled out (they start beside the active ones).
pub(crate) async fn desired(
    store: &Store,
    environment: &str,
) -> Result<Vec<Deployment>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM deployments WHERE environment = $1 AND (active = 1 OR status IN ('Pending', 'Progressing')) ORDER BY created_at, id"
    );
    let rows = pave_store::query(sqlx::AssertSqlSafe(sql))
        .bind(environment)
        .fetch_all(store.pool())
        .await?;
    rows.iter().map(from_row).collect()
}

/// Rollouts a stopped Pave left unfinished: they are failed at start-up
/// (the active deployment kept serving throughout).
pub(crate) async fn fail_unfinished(store: &Store) -> Result<u64, StoreError> {
    let result = pave_store::query(
        "UPDATE deployments SET status = 'Failed', message = 'Pave stopped during the rollout; the previous version kept serving. Deploy again', updated_at = $1 WHERE status IN ('Pending', 'Progressing')",
    )
    .bind(format_time(now()))
    .execute(store.pool())
    .await?;
    Ok(result.rows_affected())
}

/// Clears `active` for every deployment of an environment (its teardown).
pub(crate) async fn deactivate_environment(
    store: &Store,
    environment: &str,
) -> Result<(), StoreError> {
    pave_store::query(
        "UPDATE deployments SET active = 0, updated_at = $1 WHERE environment = $2 AND active = 1",
    )
    .bind(format_time(now()))
    .bind(environment)
    .execute(store.pool())
    .await?;
    Ok(())
}

/// Records a webhook delivery; false when it was seen before (a replay).
pub(crate) async fn record_delivery(
    store: &Store,
    provider: &str,
    delivery_id: &str,
) -> Result<bool, StoreError> {
    let inserted = pave_store::query(
        "INSERT INTO webhook_deliveries (provider, delivery_id, received_at) VALUES ($1, $2, $3) ON CONFLICT (provider, delivery_id) DO NOTHING",
    )
    .bind(provider)
    .bind(delivery_id)
    .bind(format_time(now()))
    .execute(store.pool())
    .await?
    .rows_affected();
    Ok(inserted == 1)
}
