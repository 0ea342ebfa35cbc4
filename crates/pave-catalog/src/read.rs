//! Reading the catalog: entities by name, uid and refs, Backstage's list and
//! by-query with filters, paging and per-entity visibility, facets, ranked
//! search, and the groups a user is in.

use std::collections::BTreeMap;

use pave_catalog_model::EntityRef;
use pave_store::RowExt;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::postings::{self, FullText, Matches};
use crate::{
    Catalog, CatalogError, DEFAULT_FULL_TEXT_FIELDS, Filter, Order, persist, query, rank, search,
};
use pave_store::Backend;

/// One page of `by-query` results.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryPage {
    pub items: Vec<Value>,
    pub total_items: u64,
    pub page_info: PageInfo,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prev_cursor: Option<String>,
}

/// A `by-query` request; a cursor, when given, replaces everything else.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryRequest {
    pub filter: Vec<String>,
    pub fields: Vec<String>,
    pub limit: Option<u32>,
    pub offset: Option<u64>,
    pub orders: Vec<Order>,
    pub full_text_term: Option<String>,
    pub full_text_fields: Vec<String>,
}

/// Decides per entity whether the caller may see it; None means all.
pub type Visible<'a> = Option<&'a (dyn Fn(&Value) -> bool + Send + Sync)>;

/// Ranked search hits and facet counts.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchResults {
    /// `{score, entity}`, best first.
    pub items: Vec<Value>,
    pub total_items: u64,
    /// True when more entities matched than were ranked.
    pub truncated: bool,
    /// Value counts of kind, type, owner, lifecycle and tags among the hits.
    pub facets: BTreeMap<String, Vec<Value>>,
}

/// The facets search results count.
pub const SEARCH_FACETS: &[&str] = &[
    "kind",
    "spec.type",
    "spec.owner",
    "spec.lifecycle",
    "metadata.tags",
];

/// The most entities one search ranks.
pub const MAX_SEARCH_CANDIDATES: usize = 5000;

/// From this many matching ids on, a page in the default order walks the
/// entity_ref index rather than sorting the matches (SQLite).
const ORDERED_WALK_FROM: usize = 2000;

/// The largest page any list returns.
pub const MAX_LIMIT: u32 = 1000;

/// `{value, count}` for each value of `key` among `bodies`, most common first.
fn count_values(bodies: &[Value], key: &str) -> Vec<Value> {
    let mut counts: BTreeMap<String, i64> = BTreeMap::new();
    for body in bodies {
        let mut values: Vec<String> = search::flatten(body)
            .into_iter()
            .filter(|row| row.key == key)
            .filter_map(|row| row.original)
            .collect();
        values.sort();
        values.dedup();
        for value in values {
            *counts.entry(value).or_default() += 1;
        }
    }
    let mut counts: Vec<(String, i64)> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    counts
        .into_iter()
        .map(|(value, count)| json!({"value": value, "count": count}))
        .collect()
}

/// A `by-query` page with cursors that reproduce the request at other offsets.
fn page_of(
    request: &QueryRequest,
    items: Vec<Value>,
    total: u64,
    offset: u64,
    limit: u32,
) -> QueryPage {
    let cursor_at = |offset: u64| {
        let mut next = request.clone();
        next.offset = Some(offset);
        next.limit = Some(limit);
        encode_cursor(&next)
    };
    let next_cursor =
        (offset + u64::from(limit) < total).then(|| cursor_at(offset + u64::from(limit)));
    let prev_cursor = (offset > 0).then(|| cursor_at(offset.saturating_sub(u64::from(limit))));
    QueryPage {
        items,
        total_items: total,
        page_info: PageInfo {
            next_cursor,
            prev_cursor,
        },
    }
}

fn parse_rows(rows: &[pave_store::Row]) -> Result<Vec<(Value, String)>, CatalogError> {
    rows.iter()
        .map(|row| {
            let body: String = row.try_get("body")?;
            let reference: String = row.try_get("entity_ref")?;
            Ok((
                serde_json::from_str(&body).unwrap_or(Value::Null),
                reference,
            ))
        })
        .collect()
}

/// Cursors are the whole request, so a page is reproducible (as Backstage's are).
fn encode_cursor(request: &QueryRequest) -> String {
    hex::encode(serde_json::to_vec(request).unwrap_or_default())
}

/// What Cedar needs to know of a stored entity: its ref, kind, namespace,
/// name, owner, system, lifecycle, type and tags, with references in their
/// full lower-case form.
pub fn attributes(entity: &Value) -> pave_access::EntityAttributes {
    let text = |pointer: &str| {
        entity
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or("")
    };
    let kind = text("/kind").to_lowercase();
    let namespace = match text("/metadata/namespace") {
        "" => "default".to_string(),
        namespace => namespace.to_lowercase(),
    };
    let name = text("/metadata/name").to_lowercase();
    let reference = |pointer: &str, default_kind: &str| {
        pave_catalog_model::parse_ref(text(pointer), Some(default_kind), &namespace)
            .map(|reference| reference.to_string())
            .unwrap_or_default()
    };
    pave_access::EntityAttributes {
        reference: format!("{kind}:{namespace}/{name}"),
        owner: reference("/spec/owner", "group"),
        system: reference("/spec/system", "system"),
        lifecycle: text("/spec/lifecycle").to_string(),
        r#type: text("/spec/type").to_string(),
        tags: entity
            .pointer("/metadata/tags")
            .and_then(Value::as_array)
            .map(|tags| {
                tags.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        kind,
        namespace: namespace.clone(),
        name,
    }
}

/// Reads a cursor this server gave out.
pub fn decode_cursor(cursor: &str) -> Result<QueryRequest, CatalogError> {
    hex::decode(cursor)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| {
            CatalogError::Input(format!("cursor `{cursor}` is not one this server gave out"))
        })
}

impl Catalog {
    /// The groups a user is in according to the catalog: the groups its User
    /// entity is a member of, and their parent groups up the tree.
    pub async fn groups_of(&self, user: &str) -> Result<Vec<String>, CatalogError> {
        const MAX_DEPTH: usize = 32;
        let mut found: Vec<String> = pave_store::query_scalar(
            "SELECT DISTINCT target_ref FROM catalog_relations WHERE source_ref = $1 AND type = $2",
        )
        .bind(user)
        .bind(pave_catalog_model::relation::MEMBER_OF)
        .fetch_all(self.store.pool())
        .await?;
        let mut frontier = found.clone();
        for _ in 0..MAX_DEPTH {
            let mut next = Vec::new();
            for group in &frontier {
                let parents: Vec<String> = pave_store::query_scalar(
                    "SELECT DISTINCT target_ref FROM catalog_relations WHERE source_ref = $1 AND type = $2",
                )
                .bind(group)
                .bind(pave_catalog_model::relation::CHILD_OF)
                .fetch_all(self.store.pool())
                .await?;
                for parent in parents {
                    if !found.contains(&parent) {
                        found.push(parent.clone());
                        next.push(parent);
                    }
                }
            }
            if next.is_empty() {
                break;
            }
            frontier = next;
        }
        found.sort();
        Ok(found)
    }

    /// Ranked search: entities in which every word of `term` appears in a
    /// searched field (name, title, description, tags, owner, type, kind),
    /// best first, with facet counts over all hits the caller may read.
    pub async fn search(
        &self,
        term: &str,
        filter: &Filter,
        limit: u32,
        visible: Visible<'_>,
    ) -> Result<SearchResults, CatalogError> {
        let words = rank::words(term);
        if words.is_empty() {
            return Err(CatalogError::Input(
                "term: give at least one word to search for".into(),
            ));
        }
        let fields: Vec<String> = DEFAULT_FULL_TEXT_FIELDS
            .iter()
            .map(|f| f.to_string())
            .collect();
        let full_text = FullText {
            terms: &words,
            fields: &fields,
        };
        let matches = postings::matching(&self.store, &self.lists, filter, Some(full_text)).await?;
        let truncated = match &matches {
            Matches::Ids(ids) => ids.len() > MAX_SEARCH_CANDIDATES,
            Matches::All => true,
        };
        let ranked = u32::try_from(MAX_SEARCH_CANDIDATES).unwrap_or(u32::MAX);
        let candidates = parse_rows(&self.rows(&matches, &[], Some((ranked, 0))).await?)?;
        let mut hits: Vec<(f64, Value)> = candidates
            .into_iter()
            .map(|(body, _)| body)
            .filter(|body| visible.is_none_or(|visible| visible(body)))
            .map(|body| (rank::score(&body, &words), body))
            .filter(|(score, _)| *score > 0.0)
            .collect();
        hits.sort_by(|a, b| {
            b.0.total_cmp(&a.0).then_with(|| {
                let name = |body: &Value| {
                    body.pointer("/metadata/name")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string()
                };
                name(&a.1).cmp(&name(&b.1))
            })
        });
        let bodies: Vec<Value> = hits.iter().map(|(_, body)| body.clone()).collect();
        let facets = SEARCH_FACETS
            .iter()
            .map(|facet| (facet.to_string(), count_values(&bodies, facet)))
            .collect();
        Ok(SearchResults {
            total_items: hits.len() as u64,
            truncated,
            facets,
            items: hits
                .into_iter()
                .take(limit.min(MAX_LIMIT) as usize)
                .map(|(score, entity)| json!({"score": score, "entity": entity}))
                .collect(),
        })
    }

    /// Turns stored rows (body, entity_ref) into API entities with relations.
    pub(crate) async fn finish(
        &self,
        rows: Vec<pave_store::Row>,
        fields: &[String],
    ) -> Result<Vec<Value>, CatalogError> {
        self.finish_parsed(parse_rows(&rows)?, fields).await
    }

    /// Adds relations to parsed (body, entity_ref) pairs and trims fields.
    async fn finish_parsed(
        &self,
        entities: Vec<(Value, String)>,
        fields: &[String],
    ) -> Result<Vec<Value>, CatalogError> {
        let references: Vec<String> = entities
            .iter()
            .map(|(_, reference)| reference.clone())
            .collect();
        let wants_relations = fields.is_empty()
            || fields
                .iter()
                .any(|f| f == "relations" || f.starts_with("relations."));
        let mut relations = if wants_relations {
            query::relations_of(&self.store, &references).await?
        } else {
            BTreeMap::new()
        };
        Ok(entities
            .into_iter()
            .map(|(mut body, reference)| {
                if wants_relations && let Some(object) = body.as_object_mut() {
                    object.insert(
                        "relations".into(),
                        json!(relations.remove(&reference).unwrap_or_default()),
                    );
                }
                query::select_fields(&body, fields)
            })
            .collect())
    }

    /// The rows (body, entity_ref) of `matches` in order; one page of them
    /// when `page` (limit, offset) is given.
    async fn rows(
        &self,
        matches: &Matches,
        orders: &[Order],
        page: Option<(u32, u64)>,
    ) -> Result<Vec<pave_store::Row>, CatalogError> {
        let mut values = Vec::new();
        let condition = match matches {
            Matches::All => "1 = 1",
            Matches::Ids(ids) if ids.is_empty() => return Ok(Vec::new()),
            Matches::Ids(ids) => {
                values.push(Matches::json(ids));
                match self.store.backend() {
                    Backend::Sqlite => "e.id IN (SELECT value FROM json_each($1))",
                    Backend::Postgres => {
                        "e.id IN (SELECT value::bigint FROM json_array_elements_text($1::json))"
                    }
                }
            }
        };
        let order = query::order_by(orders, &mut values);
        let sql = match (page, matches) {
            // A page of many ids in the default order: walk the entity_ref
            // index in order and stop at the page's end, instead of reading
            // every matching row (and its body) to sort them. SQLite's
            // planner will not choose this itself; it cannot know how many
            // ids the JSON holds.
            (Some((limit, offset)), Matches::Ids(ids))
                if orders.is_empty()
                    && ids.len() > ORDERED_WALK_FROM
                    && self.store.backend() == Backend::Sqlite =>
            {
                format!(
                    "SELECT e.body, e.entity_ref FROM catalog_entities e WHERE e.id IN \
                     (SELECT w.id FROM catalog_entities w INDEXED BY catalog_entities_ref \
                      WHERE {} ORDER BY w.entity_ref LIMIT {limit} OFFSET {offset}) \
                     ORDER BY e.entity_ref",
                    condition.replace("e.id", "w.id")
                )
            }
            (Some((limit, offset)), _) => format!(
                "SELECT e.body, e.entity_ref FROM catalog_entities e WHERE {condition} ORDER BY {order} LIMIT {limit} OFFSET {offset}"
            ),
            (None, _) => format!(
                "SELECT e.body, e.entity_ref FROM catalog_entities e WHERE {condition} ORDER BY {order}"
            ),
        };
        let mut statement = pave_store::query(sqlx::AssertSqlSafe(sql));
        for value in values {
            statement = statement.bind(value);
        }
        Ok(statement.fetch_all(self.store.pool()).await?)
    }

    /// Every entity `matches` holds, in order, as (body, entity_ref), for
    /// callers that must look at each one (per-entity authorization).
    async fn all_of(
        &self,
        matches: &Matches,
        orders: &[Order],
    ) -> Result<Vec<(Value, String)>, CatalogError> {
        parse_rows(&self.rows(matches, orders, None).await?)
    }

    /// How many entities `matches` holds.
    async fn count(&self, matches: &Matches) -> Result<u64, CatalogError> {
        Ok(match matches {
            Matches::Ids(ids) => ids.len() as u64,
            Matches::All => {
                pave_store::query_scalar::<_, i64>("SELECT COUNT(*) FROM catalog_entities")
                    .fetch_one(self.store.pool())
                    .await?
                    .max(0) as u64
            }
        })
    }

    pub async fn entity_by_ref(&self, reference: &EntityRef) -> Result<Value, CatalogError> {
        let rows = pave_store::query(
            "SELECT body, entity_ref FROM catalog_entities WHERE entity_ref = $1",
        )
        .bind(reference.to_string())
        .fetch_all(self.store.pool())
        .await?;
        self.finish(rows, &[])
            .await?
            .pop()
            .ok_or_else(|| CatalogError::NotFound(format!("no entity named {reference}")))
    }

    pub async fn entity_by_uid(&self, uid: &str) -> Result<Value, CatalogError> {
        let rows =
            pave_store::query("SELECT body, entity_ref FROM catalog_entities WHERE uid = $1")
                .bind(uid)
                .fetch_all(self.store.pool())
                .await?;
        self.finish(rows, &[])
            .await?
            .pop()
            .ok_or_else(|| CatalogError::NotFound(format!("no entity with uid {uid}")))
    }

    /// Deletes one entity. It comes back at its location's next refresh if
    /// the location still provides it, as in Backstage.
    pub async fn delete_entity(&self, uid: &str) -> Result<(), CatalogError> {
        self.entity_by_uid(uid).await?;
        let mut transaction = self.store.begin().await?;
        persist::delete_entity(&mut transaction, self.store.backend(), uid).await?;
        transaction.commit().await?;
        Ok(())
    }

    /// Entities for refs, in request order; None where there is none.
    pub async fn entities_by_refs(
        &self,
        references: &[String],
        fields: &[String],
    ) -> Result<Vec<Option<Value>>, CatalogError> {
        let mut canonical = Vec::with_capacity(references.len());
        for reference in references {
            canonical.push(reference.parse::<EntityRef>().map(|r| r.to_string()).ok());
        }
        let wanted: Vec<String> = canonical.iter().flatten().cloned().collect();
        let mut found: BTreeMap<String, Value> = BTreeMap::new();
        for chunk in wanted.chunks(500) {
            let placeholders: Vec<String> =
                (1..=chunk.len()).map(|index| format!("${index}")).collect();
            let sql = format!(
                "SELECT body, entity_ref FROM catalog_entities WHERE entity_ref IN ({})",
                placeholders.join(", ")
            );
            let mut query = pave_store::query(sqlx::AssertSqlSafe(sql));
            for reference in chunk {
                query = query.bind(reference);
            }
            let rows = query.fetch_all(self.store.pool()).await?;
            let references: Vec<String> = rows
                .iter()
                .filter_map(|row| row.try_get::<String, _>("entity_ref").ok())
                .collect();
            let entities = self.finish(rows, fields).await?;
            found.extend(references.into_iter().zip(entities));
        }
        Ok(canonical
            .into_iter()
            .map(|reference| reference.and_then(|reference| found.get(&reference).cloned()))
            .collect())
    }

    /// Backstage's `GET /entities`: filter, fields, offset and limit. With
    /// `visible`, only the entities it accepts are counted and returned.
    pub async fn list(
        &self,
        filter: &Filter,
        fields: &[String],
        offset: u64,
        limit: Option<u32>,
        visible: Visible<'_>,
    ) -> Result<Vec<Value>, CatalogError> {
        let limit = limit.unwrap_or(MAX_LIMIT).min(MAX_LIMIT);
        let matches = postings::matching(&self.store, &self.lists, filter, None).await?;
        if let Some(visible) = visible {
            let page = self
                .all_of(&matches, &[])
                .await?
                .into_iter()
                .filter(|(body, _)| visible(body))
                .skip(usize::try_from(offset).unwrap_or(usize::MAX))
                .take(limit as usize)
                .collect();
            return self.finish_parsed(page, fields).await;
        }
        let rows = self.rows(&matches, &[], Some((limit, offset))).await?;
        self.finish(rows, fields).await
    }

    /// Backstage's `GET /entities/by-query`. With `visible`, only the
    /// entities it accepts are counted and returned.
    pub async fn query(
        &self,
        request: &QueryRequest,
        visible: Visible<'_>,
    ) -> Result<QueryPage, CatalogError> {
        let limit = request.limit.unwrap_or(20).min(MAX_LIMIT);
        let offset = request.offset.unwrap_or(0);
        let filter = Filter::parse(&request.filter)?;
        let default_fields: Vec<String> = DEFAULT_FULL_TEXT_FIELDS
            .iter()
            .map(|f| f.to_string())
            .collect();
        let text_fields = if request.full_text_fields.is_empty() {
            &default_fields
        } else {
            &request.full_text_fields
        };
        let terms: Vec<String> = request.full_text_term.iter().cloned().collect();
        let full_text = FullText {
            terms: &terms,
            fields: text_fields,
        };
        let matches =
            postings::matching(&self.store, &self.lists, &filter, Some(full_text)).await?;
        if let Some(visible) = visible {
            let all: Vec<(Value, String)> = self
                .all_of(&matches, &request.orders)
                .await?
                .into_iter()
                .filter(|(body, _)| visible(body))
                .collect();
            let total = all.len() as u64;
            let page = all
                .into_iter()
                .skip(usize::try_from(offset).unwrap_or(usize::MAX))
                .take(limit as usize)
                .collect();
            let items = self.finish_parsed(page, &request.fields).await?;
            return Ok(page_of(request, items, total, offset, limit));
        }
        let total = self.count(&matches).await?;
        let rows = self
            .rows(&matches, &request.orders, Some((limit, offset)))
            .await?;
        let items = self.finish(rows, &request.fields).await?;
        Ok(page_of(request, items, total, offset, limit))
    }

    /// The most recently changed entities the caller may read, newest
    /// first; with `only_with_errors`, only those whose processing failed.
    pub async fn recent(
        &self,
        limit: u32,
        only_with_errors: bool,
        visible: Visible<'_>,
    ) -> Result<Vec<Value>, CatalogError> {
        let condition = if only_with_errors {
            "WHERE errors <> '[]'"
        } else {
            ""
        };
        // Without per-entity visibility the first `limit` rows are the answer.
        let page = if visible.is_none() { limit.max(1) } else { 200 };
        // Hidden entities are skipped here, so read in pages until enough
        // readable ones are found (or the catalog ends).
        let mut found: Vec<(Value, String)> = Vec::new();
        let mut offset = 0u64;
        while found.len() < limit as usize {
            let sql = format!(
                "SELECT body, entity_ref FROM catalog_entities {condition} ORDER BY updated_at DESC, id DESC LIMIT {page} OFFSET {offset}"
            );
            let rows = pave_store::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(self.store.pool())
                .await?;
            let done = rows.len() < page as usize;
            found.extend(
                parse_rows(&rows)?
                    .into_iter()
                    .filter(|(body, _)| visible.is_none_or(|visible| visible(body))),
            );
            if done {
                break;
            }
            offset += u64::from(page);
        }
        found.truncate(limit as usize);
        self.finish_parsed(found, &[]).await
    }

    /// Counts of each value of each facet among the entities a filter
    /// matches (and `visible` accepts).
    pub async fn facets(
        &self,
        facets: &[String],
        filter: &Filter,
        visible: Visible<'_>,
    ) -> Result<BTreeMap<String, Vec<Value>>, CatalogError> {
        let mut result = BTreeMap::new();
        if let Some(visible) = visible {
            let bodies: Vec<Value> = self
                .all_of(
                    &postings::matching(&self.store, &self.lists, filter, None).await?,
                    &[],
                )
                .await?
                .into_iter()
                .map(|(body, _)| body)
                .filter(|body| visible(body))
                .collect();
            for facet in facets {
                result.insert(facet.clone(), count_values(&bodies, &facet.to_lowercase()));
            }
            return Ok(result);
        }
        let matches = postings::matching(&self.store, &self.lists, filter, None).await?;
        for facet in facets {
            let mut values = vec![facet.to_lowercase()];
            let within = match &matches {
                Matches::All => "",
                Matches::Ids(ids) if ids.is_empty() => {
                    result.insert(facet.clone(), Vec::new());
                    continue;
                }
                Matches::Ids(ids) => {
                    values.push(Matches::json(ids));
                    match self.store.backend() {
                        Backend::Sqlite => " AND s.entity_id IN (SELECT value FROM json_each($2))",
                        Backend::Postgres => {
                            " AND s.entity_id IN (SELECT value::bigint FROM json_array_elements_text($2::json))"
                        }
                    }
                }
            };
            // Grouped by the lower-case value, in index order, and shown as
            // written (`original` is kept only where it differs): the index
            // holds every column, so no row is read.
            let sql = format!(
                "SELECT MIN(COALESCE(s.original, s.value)) AS value, COUNT(DISTINCT s.entity_id) AS count FROM catalog_search s \
                 WHERE s.key = $1 AND s.value IS NOT NULL{within} \
                 GROUP BY s.value ORDER BY count DESC, value"
            );
            let mut statement = pave_store::query(sqlx::AssertSqlSafe(sql));
            for value in values {
                statement = statement.bind(value);
            }
            let rows = statement.fetch_all(self.store.pool()).await?;
            let mut counts = Vec::new();
            for row in rows {
                counts.push(json!({"value": row.try_get::<String, _>("value")?, "count": row.try_get::<i64, _>("count")?}));
            }
            result.insert(facet.clone(), counts);
        }
        Ok(result)
    }
}
