//! The audit log: append-only, hash-chained events for every mutation and
//! every refused request.
//!
//! Each event stores the hash of the one before it and a hash of its own
//! content, and sequence numbers have no gaps, so altering or removing a row
//! breaks the chain at that row. The head of the chain (last sequence number
//! and hash) is also kept in `settings`, so removing the newest events shows.

use pave_store::{RowExt, Store, Transaction, format_time, now, parse_time};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::AccessError;

/// The `prev_hash` of the first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Advisory lock key that serializes appenders on PostgreSQL ("PAVEAUDT").
const AUDIT_LOCK_KEY: i64 = 0x5041_5645_4155_4454;

const HEAD_KEY: &str = "audit.head";

/// The most events one page returns.
pub const MAX_PAGE_SIZE: u32 = 500;

/// How an audited request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The change was made.
    Success,
    /// The caller was known but not allowed.
    Denied,
    /// The caller had no valid token.
    Unauthenticated,
    /// The caller was allowed but the change failed (bad input, conflict…).
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Denied => "denied",
            Outcome::Unauthenticated => "unauthenticated",
            Outcome::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Outcome> {
        [
            Outcome::Success,
            Outcome::Denied,
            Outcome::Unauthenticated,
            Outcome::Failed,
        ]
        .into_iter()
        .find(|outcome| outcome.as_str() == text)
    }
}

/// What to record; the log adds time, sequence and hashes.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub principal: String,
    pub action: String,
    pub resource: String,
    pub outcome: Outcome,
    pub request_id: Option<String>,
    /// Anything else worth keeping (never a secret).
    pub detail: serde_json::Value,
}

/// One recorded event.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    pub seq: i64,
    pub id: String,
    pub time: String,
    pub principal: String,
    pub action: String,
    pub resource: String,
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    pub detail: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

/// Filters for listing events; all optional and combined with AND.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuditFilter {
    pub principal: Option<String>,
    pub action: Option<String>,
    pub resource: Option<String>,
    pub outcome: Option<String>,
    pub request_id: Option<String>,
    /// Only events at or after this RFC 3339 time.
    pub since: Option<String>,
    /// Only events before this RFC 3339 time.
    pub until: Option<String>,
    /// The `nextCursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 500 (default 50).
    pub limit: Option<u32>,
}

/// One page of events, newest first.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditPage {
    pub items: Vec<AuditEvent>,
    /// Pass as `cursor` to get the next (older) page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// What `verify` found.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyReport {
    pub intact: bool,
    /// How many events were checked.
    pub checked: u64,
    /// The first problem, when the chain is broken.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<ChainProblem>,
}

/// Where the chain breaks and how.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainProblem {
    /// The sequence number of the first event that was altered or removed.
    pub seq: i64,
    /// The id of that event, when it is still there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `altered` or `removed`.
    pub kind: String,
    pub message: String,
}

/// Appends an event inside `transaction`, so that a change and its audit
/// event commit (or roll back) together.
pub async fn append(
    store: &Store,
    transaction: &mut Transaction,
    event: NewEvent,
) -> Result<AuditEvent, AccessError> {
    store.lock_sequence(transaction, AUDIT_LOCK_KEY).await?;
    let last = pave_store::query("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
        .fetch_optional(&mut **transaction)
        .await
        .map_err(pave_store::StoreError::from)?;
    let (seq, prev_hash) = match last {
        Some(row) => (
            row.try_get::<i64, _>("seq")
                .map_err(pave_store::StoreError::from)?
                + 1,
            row.try_get::<String, _>("hash")
                .map_err(pave_store::StoreError::from)?,
        ),
        None => (1, GENESIS_HASH.to_string()),
    };
    let detail = serde_json::to_string(&event.detail).unwrap_or_else(|_| "null".into());
    let mut record = AuditEvent {
        seq,
        id: uuid::Uuid::now_v7().to_string(),
        time: format_time(now()),
        principal: event.principal,
        action: event.action,
        resource: event.resource,
        outcome: event.outcome.as_str().to_string(),
        request_id: event.request_id,
        detail: event.detail,
        prev_hash,
        hash: String::new(),
    };
    record.hash = content_hash(&record, &detail);
    pave_store::query(
        "INSERT INTO audit_events (seq, id, time, principal, action, resource, outcome, request_id, detail, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(record.seq)
    .bind(&record.id)
    .bind(&record.time)
    .bind(&record.principal)
    .bind(&record.action)
    .bind(&record.resource)
    .bind(&record.outcome)
    .bind(&record.request_id)
    .bind(&detail)
    .bind(&record.prev_hash)
    .bind(&record.hash)
    .execute(&mut **transaction)
    .await
    .map_err(pave_store::StoreError::from)?;
    pave_store::query(
        "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )
    .bind(HEAD_KEY)
    .bind(format!("{}:{}", record.seq, record.hash))
    .bind(&record.time)
    .execute(&mut **transaction)
    .await
    .map_err(pave_store::StoreError::from)?;
    Ok(record)
}

/// Records an event in a transaction of its own (for refused requests and
/// other events that go with no change).
pub async fn record(store: &Store, event: NewEvent) -> Result<AuditEvent, AccessError> {
    let mut transaction = store.begin().await?;
    let recorded = append(store, &mut transaction, event).await?;
    transaction
        .commit()
        .await
        .map_err(pave_store::StoreError::from)?;
    Ok(recorded)
}

/// The hash of an event's content and its link to the previous event.
fn content_hash(event: &AuditEvent, detail: &str) -> String {
    let fields = serde_json::json!([
        event.seq,
        event.id,
        event.time,
        event.principal,
        event.action,
        event.resource,
        event.outcome,
        event.request_id,
        detail,
        event.prev_hash,
    ]);
    hex::encode(Sha256::digest(fields.to_string().as_bytes()))
}

const COLUMNS: &str =
    "seq, id, time, principal, action, resource, outcome, request_id, detail, prev_hash, hash";

fn from_row(row: &pave_store::Row) -> Result<(AuditEvent, String), AccessError> {
    let get = |name: &str| -> Result<String, AccessError> {
        row.try_get::<String, _>(name)
            .map_err(|error| AccessError::Store(error.into()))
    };
    let detail_text = get("detail")?;
    let event = AuditEvent {
        seq: row
            .try_get::<i64, _>("seq")
            .map_err(|error| AccessError::Store(error.into()))?,
        id: get("id")?,
        time: get("time")?,
        principal: get("principal")?,
        action: get("action")?,
        resource: get("resource")?,
        outcome: get("outcome")?,
        request_id: row
            .try_get::<Option<String>, _>("request_id")
            .map_err(|error| AccessError::Store(error.into()))?,
        detail: serde_json::from_str(&detail_text).unwrap_or(serde_json::Value::Null),
        prev_hash: get("prev_hash")?,
        hash: get("hash")?,
    };
    Ok((event, detail_text))
}

/// Lists events, newest first, with filters and cursor paging.
pub async fn list(store: &Store, filter: &AuditFilter) -> Result<AuditPage, AccessError> {
    let limit = filter.limit.unwrap_or(50);
    if !(1..=MAX_PAGE_SIZE).contains(&limit) {
        return Err(AccessError::Input(format!(
            "limit must be between 1 and {MAX_PAGE_SIZE}, not {limit}"
        )));
    }
    let mut conditions: Vec<String> = Vec::new();
    let mut values: Vec<String> = Vec::new();
    let mut add = |condition: &str, value: String| {
        values.push(value);
        conditions.push(condition.replace('?', &format!("${}", values.len())));
    };
    for (column, value) in [
        ("principal", &filter.principal),
        ("action", &filter.action),
        ("resource", &filter.resource),
        ("request_id", &filter.request_id),
    ] {
        if let Some(value) = value {
            add(&format!("{column} = ?"), value.clone());
        }
    }
    if let Some(outcome) = &filter.outcome {
        if Outcome::parse(outcome).is_none() {
            return Err(AccessError::Input(format!(
                "outcome `{outcome}` is unknown: use success, denied, unauthenticated or failed"
            )));
        }
        add("outcome = ?", outcome.clone());
    }
    for (name, condition, value) in [
        ("since", "time >= ?", &filter.since),
        ("until", "time < ?", &filter.until),
    ] {
        if let Some(value) = value {
            let time = parse_time(value).map_err(|error| {
                AccessError::Input(format!(
                    "{name} `{value}` is not an RFC 3339 time such as 2026-11-23T20:00:00Z: {error}"
                ))
            })?;
            add(condition, format_time(time));
        }
    }
    if let Some(text) = &filter.cursor {
        let seq = text.parse::<i64>().ok().filter(|seq| *seq > 0).ok_or_else(|| {
            AccessError::Input(format!(
                "cursor `{text}` is not one this server gave out; use the nextCursor of the previous page"
            ))
        })?;
        // A parsed integer, so it is safe to write into the SQL.
        conditions.push(format!("seq < {seq}"));
    }
    let mut sql = format!("SELECT {COLUMNS} FROM audit_events");
    if !conditions.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conditions.join(" AND "));
    }
    sql.push_str(&format!(" ORDER BY seq DESC LIMIT {}", limit + 1));
    let mut query = pave_store::query(sqlx::AssertSqlSafe(sql));
    for value in values {
        query = query.bind(value);
    }
    let rows = query
        .fetch_all(store.pool())
        .await
        .map_err(pave_store::StoreError::from)?;
    let mut items = rows
        .iter()
        .map(|row| from_row(row).map(|(event, _)| event))
        .collect::<Result<Vec<_>, _>>()?;
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|event| event.seq.to_string())
    } else {
        None
    };
    Ok(AuditPage { items, next_cursor })
}

/// Walks the whole chain from the first event and reports the first event
/// that was altered or removed.
pub async fn verify(store: &Store) -> Result<VerifyReport, AccessError> {
    const BATCH: i64 = 1000;
    let mut expected_seq = 1;
    let mut expected_prev = GENESIS_HASH.to_string();
    let mut checked = 0u64;
    let broken = |checked, problem| {
        Ok(VerifyReport {
            intact: false,
            checked,
            problem: Some(problem),
        })
    };
    loop {
        let rows = pave_store::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM audit_events WHERE seq >= $1 ORDER BY seq LIMIT {BATCH}"
        )))
        .bind(expected_seq)
        .fetch_all(store.pool())
        .await
        .map_err(pave_store::StoreError::from)?;
        let done = (rows.len() as i64) < BATCH;
        for row in &rows {
            let (event, detail) = from_row(row)?;
            if event.seq != expected_seq {
                return broken(
                    checked,
                    ChainProblem {
                        seq: expected_seq,
                        id: None,
                        kind: "removed".into(),
                        message: format!(
                            "event {expected_seq} was removed: the log jumps from event {} to event {}",
                            expected_seq - 1,
                            event.seq
                        ),
                    },
                );
            }
            if content_hash(&event, &detail) != event.hash {
                return broken(
                    checked,
                    ChainProblem {
                        seq: event.seq,
                        id: Some(event.id.clone()),
                        kind: "altered".into(),
                        message: format!(
                            "event {} ({}) was altered: its content no longer matches its hash",
                            event.seq, event.id
                        ),
                    },
                );
            }
            if event.prev_hash != expected_prev {
                return broken(
                    checked,
                    ChainProblem {
                        seq: event.seq,
                        id: Some(event.id.clone()),
                        kind: "altered".into(),
                        message: format!(
                            "event {} ({}) does not link to event {}: one of them was altered",
                            event.seq,
                            event.id,
                            event.seq - 1
                        ),
                    },
                );
            }
            expected_prev = event.hash;
            expected_seq += 1;
            checked += 1;
        }
        if done {
            break;
        }
    }
    let head = pave_store::query_scalar::<_, String>("SELECT value FROM settings WHERE key = $1")
        .bind(HEAD_KEY)
        .fetch_optional(store.pool())
        .await
        .map_err(pave_store::StoreError::from)?;
    let last_seq = expected_seq - 1;
    if let Some(head) = head {
        let (head_seq, head_hash) = head.split_once(':').unwrap_or(("0", ""));
        let head_seq = head_seq.parse::<i64>().unwrap_or(0);
        if head_seq > last_seq {
            return broken(
                checked,
                ChainProblem {
                    seq: last_seq + 1,
                    id: None,
                    kind: "removed".into(),
                    message: format!(
                        "event {} was removed: the log ends at event {last_seq} but its head is event {head_seq}",
                        last_seq + 1
                    ),
                },
            );
        }
        if head_seq == last_seq && head_hash != expected_prev {
            return broken(
                checked,
                ChainProblem {
                    seq: last_seq,
                    id: None,
                    kind: "altered".into(),
                    message: format!(
                        "event {last_seq} was altered: its hash does not match the recorded head of the log"
                    ),
                },
            );
        }
    }
    Ok(VerifyReport {
        intact: true,
        checked,
        problem: None,
    })
}
