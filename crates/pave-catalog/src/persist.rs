//! Writing one root location's outcome in one transaction: new and changed
//! entities, conflicts, orphans, the last good version of broken entities,
//! relations and the flattened rows that queries use.

use std::collections::{BTreeMap, HashMap};

use pave_store::{Backend, RowExt, Store, StoreError, Transaction, format_time, now};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::AbortOnDrop;
use crate::ingest::{Outcome, Problem, Processed};
use crate::search;

/// The annotation Backstage sets on an orphaned entity.
pub const ORPHAN_ANNOTATION: &str = "backstage.io/orphan";
pub const MANAGED_BY_LOCATION: &str = "backstage.io/managed-by-location";
pub const MANAGED_BY_ORIGIN_LOCATION: &str = "backstage.io/managed-by-origin-location";

/// What happens to entities that vanish from their location.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrphanStrategy {
    /// Keep them, annotated `backstage.io/orphan: "true"`.
    Keep,
    /// Delete them (Backstage's current default).
    #[default]
    Delete,
}

/// What one refresh changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Applied {
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub orphaned: usize,
    pub deleted: usize,
    pub conflicts: usize,
}

struct Existing {
    id: i64,
    uid: String,
    location_key: String,
    hash: String,
    orphan: bool,
    errors: String,
}

/// Writes one root location's refresh in one transaction, entity by entity
/// as they are read (so memory does not grow with the location), then
/// settles what vanished when reading is done.
pub struct Writer<'a> {
    store: &'a Store,
    /// None while `in_flight` writes a batch with it.
    transaction: Option<Transaction>,
    /// The batch being written while the next one is prepared.
    in_flight: Option<AbortOnDrop<Result<Transaction, StoreError>>>,
    location_id: String,
    origin: String,
    strategy: OrphanStrategy,
    existing: HashMap<String, Existing>,
    /// Refs written (or kept unchanged) in this refresh, with their source.
    produced: HashMap<String, String>,
    /// Entities waiting for their conflict check and write.
    pending: Vec<Processed>,
    conflicts: Vec<Problem>,
    applied: Applied,
    at: String,
}

impl<'a> Writer<'a> {
    /// Opens the transaction and reads what the location provided before.
    pub async fn begin(
        store: &'a Store,
        location_id: &str,
        origin: &str,
        strategy: OrphanStrategy,
    ) -> Result<Writer<'a>, StoreError> {
        let mut transaction = store.begin().await?;
        // Replicas refreshing the same location take turns.
        store
            .lock_sequence(&mut transaction, lock_key(location_id))
            .await?;
        let existing = load_existing(&mut transaction, location_id).await?;
        Ok(Writer {
            store,
            transaction: Some(transaction),
            in_flight: None,
            location_id: location_id.to_string(),
            origin: origin.to_string(),
            strategy,
            existing,
            produced: HashMap::new(),
            pending: Vec::new(),
            conflicts: Vec::new(),
            applied: Applied::default(),
            at: format_time(now()),
        })
    }

    /// Takes one valid entity; rows are written in batches.
    pub async fn add(&mut self, processed: Processed) -> Result<(), StoreError> {
        self.pending.push(processed);
        if self.pending.len() >= ENTITIES_PER_FLUSH {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), StoreError> {
        let pending = std::mem::take(&mut self.pending);
        let new_refs: Vec<String> = pending
            .iter()
            .map(|processed| processed.entity.reference().to_string())
            .filter(|reference| !self.existing.contains_key(reference))
            .collect();
        let owned_elsewhere = owners_elsewhere(self.store, &new_refs, &self.location_id).await?;
        // Entities written here carry no errors: a document with problems
        // is never a processed entity.
        let errors = "[]";
        let mut batch = Batch::default();
        for processed in &pending {
            let reference = processed.entity.reference().to_string();
            if let Some(first) = self.produced.get(&reference) {
                self.conflicts
                    .push(conflict(&reference, &processed.location_key, first));
                self.applied.conflicts += 1;
                continue;
            }
            if let Some(owner) = owned_elsewhere.get(&reference) {
                self.conflicts
                    .push(conflict(&reference, &processed.location_key, owner));
                self.applied.conflicts += 1;
                continue;
            }
            self.produced
                .insert(reference.clone(), processed.location_key.clone());
            match self.existing.get(&reference) {
                Some(old)
                    if old.hash == processed.hash
                        && !old.orphan
                        && old.errors == errors
                        && old.location_key == processed.location_key =>
                {
                    self.applied.unchanged += 1;
                }
                Some(old) => {
                    batch.replaced.push(old.id);
                    batch.add(
                        Some(&old.uid),
                        processed,
                        &self.location_id,
                        &self.origin,
                        errors,
                        &self.at,
                    );
                    self.applied.updated += 1;
                }
                None => {
                    batch.add(
                        None,
                        processed,
                        &self.location_id,
                        &self.origin,
                        errors,
                        &self.at,
                    );
                    self.applied.added += 1;
                }
            }
        }
        // The batch is written by its own task while the next one is
        // prepared: preparing rows and SQLite's writing then overlap.
        self.transaction().await?;
        let mut transaction = self.transaction.take().ok_or_else(lost)?;
        let backend = self.store.backend();
        self.in_flight = Some(AbortOnDrop(tokio::spawn(async move {
            batch.write(&mut transaction, backend).await?;
            Ok(transaction)
        })));
        Ok(())
    }

    /// The transaction, once the batch being written (if any) is done.
    async fn transaction(&mut self) -> Result<&mut Transaction, StoreError> {
        if let Some(mut in_flight) = self.in_flight.take() {
            let transaction = (&mut in_flight.0).await.map_err(|_| lost())??;
            self.transaction = Some(transaction);
        }
        self.transaction.as_mut().ok_or_else(lost)
    }

    /// Settles what vanished (kept with errors when its file broke, else
    /// orphaned or deleted), records the location's problems and commits.
    /// Returns the counts and every problem, conflicts included.
    pub async fn finish(
        mut self,
        outcome: &Outcome,
    ) -> Result<(Applied, Vec<Problem>), StoreError> {
        self.flush().await?;
        self.transaction().await?;
        let mut transaction = self.transaction.take().ok_or_else(lost)?;
        let mut errors_by_ref: BTreeMap<String, Vec<&Problem>> = BTreeMap::new();
        for problem in &outcome.problems {
            if let Some(reference) = &problem.entity_ref {
                errors_by_ref
                    .entry(reference.clone())
                    .or_default()
                    .push(problem);
            }
        }
        let backend = self.store.backend();
        for (reference, old) in &self.existing {
            if self.produced.contains_key(reference) {
                continue;
            }
            let kept_because_broken = outcome.failed_sources.contains(&old.location_key)
                || outcome.broken_refs.contains(reference);
            if kept_because_broken {
                // The last good version stays; it carries the new errors.
                let mut items: Vec<&Problem> =
                    errors_by_ref.get(reference).cloned().unwrap_or_default();
                items.extend(outcome.problems.iter().filter(|problem| {
                    problem.location == old.location_key && problem.entity_ref.is_none()
                }));
                let errors = json!(items).to_string();
                if errors != old.errors {
                    set_errors(&mut transaction, old.id, &errors, &self.at).await?;
                }
                continue;
            }
            match self.strategy {
                OrphanStrategy::Delete => {
                    delete_ids(&mut transaction, backend, &[old.id]).await?;
                    self.applied.deleted += 1;
                }
                OrphanStrategy::Keep if !old.orphan => {
                    mark_orphan(&mut transaction, backend, old.id, &self.at).await?;
                    self.applied.orphaned += 1;
                }
                OrphanStrategy::Keep => {}
            }
        }
        bump_generation(&mut transaction).await?;
        let mut problems = outcome.problems.clone();
        problems.append(&mut self.conflicts);
        pave_store::query(
            "UPDATE catalog_locations SET refreshed_at = $1, errors = $2 WHERE id = $3",
        )
        .bind(&self.at)
        .bind(json!(problems).to_string())
        .bind(&self.location_id)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok((self.applied, problems))
    }
}

/// A batch's writing task died (it panicked or was aborted) and took the
/// transaction with it; the refresh rolls back.
fn lost() -> StoreError {
    StoreError::from(sqlx::Error::WorkerCrashed)
}

fn lock_key(location_id: &str) -> i64 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(location_id.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

fn conflict(reference: &str, claimant: &str, owner: &str) -> Problem {
    Problem {
        location: claimant.to_string(),
        line: None,
        column: None,
        message: format!(
            "conflict: {reference} is already provided by {owner}; the first location keeps it and nothing was overwritten"
        ),
        entity_ref: Some(reference.to_string()),
    }
}

async fn load_existing(
    transaction: &mut Transaction,
    location_id: &str,
) -> Result<HashMap<String, Existing>, StoreError> {
    let rows = pave_store::query(
        "SELECT id, uid, entity_ref, location_key, hash, orphan, errors FROM catalog_entities WHERE location_id = $1",
    )
    .bind(location_id)
    .fetch_all(&mut **transaction)
    .await?;
    let mut existing = HashMap::new();
    for row in rows {
        existing.insert(
            row.try_get::<String, _>("entity_ref")?,
            Existing {
                id: row.try_get("id")?,
                uid: row.try_get("uid")?,
                location_key: row.try_get("location_key")?,
                hash: row.try_get("hash")?,
                orphan: row.try_get::<i64, _>("orphan")? != 0,
                errors: row.try_get("errors")?,
            },
        );
    }
    Ok(existing)
}

/// Which of `references` another location already provides, and where from.
/// Read outside the refresh's transaction (a batch may be writing with it):
/// other locations' entities are committed, and refreshes of one location
/// take turns.
async fn owners_elsewhere(
    store: &Store,
    references: &[String],
    location_id: &str,
) -> Result<HashMap<String, String>, StoreError> {
    let mut owners = HashMap::new();
    for chunk in references.chunks(500) {
        let placeholders: Vec<String> = (2..chunk.len() + 2).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT entity_ref, location_key FROM catalog_entities WHERE location_id <> $1 AND entity_ref IN ({})",
            placeholders.join(", ")
        );
        let mut query = pave_store::query(sqlx::AssertSqlSafe(sql)).bind(location_id);
        for reference in chunk {
            query = query.bind(reference);
        }
        for row in query.fetch_all(store.pool()).await? {
            owners.insert(row.try_get("entity_ref")?, row.try_get("location_key")?);
        }
    }
    Ok(owners)
}

/// The stored body: the document plus what the catalog adds.
fn body(
    processed: &Processed,
    uid: &str,
    etag: &str,
    origin: &str,
    errors: &str,
    orphan: bool,
) -> Value {
    let mut body = processed.entity.raw.clone();
    let namespace = processed.entity.metadata.namespace.clone();
    if let Some(metadata) = body.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.insert("uid".into(), json!(uid));
        metadata.insert("etag".into(), json!(etag));
        metadata.insert("namespace".into(), json!(namespace));
        let annotations = metadata.entry("annotations").or_insert_with(|| json!({}));
        if let Some(annotations) = annotations.as_object_mut() {
            annotations.insert(MANAGED_BY_LOCATION.into(), json!(processed.location_key));
            annotations.insert(MANAGED_BY_ORIGIN_LOCATION.into(), json!(origin));
            if !annotations.contains_key(crate::source::SOURCE_LOCATION)
                && let Some(source) = crate::source::source_location_of(&processed.location_key)
            {
                annotations.insert(crate::source::SOURCE_LOCATION.into(), json!(source));
            }
            if orphan {
                annotations.insert(ORPHAN_ANNOTATION.into(), json!("true"));
            } else {
                annotations.remove(ORPHAN_ANNOTATION);
            }
        }
    }
    set_status(&mut body, errors);
    body
}

/// Writes `errors` (a JSON list of problems) as Backstage's `status.items`.
fn set_status(body: &mut Value, errors: &str) {
    let items: Vec<Value> = serde_json::from_str::<Vec<Problem>>(errors)
        .unwrap_or_default()
        .into_iter()
        .map(|problem| {
            json!({
                "type": "backstage.io/catalog-processing",
                "level": "error",
                "message": problem.to_string(),
                "error": {"name": "InputError", "message": problem.message},
            })
        })
        .collect();
    if let Some(object) = body.as_object_mut() {
        if items.is_empty() {
            object.remove("status");
        } else {
            object.insert("status".into(), json!({ "items": items }));
        }
    }
}

/// Rows to write in one go: multi-row statements instead of one statement
/// per row keep a 100k-entity refresh to seconds.
#[derive(Default)]
struct Batch {
    /// Ids of entities being replaced: their old rows go first.
    replaced: Vec<i64>,
    /// uid, ref, kind, namespace, name, location_id, location_key, body, hash, etag, errors, updated_at
    entities: Vec<[String; 12]>,
    /// What each entity's rows derive, keyed by uid until its id is known.
    derived: HashMap<String, Derived>,
}

/// The relations, search rows and text of one entity.
struct Derived {
    /// source, type, target
    relations: Vec<[String; 3]>,
    search: Vec<search::Row>,
    text: String,
}

/// Entities gathered before their rows are written.
const ENTITIES_PER_FLUSH: usize = 2000;
/// Rows per JSON-unpacking statement.
const JSON_ROWS_PER_STATEMENT: usize = 5000;

impl Batch {
    fn add(
        &mut self,
        uid: Option<&str>,
        processed: &Processed,
        location_id: &str,
        origin: &str,
        errors: &str,
        at: &str,
    ) {
        let uid = uid
            .map(str::to_string)
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        // Time-ordered (v7) uids and etags land at the end of their indexes
        // (the uid index and the search rows' `(key, value)` index): random
        // ones were inserts at random places in indexes of hundreds of
        // megabytes. Both stay opaque to clients, as in Backstage.
        let etag = hex::encode(uuid::Uuid::now_v7().as_bytes());
        let reference = processed.entity.reference();
        let body = body(processed, &uid, &etag, origin, errors, false);
        let relations = processed
            .entity
            .relations()
            .into_iter()
            .map(|relation| {
                [
                    relation.source.to_string(),
                    relation.r#type.to_string(),
                    relation.target.to_string(),
                ]
            })
            .collect();
        self.derived.insert(
            uid.clone(),
            Derived {
                relations,
                search: search::flatten(&body),
                text: search::text(&body),
            },
        );
        self.entities.push([
            uid,
            reference.to_string(),
            reference.kind.clone(),
            reference.namespace.clone(),
            reference.name.clone(),
            location_id.to_string(),
            processed.location_key.clone(),
            body.to_string(),
            processed.hash.clone(),
            etag,
            errors.to_string(),
            at.to_string(),
        ]);
    }

    async fn write(
        mut self,
        transaction: &mut Transaction,
        backend: Backend,
    ) -> Result<(), StoreError> {
        delete_ids(transaction, backend, &self.replaced).await?;
        let mut relations: Vec<(i64, &str, &str, &str)> = Vec::new();
        let mut rows: Vec<SearchRow> = Vec::new();
        let mut texts: Vec<(i64, String)> = Vec::new();
        let assigned = insert_json(
            transaction,
            backend,
            "catalog_entities (uid, entity_ref, kind, namespace, name, location_id, location_key, body, hash, etag, errors, updated_at, orphan)",
            Columns::text(12),
            ", 0",
            "RETURNING id, uid",
            &self.entities,
        )
        .await?;
        let mut ids: Vec<(i64, Derived)> = Vec::with_capacity(assigned.len());
        for row in assigned {
            let uid: String = row.try_get("uid")?;
            if let Some(derived) = self.derived.remove(&uid) {
                ids.push((row.try_get("id")?, derived));
            }
        }
        for (id, derived) in &mut ids {
            for [source, kind, target] in &derived.relations {
                relations.push((*id, source, kind, target));
            }
            rows.extend(search_rows(*id, std::mem::take(&mut derived.search)));
            texts.push((*id, std::mem::take(&mut derived.text)));
        }
        insert_json(
            transaction,
            backend,
            "catalog_relations (origin_id, source_ref, type, target_ref)",
            Columns::integer_then_text(4),
            "",
            "",
            &relations,
        )
        .await?;
        insert_json(
            transaction,
            backend,
            SEARCH_COLUMNS,
            Columns::integer_then_text(4),
            "",
            "",
            &rows,
        )
        .await?;
        insert_json(
            transaction,
            backend,
            text_columns(backend),
            Columns::integer_then_text(2),
            "",
            "",
            &texts,
        )
        .await?;
        Ok(())
    }
}

const SEARCH_COLUMNS: &str = "catalog_search (entity_id, key, value, original)";

/// entity id, key, value, original (None when it equals value).
type SearchRow = (i64, String, Option<String>, Option<String>);

fn search_rows(id: i64, rows: Vec<search::Row>) -> impl Iterator<Item = SearchRow> {
    rows.into_iter().map(move |row| {
        let original = row
            .original
            .filter(|original| Some(original) != row.value.as_ref());
        (id, row.key, row.value, original)
    })
}

/// The text table keys on SQLite's rowid (FTS5) and on a column in PostgreSQL.
fn text_key(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "rowid",
        Backend::Postgres => "entity_id",
    }
}

fn text_columns(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "catalog_text (rowid, text)",
        Backend::Postgres => "catalog_text (entity_id, text)",
    }
}

/// Which JSON positions hold integers (PostgreSQL needs them cast).
struct Columns {
    count: usize,
    integers: usize,
}

impl Columns {
    fn text(count: usize) -> Columns {
        Columns { count, integers: 0 }
    }

    /// The first column an integer (an entity id), the rest text.
    fn integer_then_text(count: usize) -> Columns {
        Columns { count, integers: 1 }
    }
}

/// Inserts rows given as JSON arrays, many per statement, through one bound
/// JSON parameter that the database unpacks itself (`json_each` on SQLite,
/// `json_array_elements` on PostgreSQL): far cheaper than binding every
/// value. Returns what `returning` asks for, from every statement.
async fn insert_json(
    transaction: &mut Transaction,
    backend: Backend,
    table_and_columns: &str,
    columns: Columns,
    constants: &str,
    returning: &str,
    rows: &[impl serde::Serialize],
) -> Result<Vec<pave_store::Row>, StoreError> {
    let values: Vec<String> = (0..columns.count)
        .map(|index| match backend {
            Backend::Sqlite => format!("json_extract(j.value, '$[{index}]')"),
            Backend::Postgres if index < columns.integers => format!("(j.value->>{index})::bigint"),
            Backend::Postgres => format!("j.value->>{index}"),
        })
        .collect();
    let source = match backend {
        Backend::Sqlite => "json_each($1) AS j",
        Backend::Postgres => "json_array_elements($1::json) AS j(value)",
    };
    let sql = format!(
        "INSERT INTO {table_and_columns} SELECT {}{constants} FROM {source} {returning}",
        values.join(", ")
    );
    let mut returned = Vec::new();
    for chunk in rows.chunks(JSON_ROWS_PER_STATEMENT) {
        let statement = pave_store::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(serde_json::to_string(chunk).unwrap_or_else(|_| "[]".into()));
        if returning.is_empty() {
            statement.execute(&mut **transaction).await?;
        } else {
            returned.extend(statement.fetch_all(&mut **transaction).await?);
        }
    }
    Ok(returned)
}

async fn write_search(
    transaction: &mut Transaction,
    backend: Backend,
    id: i64,
    body: &Value,
) -> Result<(), StoreError> {
    pave_store::query("DELETE FROM catalog_search WHERE entity_id = $1")
        .bind(id)
        .execute(&mut **transaction)
        .await?;
    let rows: Vec<SearchRow> = search_rows(id, search::flatten(body)).collect();
    insert_json(
        transaction,
        backend,
        SEARCH_COLUMNS,
        Columns::integer_then_text(4),
        "",
        "",
        &rows,
    )
    .await?;
    Ok(())
}

/// The stored body of an entity, for the updates that change it in place.
async fn stored_body(transaction: &mut Transaction, id: i64) -> Result<Value, StoreError> {
    let stored =
        pave_store::query_scalar::<_, String>("SELECT body FROM catalog_entities WHERE id = $1")
            .bind(id)
            .fetch_one(&mut **transaction)
            .await?;
    Ok(serde_json::from_str(&stored).unwrap_or(Value::Null))
}

async fn set_errors(
    transaction: &mut Transaction,
    id: i64,
    errors: &str,
    at: &str,
) -> Result<(), StoreError> {
    let mut body = stored_body(transaction, id).await?;
    set_status(&mut body, errors);
    pave_store::query(
        "UPDATE catalog_entities SET body = $1, errors = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(body.to_string())
    .bind(errors)
    .bind(at)
    .bind(id)
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

async fn mark_orphan(
    transaction: &mut Transaction,
    backend: Backend,
    id: i64,
    at: &str,
) -> Result<(), StoreError> {
    let mut body = stored_body(transaction, id).await?;
    if let Some(annotations) = body
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        annotations.insert(ORPHAN_ANNOTATION.into(), json!("true"));
    }
    pave_store::query(
        "UPDATE catalog_entities SET body = $1, orphan = 1, updated_at = $2 WHERE id = $3",
    )
    .bind(body.to_string())
    .bind(at)
    .bind(id)
    .execute(&mut **transaction)
    .await?;
    write_search(transaction, backend, id, &body).await
}

/// Marks the catalog changed (see `catalog_generation`). Every transaction
/// that writes entities calls it; a refresh always does, changed or not,
/// which costs readers one re-read per refresh and keeps this simple.
pub(crate) async fn bump_generation(transaction: &mut Transaction) -> Result<(), StoreError> {
    pave_store::query("UPDATE catalog_generation SET value = value + 1 WHERE id = 1")
        .execute(&mut **transaction)
        .await?;
    Ok(())
}

/// Deletes entities with their relations, search rows and text.
pub(crate) async fn delete_ids(
    transaction: &mut Transaction,
    backend: Backend,
    ids: &[i64],
) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    bump_generation(transaction).await?;
    let text = format!("DELETE FROM catalog_text WHERE {} IN", text_key(backend));
    for chunk in ids.chunks(JSON_ROWS_PER_STATEMENT) {
        let list = chunk
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        for table in [
            "DELETE FROM catalog_search WHERE entity_id IN",
            "DELETE FROM catalog_relations WHERE origin_id IN",
            text.as_str(),
            "DELETE FROM catalog_entities WHERE id IN",
        ] {
            // The list is integers this module formatted, never input.
            pave_store::query(sqlx::AssertSqlSafe(format!("{table} ({list})")))
                .execute(&mut **transaction)
                .await?;
        }
    }
    Ok(())
}

/// Deletes an entity (by uid) with its relations, search rows and text.
pub async fn delete_entity(
    transaction: &mut Transaction,
    backend: Backend,
    uid: &str,
) -> Result<(), StoreError> {
    let id = pave_store::query_scalar::<_, i64>("SELECT id FROM catalog_entities WHERE uid = $1")
        .bind(uid)
        .fetch_optional(&mut **transaction)
        .await?;
    match id {
        Some(id) => delete_ids(transaction, backend, &[id]).await,
        None => Ok(()),
    }
}
