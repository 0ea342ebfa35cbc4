//! Tasks and their events in the database (`scaffolder_tasks`,
//! `scaffolder_task_events`). Status changes are conditional updates, so a
//! cancel and a finishing run can race without one overwriting the other.

use pave_store::{RowExt, Store, StoreError, format_time, now};
use serde::Serialize;
use serde_json::Value;

/// Backstage's task statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskStatus {
    /// Created, not started yet.
    Open,
    /// Running.
    Processing,
    /// Every step finished.
    Completed,
    /// A step failed, or Pave stopped while the task ran.
    Failed,
    /// Someone cancelled it.
    Cancelled,
}

impl TaskStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Open => "open",
            TaskStatus::Processing => "processing",
            TaskStatus::Completed => "completed",
            TaskStatus::Failed => "failed",
            TaskStatus::Cancelled => "cancelled",
        }
    }

    /// Reads a stored name; anything unknown reads as failed.
    pub fn parse(text: &str) -> TaskStatus {
        match text {
            "open" => TaskStatus::Open,
            "processing" => TaskStatus::Processing,
            "completed" => TaskStatus::Completed,
            "cancelled" => TaskStatus::Cancelled,
            _ => TaskStatus::Failed,
        }
    }

    /// True once the task can change no more.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            TaskStatus::Completed | TaskStatus::Failed | TaskStatus::Cancelled
        )
    }
}

/// One stored task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRecord {
    pub id: String,
    /// The template's entity reference, `template:namespace/name`.
    pub template_ref: String,
    /// The task spec: template info, parameters and user (never secrets).
    pub spec: Value,
    pub status: TaskStatus,
    /// The principal that created it, e.g. `user:default/alice`.
    pub created_by: String,
    pub created_at: String,
    /// Last change or heartbeat.
    pub updated_at: String,
    /// The rendered template output, once completed.
    pub output: Option<Value>,
}

/// Kinds of task events, as Backstage names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventType {
    /// A log line, optionally with a step status.
    Log,
    /// The task finished; the body has its status and output or error.
    Completion,
    /// Someone asked to cancel the task.
    Cancelled,
    /// Pave found the task interrupted by a restart.
    Recovered,
}

impl EventType {
    fn as_str(self) -> &'static str {
        match self {
            EventType::Log => "log",
            EventType::Completion => "completion",
            EventType::Cancelled => "cancelled",
            EventType::Recovered => "recovered",
        }
    }

    fn parse(text: &str) -> EventType {
        match text {
            "completion" => EventType::Completion,
            "cancelled" => EventType::Cancelled,
            "recovered" => EventType::Recovered,
            _ => EventType::Log,
        }
    }
}

/// One event of a task's log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskEvent {
    /// Orders events; the `after` cursor of the event stream.
    pub id: i64,
    #[serde(rename = "taskId")]
    pub task_id: String,
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// `{message, stepId?, status?, output?, error?}`.
    pub body: Value,
    #[serde(rename = "createdAt")]
    pub created_at: String,
}

const TASK_COLUMNS: &str =
    "id, template_ref, spec, status, created_by, created_at, updated_at, output";

fn task_from_row(row: &sqlx::any::AnyRow) -> Result<TaskRecord, StoreError> {
    let text = |name: &str| row.try_get::<String, _>(name).map_err(StoreError::from);
    let output: Option<String> = row.try_get("output").map_err(StoreError::from)?;
    Ok(TaskRecord {
        id: text("id")?,
        template_ref: text("template_ref")?,
        spec: serde_json::from_str(&text("spec")?).unwrap_or(Value::Null),
        status: TaskStatus::parse(&text("status")?),
        created_by: text("created_by")?,
        created_at: text("created_at")?,
        updated_at: text("updated_at")?,
        output: output.and_then(|output| serde_json::from_str(&output).ok()),
    })
}

pub(crate) async fn insert_task(
    store: &Store,
    id: &str,
    template_ref: &str,
    spec: &Value,
    created_by: &str,
) -> Result<TaskRecord, StoreError> {
    let time = format_time(now());
    pave_store::query(
        "INSERT INTO scaffolder_tasks (id, template_ref, spec, status, created_by, created_at, updated_at) VALUES ($1, $2, $3, 'open', $4, $5, $5)",
    )
    .bind(id)
    .bind(template_ref)
    .bind(spec.to_string())
    .bind(created_by)
    .bind(&time)
    .execute(store.pool())
    .await?;
    Ok(TaskRecord {
        id: id.to_string(),
        template_ref: template_ref.to_string(),
        spec: spec.clone(),
        status: TaskStatus::Open,
        created_by: created_by.to_string(),
        created_at: time.clone(),
        updated_at: time,
        output: None,
    })
}

pub(crate) async fn task(store: &Store, id: &str) -> Result<Option<TaskRecord>, StoreError> {
    let sql = format!("SELECT {TASK_COLUMNS} FROM scaffolder_tasks WHERE id = $1");
    let row = pave_store::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(store.pool())
        .await?;
    row.as_ref().map(task_from_row).transpose()
}

/// Newest first; with `created_by`, only that principal's tasks.
pub(crate) async fn tasks(
    store: &Store,
    created_by: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<TaskRecord>, i64), StoreError> {
    // An empty `owner` matches every task.
    let filter = "WHERE ($1 = '' OR created_by = $1)";
    let owner = created_by.unwrap_or("");
    let sql = format!(
        "SELECT {TASK_COLUMNS} FROM scaffolder_tasks {filter} ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
    );
    let rows = pave_store::query(sqlx::AssertSqlSafe(sql))
        .bind(owner)
        .bind(limit)
        .bind(offset)
        .fetch_all(store.pool())
        .await?;
    let count_sql = format!("SELECT COUNT(*) FROM scaffolder_tasks {filter}");
    let total: i64 = pave_store::query_scalar(sqlx::AssertSqlSafe(count_sql))
        .bind(owner)
        .fetch_one(store.pool())
        .await?;
    let tasks = rows
        .iter()
        .map(task_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((tasks, total))
}

/// Moves a task from one of `from` to `to`; false when it was in none of them.
pub(crate) async fn transition(
    store: &Store,
    id: &str,
    from: &[TaskStatus],
    to: TaskStatus,
    output: Option<&Value>,
) -> Result<bool, StoreError> {
    // Statuses are our own constants, never input, so they can be inlined.
    let allowed = from
        .iter()
        .map(|status| format!("'{}'", status.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "UPDATE scaffolder_tasks SET status = $1, updated_at = $2, output = COALESCE($3, output) WHERE id = $4 AND status IN ({allowed})"
    );
    let result = pave_store::query(sqlx::AssertSqlSafe(sql))
        .bind(to.as_str())
        .bind(format_time(now()))
        .bind(output.map(Value::to_string))
        .bind(id)
        .execute(store.pool())
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Marks tasks this server runs as alive.
pub(crate) async fn heartbeat(store: &Store, ids: &[String]) -> Result<(), StoreError> {
    let time = format_time(now());
    for id in ids {
        pave_store::query(
            "UPDATE scaffolder_tasks SET updated_at = $1 WHERE id = $2 AND status = 'processing'",
        )
        .bind(&time)
        .bind(id)
        .execute(store.pool())
        .await?;
    }
    Ok(())
}

/// Open or processing tasks not touched since `before` (all of them with
/// `None`).
pub(crate) async fn interrupted(
    store: &Store,
    before: Option<&str>,
) -> Result<Vec<TaskRecord>, StoreError> {
    let sql = format!(
        "SELECT {TASK_COLUMNS} FROM scaffolder_tasks WHERE status IN ('open', 'processing') AND updated_at < $1 ORDER BY created_at"
    );
    // Times are fixed-width RFC 3339 UTC text, so they compare as text.
    let rows = pave_store::query(sqlx::AssertSqlSafe(sql))
        .bind(before.unwrap_or("9999"))
        .fetch_all(store.pool())
        .await?;
    rows.iter().map(task_from_row).collect()
}

/// Statuses of the given tasks (to notice cancels made elsewhere).
pub(crate) async fn status(store: &Store, id: &str) -> Result<Option<TaskStatus>, StoreError> {
    let status: Option<String> =
        pave_store::query_scalar("SELECT status FROM scaffolder_tasks WHERE id = $1")
            .bind(id)
            .fetch_optional(store.pool())
            .await?;
    Ok(status.as_deref().map(TaskStatus::parse))
}

pub(crate) async fn append_event(
    store: &Store,
    task_id: &str,
    event_type: EventType,
    body: &Value,
) -> Result<i64, StoreError> {
    let id: i64 = pave_store::query_scalar(
        "INSERT INTO scaffolder_task_events (task_id, event_type, body, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(task_id)
    .bind(event_type.as_str())
    .bind(body.to_string())
    .bind(format_time(now()))
    .fetch_one(store.pool())
    .await?;
    Ok(id)
}

/// Events of a task after the event id `after` (all with `None`), in order,
/// at most `limit`.
pub(crate) async fn events(
    store: &Store,
    task_id: &str,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<TaskEvent>, StoreError> {
    let rows = pave_store::query(
        "SELECT id, task_id, event_type, body, created_at FROM scaffolder_task_events WHERE task_id = $1 AND id > $2 ORDER BY id LIMIT $3",
    )
    .bind(task_id)
    .bind(after.unwrap_or(0))
    .bind(limit)
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|row| {
            let text = |name: &str| row.try_get::<String, _>(name).map_err(StoreError::from);
            Ok(TaskEvent {
                id: row.try_get::<i64, _>("id").map_err(StoreError::from)?,
                task_id: text("task_id")?,
                event_type: EventType::parse(&text("event_type")?),
                body: serde_json::from_str(&text("body")?).unwrap_or(Value::Null),
                created_at: text("created_at")?,
            })
        })
        .collect()
}
