//! Evaluating a filter as sorted lists of entity ids.
//!
//! Each condition reads its ids from one index range (`(key, value,
//! entity_id)` of the search table, the relations' `(type, target_ref)`, or
//! the trigram text index) as one aggregated string, and the lists are
//! intersected (within a group) and merged (across groups) here. Letting
//! SQL join the conditions instead made it build a temporary index per
//! condition: five times slower at 100,000 entities.

use std::collections::HashMap;
use std::sync::Arc;

use pave_store::{Backend, Store, StoreError};

use crate::query::{Condition, Filter, canonical_relation};

/// The entities a filter lets through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Matches {
    /// No condition at all: every entity.
    All,
    /// These ids, ascending, without repeats.
    Ids(Vec<i64>),
}

impl Matches {
    /// The ids as a JSON array, for `json_each` / `json_array_elements_text`.
    pub(crate) fn json(ids: &[i64]) -> String {
        serde_json::to_string(ids).unwrap_or_else(|_| "[]".into())
    }
}

/// Full-text terms and the fields each must appear in (any of them).
pub(crate) struct FullText<'a> {
    pub terms: &'a [String],
    pub fields: &'a [String],
}

/// One id-list query: SQL selecting a column `id`, and its bound values.
struct IdQuery {
    sql: String,
    values: Vec<String>,
}

impl IdQuery {
    fn new(sql: impl Into<String>, values: Vec<String>) -> IdQuery {
        IdQuery {
            sql: sql.into(),
            values,
        }
    }
}

/// Id lists read since the catalog last changed, so repeated conditions
/// (an explorer's facets, `kind=component`) skip the database. Valid while
/// `catalog_generation` is unchanged; every transaction that changes the
/// catalog bumps it, on any replica.
#[derive(Default)]
pub(crate) struct ListCache {
    state: std::sync::Mutex<CacheState>,
}

#[derive(Default)]
struct CacheState {
    generation: i64,
    lists: HashMap<(String, Vec<String>), Arc<Vec<i64>>>,
    /// Ids held, over all lists.
    size: usize,
}

/// The most ids the cache holds (8 bytes each); past it, it starts over.
const CACHED_IDS: usize = 4_000_000;

impl ListCache {
    fn get(&self, generation: i64, query: &IdQuery) -> Option<Arc<Vec<i64>>> {
        let state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if state.generation != generation {
            return None;
        }
        state
            .lists
            .get(&(query.sql.clone(), query.values.clone()))
            .cloned()
    }

    fn put(&self, generation: i64, query: &IdQuery, ids: Arc<Vec<i64>>) {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if state.generation != generation || state.size + ids.len() > CACHED_IDS {
            state.lists.clear();
            state.size = 0;
            state.generation = generation;
        }
        state.size += ids.len();
        state
            .lists
            .insert((query.sql.clone(), query.values.clone()), ids);
    }
}

/// The catalog's generation: see [`ListCache`].
async fn generation(store: &Store) -> Result<i64, StoreError> {
    Ok(
        pave_store::query_scalar::<_, i64>("SELECT value FROM catalog_generation WHERE id = 1")
            .fetch_optional(store.pool())
            .await?
            .unwrap_or(0),
    )
}

/// The entities matching `filter` and every term of `full_text`.
pub(crate) async fn matching(
    store: &Store,
    cache: &ListCache,
    filter: &Filter,
    full_text: Option<FullText<'_>>,
) -> Result<Matches, StoreError> {
    let backend = store.backend();
    let groups: Vec<Vec<IdQuery>> = filter
        .any_of
        .iter()
        .map(|group| group.iter().map(condition_query).collect())
        .collect();
    let terms: Vec<IdQuery> = full_text
        .map(|full_text| {
            full_text
                .terms
                .iter()
                .map(|term| term.trim().to_lowercase())
                .filter(|term| !term.is_empty())
                .map(|term| text_query(backend, &term, full_text.fields))
                .collect()
        })
        .unwrap_or_default();
    if groups.is_empty() && terms.is_empty() {
        return Ok(Matches::All);
    }
    // Read before the lists: a change that lands in between bumps it
    // again, so lists are never kept under a generation older than they are.
    let generation = generation(store).await?;
    let list = |query| cached(store, cache, generation, query);
    // Every missing list is read at once; the pool spreads them over
    // connections.
    let group_lists = futures_util::future::try_join_all(
        groups
            .iter()
            .map(|group| futures_util::future::try_join_all(group.iter().map(list))),
    );
    let term_lists = futures_util::future::try_join_all(terms.iter().map(list));
    let (group_lists, term_lists) = tokio::try_join!(group_lists, term_lists)?;
    let mut result: Option<Vec<i64>> = None;
    for lists in group_lists {
        let group = intersect_all(lists);
        result = Some(match result {
            None => group,
            Some(so_far) => union(&so_far, &group),
        });
    }
    for list in term_lists {
        result = Some(match result {
            None => list.as_ref().clone(),
            Some(so_far) => intersect(&so_far, &list),
        });
    }
    Ok(Matches::Ids(result.unwrap_or_default()))
}

/// One list, from the cache or the database.
async fn cached(
    store: &Store,
    cache: &ListCache,
    generation: i64,
    query: &IdQuery,
) -> Result<Arc<Vec<i64>>, StoreError> {
    if let Some(ids) = cache.get(generation, query) {
        return Ok(ids);
    }
    let ids = Arc::new(fetch(store, query).await?);
    cache.put(generation, query, ids.clone());
    Ok(ids)
}

fn condition_query(condition: &Condition) -> IdQuery {
    if let Some(kind) = condition.key.strip_prefix("relations.") {
        let Some(kind) = canonical_relation(kind) else {
            // Backstage matches nothing for a relation type it does not know.
            return IdQuery::new("SELECT 0 AS id WHERE 1 = 0", Vec::new());
        };
        let from = "SELECT e.id AS id FROM catalog_relations r JOIN catalog_entities e ON e.entity_ref = r.source_ref WHERE r.type = $1";
        return match &condition.value {
            Some(target) => IdQuery::new(
                format!("{from} AND r.target_ref = $2"),
                vec![kind.to_string(), target.clone()],
            ),
            None => IdQuery::new(from, vec![kind.to_string()]),
        };
    }
    match &condition.value {
        Some(value) => IdQuery::new(
            "SELECT entity_id AS id FROM catalog_search WHERE key = $1 AND value = $2",
            vec![condition.key.clone(), value.clone()],
        ),
        None => IdQuery::new(
            "SELECT entity_id AS id FROM catalog_search WHERE key = $1",
            vec![condition.key.clone()],
        ),
    }
}

/// Entities in which `term` (lower-case) appears in one of `fields`.
fn text_query(backend: Backend, term: &str, fields: &[String]) -> IdQuery {
    let mut wanted: Vec<String> = fields.iter().map(|f| f.to_lowercase()).collect();
    wanted.sort();
    wanted.dedup();
    let mut defaults: Vec<String> = crate::DEFAULT_FULL_TEXT_FIELDS
        .iter()
        .map(|f| f.to_string())
        .collect();
    defaults.sort();
    if wanted == defaults {
        // The text table holds exactly these fields. LIKE narrows through
        // the trigram index (its `_` and `%` may only widen the match), and
        // the exact substring test decides.
        let pattern = match backend {
            // SQLite's LIKE has no escape character unless asked;
            // PostgreSQL's is `\`, which must then stand for itself.
            Backend::Sqlite => format!("%{term}%"),
            Backend::Postgres => format!("%{}%", term.replace('\\', "\\\\")),
        };
        let sql = match backend {
            Backend::Sqlite => {
                "SELECT rowid AS id FROM catalog_text WHERE text LIKE $1 AND instr(text, $2) > 0"
            }
            Backend::Postgres => {
                "SELECT entity_id AS id FROM catalog_text WHERE text LIKE $1 AND strpos(text, $2) > 0"
            }
        };
        return IdQuery::new(sql, vec![pattern, term.to_string()]);
    }
    let mut values = vec![format!("%{}%", escape_like(term))];
    let keys: Vec<String> = wanted
        .into_iter()
        .map(|field| {
            values.push(field);
            format!("${}", values.len())
        })
        .collect();
    IdQuery::new(
        format!(
            "SELECT entity_id AS id FROM catalog_search WHERE key IN ({}) AND value LIKE $1 ESCAPE '\\'",
            keys.join(", ")
        ),
        values,
    )
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Runs one id query, aggregated into one string so the ids cross the
/// driver as one value instead of one row each.
async fn fetch(store: &Store, query: &IdQuery) -> Result<Vec<i64>, StoreError> {
    let sql = match store.backend() {
        Backend::Sqlite => format!("SELECT group_concat(id) FROM ({}) AS ids", query.sql),
        Backend::Postgres => format!(
            "SELECT string_agg(id::text, ',') FROM ({}) AS ids",
            query.sql
        ),
    };
    let mut statement = pave_store::query_scalar::<_, Option<String>>(sqlx::AssertSqlSafe(sql));
    for value in &query.values {
        statement = statement.bind(value.clone());
    }
    let text = statement.fetch_one(store.pool()).await?.unwrap_or_default();
    Ok(parse_ids(&text))
}

/// Ids from `1,5,3`, sorted and without repeats; anything else is skipped.
fn parse_ids(text: &str) -> Vec<i64> {
    let mut ids: Vec<i64> = text
        .split(',')
        .filter_map(|part| part.trim().parse().ok())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Intersects lists, smallest first so each step is as cheap as it gets.
fn intersect_all(mut lists: Vec<Arc<Vec<i64>>>) -> Vec<i64> {
    lists.sort_by_key(|list| list.len());
    let mut lists = lists.into_iter();
    let Some(first) = lists.next() else {
        return Vec::new();
    };
    let mut result = first.as_ref().clone();
    for list in lists {
        if result.is_empty() {
            break;
        }
        result = intersect(&result, &list);
    }
    result
}

/// Ids in both sorted lists. Walks the shorter one and gallops through the
/// longer, so a short list against a long one costs little.
fn intersect(a: &[i64], b: &[i64]) -> Vec<i64> {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let mut result = Vec::with_capacity(short.len());
    let mut rest = long;
    for &id in short {
        match rest.binary_search(&id) {
            Ok(index) => {
                result.push(id);
                rest = &rest[index + 1..];
            }
            Err(index) => rest = &rest[index..],
        }
        if rest.is_empty() {
            break;
        }
    }
    result
}

/// Ids in either sorted list, sorted.
fn union(a: &[i64], b: &[i64]) -> Vec<i64> {
    let mut result = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => {
                result.push(a[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                result.push(b[j]);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                result.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    result.extend_from_slice(&a[i..]);
    result.extend_from_slice(&b[j..]);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_intersect_and_merge() {
        assert_eq!(intersect(&[1, 3, 5, 7, 9], &[2, 3, 4, 9, 10]), vec![3, 9]);
        assert_eq!(intersect(&[5], &(0..1000).collect::<Vec<_>>()), vec![5]);
        assert_eq!(intersect(&[], &[1, 2]), Vec::<i64>::new());
        assert_eq!(union(&[1, 4, 6], &[2, 4, 8]), vec![1, 2, 4, 6, 8]);
        assert_eq!(
            intersect_all(vec![
                Arc::new(vec![1, 2, 3, 4]),
                Arc::new(vec![2, 4]),
                Arc::new(vec![4, 5])
            ]),
            vec![4]
        );
        assert_eq!(intersect_all(Vec::new()), Vec::<i64>::new());
    }

    #[test]
    fn aggregated_ids_parse_sorted_and_unique() {
        assert_eq!(parse_ids("5,1,3,1"), vec![1, 3, 5]);
        assert_eq!(parse_ids(""), Vec::<i64>::new());
    }

    #[test]
    fn the_default_fields_use_the_text_index_and_others_the_search_rows() {
        let defaults: Vec<String> = crate::DEFAULT_FULL_TEXT_FIELDS
            .iter()
            .rev()
            .map(|f| f.to_uppercase())
            .collect();
        let query = text_query(Backend::Sqlite, "pet_", &defaults);
        assert!(query.sql.contains("catalog_text"));
        assert_eq!(query.values, vec!["%pet_%", "pet_"]);
        let query = text_query(Backend::Postgres, "pet_", &["metadata.name".into()]);
        assert!(query.sql.contains("catalog_search"));
        assert_eq!(query.values, vec!["%pet\\_%", "metadata.name"]);
    }

    #[test]
    fn conditions_bind_values_never_inline_them() {
        let filter = Filter::parse(&[
            "kind=component,relations.ownedBy=group:default/a".into(),
            "spec.system".into(),
            "relations.nonsense=x".into(),
        ])
        .unwrap();
        let queries: Vec<IdQuery> = filter
            .any_of
            .iter()
            .flatten()
            .map(condition_query)
            .collect();
        assert_eq!(queries[0].values, vec!["kind", "component"]);
        assert_eq!(queries[1].values, vec!["ownedBy", "group:default/a"]);
        assert_eq!(queries[2].values, vec!["spec.system"]);
        assert!(queries[3].values.is_empty());
        assert!(queries.iter().all(|q| !q.sql.contains("component")));
    }
}
