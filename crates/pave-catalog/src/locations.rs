//! Registered locations: registering, listing, removing, and refreshing
//! them (on demand and on a jittered interval).

use pave_catalog_model::EntityRef;
use pave_store::{RowExt, format_time, now};
use serde::Serialize;
use serde_json::Value;

use crate::{AbortOnDrop, Applied, Catalog, CatalogError, LocationSpec, Problem, ingest, persist};

/// A registered location, as the API shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LocationRecord {
    pub id: String,
    pub r#type: String,
    pub target: String,
    /// `config` or `api`.
    pub origin: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refreshed_at: Option<String>,
    /// Problems from the last refresh.
    pub errors: Vec<Problem>,
}

/// What registering a location produced.
#[derive(Debug, Clone, Serialize)]
pub struct Registered {
    pub location: LocationRecord,
    pub entities: Vec<Value>,
    /// True when the location was already registered.
    pub exists: bool,
}

fn location_from_row(row: &pave_store::Row) -> Result<LocationRecord, CatalogError> {
    let errors: String = row.try_get("errors")?;
    Ok(LocationRecord {
        id: row.try_get("id")?,
        r#type: row.try_get("type")?,
        target: row.try_get("target")?,
        origin: row.try_get("origin")?,
        refreshed_at: row.try_get("refreshed_at")?,
        errors: serde_json::from_str(&errors).unwrap_or_default(),
    })
}

/// Changed entities after which a refresh checkpoints SQLite's log.
const CHECKPOINT_AFTER_CHANGES: usize = 1000;

impl Catalog {
    /// Makes the stored config locations match the config: adds new ones,
    /// removes (with their entities) the ones no longer configured.
    pub async fn sync_config_locations(&self) -> Result<(), CatalogError> {
        let stored = self.locations().await?;
        for spec in &self.config.locations {
            if !stored
                .iter()
                .any(|l| l.r#type == spec.r#type && l.target == spec.target)
            {
                self.insert_location(spec, "config").await?;
            }
        }
        for location in stored.iter().filter(|l| l.origin == "config") {
            if !self
                .config
                .locations
                .iter()
                .any(|spec| spec.r#type == location.r#type && spec.target == location.target)
            {
                self.delete_location(&location.id).await?;
            }
        }
        Ok(())
    }

    async fn insert_location(
        &self,
        spec: &LocationSpec,
        origin: &str,
    ) -> Result<LocationRecord, CatalogError> {
        let id = uuid::Uuid::new_v4().to_string();
        pave_store::query(
            "INSERT INTO catalog_locations (id, type, target, origin, created_at, errors) VALUES ($1, $2, $3, $4, $5, '[]')",
        )
        .bind(&id)
        .bind(&spec.r#type)
        .bind(&spec.target)
        .bind(origin)
        .bind(format_time(now()))
        .execute(self.store.pool())
        .await?;
        self.location(&id).await
    }

    fn check_spec(spec: &LocationSpec) -> Result<(), CatalogError> {
        match spec.r#type.as_str() {
            "file" if !std::path::Path::new(&spec.target).is_absolute() => {
                Err(CatalogError::Input(format!(
                    "target `{}`: a file location needs an absolute path",
                    spec.target
                )))
            }
            "file" => Ok(()),
            "url" => pave_git::RepositoryPath::parse(&spec.target)
                .map(|_| ())
                .map_err(|error| CatalogError::Input(format!("target `{}`: {error}", spec.target))),
            other => Err(CatalogError::Input(format!(
                "type `{other}` is not a location type; use `file` or `url`"
            ))),
        }
    }

    /// Registers a location and ingests it at once. With `dry_run`, only
    /// reports what it would produce.
    pub async fn register(
        &self,
        spec: LocationSpec,
        dry_run: bool,
    ) -> Result<Registered, CatalogError> {
        Self::check_spec(&spec)?;
        let existing = self
            .locations()
            .await?
            .into_iter()
            .find(|l| l.r#type == spec.r#type && l.target == spec.target);
        if dry_run {
            let outcome = ingest::process(&self.reader, &spec, &self.config.rules).await;
            if let Some(problem) = outcome.problems.first()
                && outcome.entities.is_empty()
            {
                return Err(CatalogError::Input(problem.to_string()));
            }
            return Ok(Registered {
                location: existing.clone().unwrap_or(LocationRecord {
                    id: String::new(),
                    r#type: spec.r#type.clone(),
                    target: spec.target.clone(),
                    origin: "api".into(),
                    refreshed_at: None,
                    errors: outcome.problems.clone(),
                }),
                entities: outcome
                    .entities
                    .iter()
                    .map(|p| p.entity.raw.clone())
                    .collect(),
                exists: existing.is_some(),
            });
        }
        if let Some(location) = existing {
            return Err(CatalogError::Conflict(format!(
                "location {}:{} is already registered as {}",
                spec.r#type, spec.target, location.id
            )));
        }
        let location = self.insert_location(&spec, "api").await?;
        self.refresh_location(&location.id).await?;
        let location = self.location(&location.id).await?;
        let entities = self.entities_of_location(&location.id).await?;
        Ok(Registered {
            location,
            entities,
            exists: false,
        })
    }

    pub async fn locations(&self) -> Result<Vec<LocationRecord>, CatalogError> {
        let rows = pave_store::query(
            "SELECT id, type, target, origin, refreshed_at, errors FROM catalog_locations ORDER BY created_at, id",
        )
        .fetch_all(self.store.pool())
        .await?;
        rows.iter().map(location_from_row).collect()
    }

    pub async fn location(&self, id: &str) -> Result<LocationRecord, CatalogError> {
        let row = pave_store::query(
            "SELECT id, type, target, origin, refreshed_at, errors FROM catalog_locations WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.store.pool())
        .await?;
        match row {
            Some(row) => location_from_row(&row),
            None => Err(CatalogError::NotFound(format!(
                "location `{id}` does not exist"
            ))),
        }
    }

    /// The location that provides an entity.
    pub async fn location_of(&self, reference: &EntityRef) -> Result<LocationRecord, CatalogError> {
        let id = pave_store::query_scalar::<_, String>(
            "SELECT location_id FROM catalog_entities WHERE entity_ref = $1",
        )
        .bind(reference.to_string())
        .fetch_optional(self.store.pool())
        .await?
        .ok_or_else(|| CatalogError::NotFound(format!("entity {reference} does not exist")))?;
        self.location(&id).await
    }

    /// Removes a location and every entity it provides.
    pub async fn delete_location(&self, id: &str) -> Result<(), CatalogError> {
        let _guard = self.refreshing.lock().await;
        self.location(id).await?;
        let mut transaction = self.store.begin().await?;
        let ids: Vec<i64> =
            pave_store::query_scalar("SELECT id FROM catalog_entities WHERE location_id = $1")
                .bind(id)
                .fetch_all(&mut *transaction)
                .await?;
        persist::delete_ids(&mut transaction, self.store.backend(), &ids).await?;
        pave_store::query("DELETE FROM catalog_locations WHERE id = $1")
            .bind(id)
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(())
    }

    /// Reads a location again and applies what changed, in one transaction.
    pub async fn refresh_location(&self, id: &str) -> Result<Applied, CatalogError> {
        let _guard = self.refreshing.lock().await;
        let location = self.location(id).await?;
        let spec = LocationSpec {
            r#type: location.r#type.clone(),
            target: location.target.clone(),
        };
        let started = std::time::Instant::now();
        let origin = format!("{}:{}", spec.r#type, spec.target);
        // Reading and writing overlap: entities go to the open transaction
        // as they are read, so a large location never sits in memory whole.
        let mut writer =
            persist::Writer::begin(&self.store, id, &origin, self.config.orphan_strategy).await?;
        let (sender, mut receiver) = tokio::sync::mpsc::channel(1024);
        // Reading runs as its own task, so on a multi-core machine parsing
        // overlaps with preparing and writing rows. The guard stops it if
        // this refresh is dropped or fails first.
        let (reader, rules, root) = (self.reader.clone(), self.config.rules.clone(), spec.clone());
        let mut producer = AbortOnDrop(tokio::spawn(async move {
            let outcome = ingest::process_into(&reader, &root, &rules, Some(&sender)).await;
            drop(sender);
            outcome
        }));
        while let Some(processed) = receiver.recv().await {
            writer.add(processed).await?;
        }
        let outcome = match (&mut producer.0).await {
            Ok(outcome) => outcome,
            Err(error) => {
                return Err(CatalogError::Input(format!(
                    "reading location {origin} stopped: {error}"
                )));
            }
        };
        let processed = started.elapsed();
        let (applied, problems) = writer.finish(&outcome).await?;
        if applied.added + applied.updated + applied.deleted >= CHECKPOINT_AFTER_CHANGES
            && let Err(error) = self.store.checkpoint().await
        {
            tracing::warn!(%error, "checkpoint after a large refresh failed");
        }
        if !problems.is_empty() {
            tracing::warn!(location = %origin, problems = problems.len(), first = %problems[0], "location refreshed with problems");
        }
        tracing::debug!(
            location = %origin,
            ?applied,
            read_ms = processed.as_millis() as u64,
            total_ms = started.elapsed().as_millis() as u64,
            "location refreshed"
        );
        Ok(applied)
    }

    /// Refreshes every location once.
    pub async fn refresh_all(&self) -> Result<(), CatalogError> {
        for location in self.locations().await? {
            if let Err(error) = self.refresh_location(&location.id).await {
                tracing::warn!(%error, location = %location.target, "refresh failed");
            }
        }
        Ok(())
    }

    /// Refreshes the location that provides an entity.
    pub async fn refresh_entity(&self, reference: &EntityRef) -> Result<Applied, CatalogError> {
        let location = self.location_of(reference).await?;
        self.refresh_location(&location.id).await
    }

    /// Refreshes every location on a jittered interval until `stop` changes.
    pub async fn run_refresh_loop(&self, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            // A stop in the middle of a refresh drops it: its transaction
            // rolls back and the next start reads the location again.
            tokio::select! {
                result = self.refresh_all() => {
                    if let Err(error) = result {
                        tracing::warn!(%error, "catalog refresh failed");
                    }
                }
                _ = stop.changed() => return,
            }
            let base = self.config.refresh_interval;
            let jitter = base.mul_f64(rand::random::<f64>() * 0.5);
            tokio::select! {
                _ = tokio::time::sleep(base + jitter) => {}
                _ = stop.changed() => return,
            }
        }
    }

    async fn entities_of_location(&self, id: &str) -> Result<Vec<Value>, CatalogError> {
        let rows = pave_store::query(
            "SELECT e.body, e.entity_ref FROM catalog_entities e WHERE e.location_id = $1 ORDER BY e.entity_ref",
        )
        .bind(id)
        .fetch_all(self.store.pool())
        .await?;
        self.finish(rows, &[]).await
    }
}
