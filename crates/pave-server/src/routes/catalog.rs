//! Backstage's catalog API under `/api/catalog`, with its paths, parameters
//! and response shapes, so Backstage clients work against Pave.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use pave_catalog::{Filter, LocationSpec, Order, QueryRequest, decode_cursor};
use pave_catalog_model::EntityRef;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use pave_access::Action;

use crate::auth::Caller;
use crate::entity_access::EntityAccess;
use crate::error::ApiError;
use crate::extract::Json;
use crate::state::AppState;

/// Query parameters as pairs: Backstage repeats `filter`, `fields` and `facet`.
pub(crate) fn pairs(query: &Option<String>) -> Vec<(String, String)> {
    query
        .as_deref()
        .map(|query| {
            form_urlencoded::parse(query.as_bytes())
                .map(|(key, value)| (key.into_owned(), value.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn all(pairs: &[(String, String)], name: &str) -> Vec<String> {
    pairs
        .iter()
        .filter(|(key, _)| key == name)
        .map(|(_, value)| value.clone())
        .collect()
}

pub(crate) fn one(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs
        .iter()
        .rev()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.clone())
}

/// `fields` may repeat and hold comma-separated lists.
fn fields(pairs: &[(String, String)]) -> Vec<String> {
    all(pairs, "fields")
        .iter()
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|field| !field.is_empty())
        .map(str::to_string)
        .collect()
}

fn number<T: std::str::FromStr>(
    pairs: &[(String, String)],
    name: &str,
) -> Result<Option<T>, ApiError> {
    match one(pairs, name) {
        None => Ok(None),
        Some(text) => text.parse().map(Some).map_err(|_| {
            ApiError::input(format!(
                "{name}: `{text}` is not a non-negative whole number"
            ))
        }),
    }
}

fn known(pairs: &[(String, String)], allowed: &[&str]) -> Result<(), ApiError> {
    match pairs
        .iter()
        .find(|(key, _)| !allowed.contains(&key.as_str()))
    {
        Some((key, _)) => Err(ApiError::input(format!(
            "unknown query parameter `{key}`; this route takes {}",
            allowed.join(", ")
        ))),
        None => Ok(()),
    }
}

/// Lists entities (Backstage's legacy list): `filter`, `fields`, `limit`, `offset`, `after`.
#[utoipa::path(get, path = "/api/catalog/entities", tag = "catalog",
    params(
        ("filter" = Option<Vec<String>>, Query, description = "Repeat to OR; commas AND: kind=component,spec.type=service"),
        ("fields" = Option<Vec<String>>, Query, description = "Dotted fields to keep"),
        ("limit" = Option<u32>, Query, description = "At most this many"),
        ("offset" = Option<u64>, Query, description = "Skip this many"),
        ("after" = Option<String>, Query, description = "Continue from this cursor"),
    ),
    responses((status = 200, description = "Entities", body = Vec<Object>)))]
pub async fn entities(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let pairs = pairs(&query);
    known(
        &pairs,
        &["filter", "fields", "limit", "offset", "after", "order"],
    )?;
    let filter = Filter::parse(&all(&pairs, "filter"))?;
    let limit: Option<u32> = number(&pairs, "limit")?;
    let mut offset: u64 = number(&pairs, "offset")?.unwrap_or(0);
    if let Some(after) = one(&pairs, "after") {
        offset = u64::from_str_radix(&after, 16).map_err(|_| {
            ApiError::input(format!(
                "after: `{after}` is not a cursor this server gave out"
            ))
        })?;
    }
    let access = EntityAccess::new(&state, &caller.principal);
    let visible = access.visible();
    let items = state
        .catalog
        .list(
            &filter,
            &fields(&pairs),
            offset,
            limit,
            visible.as_ref().map(|f| f as _),
        )
        .await?;
    let mut response = axum::Json(&items).into_response();
    if let Some(limit) = limit
        && items.len() as u64 == u64::from(limit)
        && let Ok(link) = format!("<?after={:x}>; rel=\"next\"", offset + u64::from(limit)).parse()
    {
        response.headers_mut().insert("link", link);
    }
    Ok(response)
}

/// Queries entities with paging, ordering and full-text filtering.
#[utoipa::path(get, path = "/api/catalog/entities/by-query", tag = "catalog",
    params(
        ("filter" = Option<Vec<String>>, Query, description = "Repeat to OR; commas AND"),
        ("fields" = Option<Vec<String>>, Query, description = "Dotted fields to keep"),
        ("limit" = Option<u32>, Query, description = "Page size (default 20, at most 1000)"),
        ("offset" = Option<u64>, Query, description = "Skip this many"),
        ("orderField" = Option<Vec<String>>, Query, description = "field,asc or field,desc; repeatable"),
        ("cursor" = Option<String>, Query, description = "pageInfo.nextCursor or prevCursor; replaces the other parameters"),
        ("fullTextFilterTerm" = Option<String>, Query, description = "Case-insensitive text to look for"),
        ("fullTextFilterFields" = Option<Vec<String>>, Query, description = "Fields the term is looked for in"),
    ),
    responses((status = 200, description = "{items, totalItems, pageInfo}", body = Object)))]
pub async fn by_query(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let pairs = pairs(&query);
    known(
        &pairs,
        &[
            "filter",
            "fields",
            "limit",
            "offset",
            "orderField",
            "cursor",
            "fullTextFilterTerm",
            "fullTextFilterFields",
        ],
    )?;
    let request = match one(&pairs, "cursor") {
        Some(cursor) => {
            let mut request = decode_cursor(&cursor)?;
            if let Some(limit) = number::<u32>(&pairs, "limit")? {
                request.limit = Some(limit);
            }
            request
        }
        None => QueryRequest {
            filter: all(&pairs, "filter"),
            fields: fields(&pairs),
            limit: number(&pairs, "limit")?,
            offset: number(&pairs, "offset")?,
            orders: all(&pairs, "orderField")
                .iter()
                .map(|text| Order::parse(text))
                .collect::<Result<_, _>>()?,
            full_text_term: one(&pairs, "fullTextFilterTerm"),
            full_text_fields: all(&pairs, "fullTextFilterFields")
                .iter()
                .flat_map(|value| value.split(','))
                .map(|field| field.trim().to_string())
                .filter(|field| !field.is_empty())
                .collect(),
        },
    };
    let access = EntityAccess::new(&state, &caller.principal);
    let visible = access.visible();
    let page = state
        .catalog
        .query(&request, visible.as_ref().map(|f| f as _))
        .await?;
    Ok(axum::Json(page).into_response())
}

fn reference(kind: &str, namespace: &str, name: &str) -> EntityRef {
    EntityRef::new(kind, namespace, name)
}

/// One entity by kind, namespace and name (case-insensitive).
#[utoipa::path(get, path = "/api/catalog/entities/by-name/{kind}/{namespace}/{name}", tag = "catalog",
    params(("kind" = String, Path), ("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 200, description = "The entity", body = Object), (status = 404, description = "No such entity")))]
pub async fn by_name(
    State(state): State<AppState>,
    caller: Caller,
    Path((kind, namespace, name)): Path<(String, String, String)>,
) -> Result<axum::Json<Value>, ApiError> {
    let reference = reference(&kind, &namespace, &name);
    readable_by_ref(&state, &caller, &reference).await
}

/// The entity named by `reference`, or 404 when it is missing or hidden.
async fn readable_by_ref(
    state: &AppState,
    caller: &Caller,
    reference: &EntityRef,
) -> Result<axum::Json<Value>, ApiError> {
    let entity = state.catalog.entity_by_ref(reference).await?;
    readable(state, caller, entity, &reference.to_string())
}

/// The entity, or 404 (as if it did not exist) when the caller may not read it.
fn readable(
    state: &AppState,
    caller: &Caller,
    entity: Value,
    name: &str,
) -> Result<axum::Json<Value>, ApiError> {
    if EntityAccess::new(state, &caller.principal).may_read(&entity) {
        Ok(axum::Json(entity))
    } else {
        Err(ApiError::not_found(format!("no entity named {name}")))
    }
}

/// One entity by uid.
#[utoipa::path(get, path = "/api/catalog/entities/by-uid/{uid}", tag = "catalog",
    params(("uid" = String, Path)),
    responses((status = 200, description = "The entity", body = Object), (status = 404, description = "No such entity")))]
pub async fn by_uid(
    State(state): State<AppState>,
    caller: Caller,
    Path(uid): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    let entity = state.catalog.entity_by_uid(&uid).await?;
    readable(&state, &caller, entity, &format!("with uid {uid}"))
}

/// Deletes an entity; its location brings it back at the next refresh if it still provides it.
#[utoipa::path(delete, path = "/api/catalog/entities/by-uid/{uid}", tag = "catalog",
    params(("uid" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, description = "No such entity")))]
pub async fn delete_by_uid(
    State(state): State<AppState>,
    caller: Caller,
    Path(uid): Path<String>,
) -> Result<StatusCode, ApiError> {
    let entity = state.catalog.entity_by_uid(&uid).await?;
    let access = EntityAccess::new(&state, &caller.principal);
    if !access.may_read(&entity) {
        return Err(ApiError::not_found(format!("no entity with uid {uid}")));
    }
    access
        .check_change(Action::CatalogEntityDelete, &entity, &caller)
        .await?;
    state.catalog.delete_entity(&uid).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ByRefsRequest {
    entity_refs: Vec<String>,
    #[serde(default)]
    fields: Vec<String>,
}

/// Entities for a list of refs, in the same order (`null` where missing).
#[utoipa::path(post, path = "/api/catalog/entities/by-refs", tag = "catalog", request_body = ByRefsRequest,
    responses((status = 200, description = "{items}", body = Object)))]
pub async fn by_refs(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<ByRefsRequest>,
) -> Result<axum::Json<Value>, ApiError> {
    if body.entity_refs.len() > 1000 {
        return Err(ApiError::input("entityRefs: at most 1000 refs per request"));
    }
    let access = EntityAccess::new(&state, &caller.principal);
    // Authorization needs the whole entity; fields are trimmed afterwards.
    let items: Vec<Option<Value>> = state
        .catalog
        .entities_by_refs(&body.entity_refs, &[])
        .await?
        .into_iter()
        .map(|entity| {
            entity
                .filter(|entity| access.may_read(entity))
                .map(|entity| pave_catalog::query::select_fields(&entity, &body.fields))
        })
        .collect();
    Ok(axum::Json(json!({ "items": items })))
}

/// Value counts for facets among the entities a filter matches.
#[utoipa::path(get, path = "/api/catalog/entity-facets", tag = "catalog",
    params(("facet" = Vec<String>, Query, description = "A dotted field; repeatable"),
           ("filter" = Option<Vec<String>>, Query, description = "Repeat to OR; commas AND")),
    responses((status = 200, description = "{facets: {field: [{value, count}]}}", body = Object)))]
pub async fn facets(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<axum::Json<Value>, ApiError> {
    let pairs = pairs(&query);
    known(&pairs, &["facet", "filter"])?;
    let facets = all(&pairs, "facet");
    if facets.is_empty() {
        return Err(ApiError::input(
            "facet: name at least one, such as facet=kind",
        ));
    }
    let filter = Filter::parse(&all(&pairs, "filter"))?;
    let access = EntityAccess::new(&state, &caller.principal);
    let visible = access.visible();
    let counted = state
        .catalog
        .facets(&facets, &filter, visible.as_ref().map(|f| f as _))
        .await?;
    Ok(axum::Json(json!({ "facets": counted })))
}

fn location_json(location: &pave_catalog::LocationRecord) -> Value {
    json!({"id": location.id, "type": location.r#type, "target": location.target})
}

/// Registered locations.
#[utoipa::path(get, path = "/api/catalog/locations", tag = "catalog",
    responses((status = 200, description = "[{data: {id, type, target}}]", body = Vec<Object>)))]
pub async fn locations(State(state): State<AppState>) -> Result<axum::Json<Value>, ApiError> {
    let locations = state.catalog.locations().await?;
    Ok(axum::Json(json!(locations.iter().map(|l| json!({"data": location_json(l), "status": {"refreshedAt": l.refreshed_at, "errors": l.errors}, "origin": l.origin})).collect::<Vec<_>>())))
}

/// One location.
#[utoipa::path(get, path = "/api/catalog/locations/{id}", tag = "catalog",
    params(("id" = String, Path)),
    responses((status = 200, description = "{id, type, target}", body = Object), (status = 404, description = "No such location")))]
pub async fn location(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    Ok(axum::Json(location_json(
        &state.catalog.location(&id).await?,
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationRequest {
    r#type: String,
    target: String,
}

/// Registers a location (`?dryRun=true` only reports what it would add).
#[utoipa::path(post, path = "/api/catalog/locations", tag = "catalog", request_body = LocationRequest,
    params(("dryRun" = Option<bool>, Query)),
    responses((status = 201, description = "{location, entities, exists?}", body = Object),
              (status = 400, description = "Bad location"), (status = 409, description = "Already registered")))]
pub async fn create_location(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
    Json(body): Json<LocationRequest>,
) -> Result<(StatusCode, axum::Json<Value>), ApiError> {
    let pairs = pairs(&query);
    known(&pairs, &["dryRun"])?;
    let dry_run = match one(&pairs, "dryRun").as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ApiError::input(format!(
                "dryRun: `{other}` is neither true nor false"
            )));
        }
    };
    let registered = state
        .catalog
        .register(
            LocationSpec {
                r#type: body.r#type,
                target: body.target,
            },
            dry_run,
        )
        .await?;
    let access = EntityAccess::new(&state, &caller.principal);
    let entities: Vec<&Value> = registered
        .entities
        .iter()
        .filter(|entity| access.may_read(entity))
        .collect();
    let mut answer = json!({"location": location_json(&registered.location), "entities": entities});
    if dry_run {
        answer["exists"] = json!(registered.exists);
    }
    Ok((StatusCode::CREATED, axum::Json(answer)))
}

/// Removes a location and the entities it provides.
#[utoipa::path(delete, path = "/api/catalog/locations/{id}", tag = "catalog",
    params(("id" = String, Path)),
    responses((status = 204, description = "Removed"), (status = 404, description = "No such location")))]
pub async fn delete_location(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.catalog.delete_location(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The location that provides an entity.
#[utoipa::path(get, path = "/api/catalog/locations/by-entity/{kind}/{namespace}/{name}", tag = "catalog",
    params(("kind" = String, Path), ("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 200, description = "{id, type, target}", body = Object), (status = 404, description = "No such entity")))]
pub async fn location_by_entity(
    State(state): State<AppState>,
    caller: Caller,
    Path((kind, namespace, name)): Path<(String, String, String)>,
) -> Result<axum::Json<Value>, ApiError> {
    let reference = reference(&kind, &namespace, &name);
    // An entity the caller may not read has no location to show either.
    let _visible = readable_by_ref(&state, &caller, &reference).await?;
    Ok(axum::Json(location_json(
        &state.catalog.location_of(&reference).await?,
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefreshRequest {
    entity_ref: String,
    /// Accepted for Backstage compatibility and ignored.
    #[allow(dead_code)]
    authorization_token: Option<String>,
}

/// Refreshes the location that provides an entity, now.
#[utoipa::path(post, path = "/api/catalog/refresh", tag = "catalog", request_body = RefreshRequest,
    responses((status = 200, description = "Refreshed"), (status = 404, description = "No such entity")))]
pub async fn refresh(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<RefreshRequest>,
) -> Result<axum::Json<Value>, ApiError> {
    let reference: EntityRef =
        body.entity_ref
            .parse()
            .map_err(|error: pave_catalog_model::RefError| {
                ApiError::input(format!("entityRef: {error}"))
            })?;
    let entity = state.catalog.entity_by_ref(&reference).await?;
    let access = EntityAccess::new(&state, &caller.principal);
    if !access.may_read(&entity) {
        return Err(ApiError::not_found(format!("no entity named {reference}")));
    }
    access
        .check_change(Action::CatalogRefresh, &entity, &caller)
        .await?;
    let applied = state.catalog.refresh_entity(&reference).await?;
    Ok(axum::Json(json!(applied)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ValidateRequest {
    entity: Value,
    /// Where the entity would come from; accepted and not read.
    #[allow(dead_code)]
    location: Option<String>,
}

/// Validates an entity without storing it: 200, or 400 with `errors`.
#[utoipa::path(post, path = "/api/catalog/validate-entity", tag = "catalog", request_body = ValidateRequest,
    responses((status = 200, description = "Valid"), (status = 400, description = "{errors: [{name, message}]}")))]
pub async fn validate_entity(
    State(state): State<AppState>,
    Json(body): Json<ValidateRequest>,
) -> Response {
    match state.catalog.validate(&body.entity) {
        Ok(()) => (StatusCode::OK, axum::Json(json!({}))).into_response(),
        Err(problems) => (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({
                "errors": problems.iter().map(|p| json!({"name": "InputError", "message": p.to_string()})).collect::<Vec<_>>()
            })),
        )
            .into_response(),
    }
}

/// Ranked search over the catalog: every word of `term` must appear in an
/// entity's name, title, description, tags, owner, type or kind; best
/// matches first, with facet counts over every hit the caller may read.
#[utoipa::path(get, path = "/api/v1/search", tag = "catalog",
    params(
        ("term" = String, Query, description = "Words to look for"),
        ("filter" = Option<Vec<String>>, Query, description = "Backstage filters that hits must also match"),
        ("limit" = Option<u32>, Query, description = "At most this many hits (default 20)"),
    ),
    responses((status = 200, description = "{items: [{score, entity}], totalItems, truncated, facets}", body = Object),
              (status = 400, description = "No term")))]
pub async fn search(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<axum::Json<pave_catalog::SearchResults>, ApiError> {
    let pairs = pairs(&query);
    known(&pairs, &["term", "filter", "limit"])?;
    let term = one(&pairs, "term").unwrap_or_default();
    let filter = Filter::parse(&all(&pairs, "filter"))?;
    let limit: u32 = number(&pairs, "limit")?.unwrap_or(20);
    let access = EntityAccess::new(&state, &caller.principal);
    let visible = access.visible();
    let results = state
        .catalog
        .search(&term, &filter, limit, visible.as_ref().map(|f| f as _))
        .await?;
    Ok(axum::Json(results))
}
