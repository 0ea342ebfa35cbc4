//! The home page and the catalog explorer.

use axum::extract::{RawQuery, State};
use axum::response::Response;
use pave_catalog::{Filter, Order, QueryRequest};

use super::session::Viewer;
use super::views::{
    ActiveFilter, Chrome, ExplorerPage, Facet, FacetValue, HomePage, Row, SortHeader,
};
use super::{PageError, render};
use crate::entity_access::EntityAccess;
use crate::routes::catalog::pairs;
use crate::state::AppState;

/// How many entities each home page list shows.
const HOME_LIST: u32 = 8;
/// Rows per explorer page.
const PAGE_SIZE: u32 = 50;
/// Facet values shown before the rest fold away.
const FACET_SHOWN: usize = 8;
/// The longest value a URL parameter may carry.
const MAX_VALUE: usize = 200;

pub async fn home(State(state): State<AppState>, viewer: Viewer) -> Result<Response, PageError> {
    let access = EntityAccess::new(&state, &viewer.principal);
    let visible = access.visible();
    let visible = visible.as_ref().map(|f| f as _);
    let groups: Vec<String> = viewer
        .principal
        .groups
        .iter()
        .map(ToString::to_string)
        .collect();
    let owned = if groups.is_empty() {
        Vec::new()
    } else {
        let filter: Vec<String> = groups
            .iter()
            .flat_map(|group| {
                [
                    format!("kind=component,relations.ownedBy={group}"),
                    format!("kind=system,relations.ownedBy={group}"),
                ]
            })
            .collect();
        let request = QueryRequest {
            filter,
            fields: vec!["kind".into(), "metadata".into(), "spec".into()],
            limit: Some(HOME_LIST),
            ..QueryRequest::default()
        };
        state.catalog.query(&request, visible).await?.items
    };
    let recent = state.catalog.recent(HOME_LIST, false, visible).await?;
    let broken = state.catalog.recent(HOME_LIST, true, visible).await?;
    let page = HomePage {
        chrome: Chrome::for_viewer("Home", &viewer, "home"),
        groups,
        owned: owned.iter().map(Row::of).collect(),
        recent: recent.iter().map(Row::of).collect(),
        broken: broken.iter().map(Row::of).collect(),
    };
    render(&page)
}

/// The explorer's filters: URL parameter, label, catalog field.
const FACETS: &[(&str, &str, &str)] = &[
    ("kind", "Kind", "kind"),
    ("type", "Type", "spec.type"),
    ("owner", "Owner", "spec.owner"),
    ("lifecycle", "Lifecycle", "spec.lifecycle"),
    ("system", "System", "spec.system"),
    ("tag", "Tags", "metadata.tags"),
];

/// Sortable columns: URL value, header, catalog field.
const COLUMNS: &[(&str, &str, &str)] = &[
    ("name", "Name", "metadata.name"),
    ("kind", "Kind", "kind"),
    ("type", "Type", "spec.type"),
    ("owner", "Owner", "spec.owner"),
    ("lifecycle", "Lifecycle", "spec.lifecycle"),
    ("system", "System", "spec.system"),
];

/// What the explorer's URL asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct View {
    query: String,
    /// (parameter, value) for each facet in use.
    filters: Vec<(&'static str, String)>,
    /// A column and whether it sorts descending.
    sort: Option<(&'static str, bool)>,
    page: u64,
}

impl View {
    fn parse(raw: &Option<String>) -> Result<View, PageError> {
        let mut view = View {
            page: 1,
            ..View::default()
        };
        for (key, value) in pairs(raw) {
            if value.chars().count() > MAX_VALUE {
                return Err(PageError::bad_request(format!(
                    "The `{key}` parameter is longer than {MAX_VALUE} characters."
                )));
            }
            let value = value.trim().to_string();
            match key.as_str() {
                "q" => view.query = value,
                "page" => {
                    view.page = value
                        .parse()
                        .ok()
                        .filter(|page| *page >= 1 && *page <= 100_000)
                        .ok_or_else(|| {
                            PageError::bad_request(format!(
                                "`page={value}` is not a page number; pages count from 1."
                            ))
                        })?;
                }
                "sort" => {
                    let (name, descending) = match value.strip_prefix('-') {
                        Some(name) => (name, true),
                        None => (value.as_str(), false),
                    };
                    let column = COLUMNS
                        .iter()
                        .find(|(key, _, _)| *key == name)
                        .ok_or_else(|| {
                            PageError::bad_request(format!(
                                "`sort={value}` is not a column; sort by name, kind, type, owner, lifecycle or system (with `-` for descending)."
                            ))
                        })?;
                    view.sort = Some((column.0, descending));
                }
                other => {
                    let Some((parameter, _, _)) =
                        FACETS.iter().find(|(parameter, _, _)| *parameter == other)
                    else {
                        return Err(PageError::bad_request(format!(
                            "The explorer has no `{other}` parameter; it takes q, kind, type, owner, lifecycle, system, tag, sort and page."
                        )));
                    };
                    if value.contains(',') {
                        return Err(PageError::bad_request(format!(
                            "`{other}={value}`: a filter value cannot contain a comma."
                        )));
                    }
                    view.filters.retain(|(name, _)| name != parameter);
                    if !value.is_empty() {
                        view.filters.push((parameter, value));
                    }
                }
            }
        }
        Ok(view)
    }

    /// The catalog filter for these facets, leaving out `except`.
    fn filter(&self, except: Option<&str>) -> Vec<String> {
        let conditions: Vec<String> = self
            .filters
            .iter()
            .filter(|(parameter, _)| Some(*parameter) != except)
            .filter_map(|(parameter, value)| {
                FACETS
                    .iter()
                    .find(|(name, _, _)| name == parameter)
                    .map(|(_, _, field)| format!("{field}={value}"))
            })
            .collect();
        if conditions.is_empty() {
            Vec::new()
        } else {
            vec![conditions.join(",")]
        }
    }

    /// This view's URL (from page 1 unless `keep_page`).
    fn href(&self, keep_page: bool) -> String {
        let mut url = form_urlencoded::Serializer::new(String::new());
        if !self.query.is_empty() {
            url.append_pair("q", &self.query);
        }
        for (parameter, value) in &self.filters {
            url.append_pair(parameter, value);
        }
        if let Some((column, descending)) = self.sort {
            let value = if descending {
                format!("-{column}")
            } else {
                column.to_string()
            };
            url.append_pair("sort", &value);
        }
        if keep_page && self.page > 1 {
            url.append_pair("page", &self.page.to_string());
        }
        let query = url.finish();
        if query.is_empty() {
            "/catalog".into()
        } else {
            format!("/catalog?{query}")
        }
    }

    /// This view with facet `parameter` set to `value`, or cleared when it
    /// already is.
    fn toggled(&self, parameter: &'static str, value: &str) -> View {
        let mut next = self.clone();
        let selected = self
            .filters
            .iter()
            .any(|(name, current)| *name == parameter && current.eq_ignore_ascii_case(value));
        next.filters.retain(|(name, _)| *name != parameter);
        if !selected {
            next.filters.push((parameter, value.to_string()));
        }
        next
    }
}

pub async fn explorer(
    State(state): State<AppState>,
    viewer: Viewer,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let view = View::parse(&raw)?;
    let access = EntityAccess::new(&state, &viewer.principal);
    let visible = access.visible();
    let visible = visible.as_ref().map(|f| f as _);
    let offset = (view.page - 1) * u64::from(PAGE_SIZE);
    let request = QueryRequest {
        filter: view.filter(None),
        fields: vec!["kind".into(), "metadata".into(), "spec".into()],
        limit: Some(PAGE_SIZE),
        offset: Some(offset),
        orders: view
            .sort
            .iter()
            .filter_map(|(column, descending)| {
                COLUMNS
                    .iter()
                    .find(|(name, _, _)| name == column)
                    .map(|(_, _, field)| Order {
                        field: (*field).to_string(),
                        descending: *descending,
                    })
            })
            .collect(),
        full_text_term: (!view.query.is_empty()).then(|| view.query.clone()),
        full_text_fields: Vec::new(),
    };
    // Each facet counts with every other filter applied but its own, so its
    // alternatives stay visible. The page and the facets are read at once.
    let filters: Vec<Filter> = FACETS
        .iter()
        .map(|(parameter, _, _)| Filter::parse(&view.filter(Some(parameter))))
        .collect::<Result<_, _>>()?;
    let counting = futures_util::future::try_join_all(FACETS.iter().zip(&filters).map(
        |((_, _, field), filter)| {
            let fields = vec![(*field).to_string()];
            let catalog = &state.catalog;
            async move { catalog.facets(&fields, filter, visible).await }
        },
    ));
    let (page, counts) = tokio::try_join!(state.catalog.query(&request, visible), counting)?;
    let mut facets = Vec::new();
    for ((parameter, label, field), counts) in FACETS.iter().zip(counts) {
        let mut values: Vec<FacetValue> = counts
            .get(*field)
            .into_iter()
            .flatten()
            .filter_map(|count| {
                let value = count["value"].as_str()?.to_string();
                let selected = view.filters.iter().any(|(name, current)| {
                    name == parameter && current.eq_ignore_ascii_case(&value)
                });
                Some(FacetValue {
                    href: view.toggled(parameter, &value).href(false),
                    count: count["count"].as_i64().unwrap_or(0),
                    selected,
                    value,
                })
            })
            .collect();
        let more = if values.len() > FACET_SHOWN {
            values.split_off(FACET_SHOWN)
        } else {
            Vec::new()
        };
        facets.push(Facet {
            label,
            values,
            more,
        });
    }

    let headers = COLUMNS
        .iter()
        .map(|(name, label, _)| {
            let current = view.sort.filter(|(column, _)| column == name);
            let mut next = view.clone();
            next.sort = Some((name, matches!(current, Some((_, false)))));
            SortHeader {
                label,
                href: next.href(false),
                state: match current {
                    Some((_, false)) => "ascending",
                    Some((_, true)) => "descending",
                    None => "none",
                },
            }
        })
        .collect();
    let active = view
        .filters
        .iter()
        .map(|(parameter, value)| ActiveFilter {
            label: format!("{parameter}: {value}"),
            href: view.toggled(parameter, value).href(false),
        })
        .collect();
    let mut cleared = View::default();
    cleared.query.clone_from(&view.query);
    let at_page = |page: u64| {
        let mut next = view.clone();
        next.page = page;
        next.href(true)
    };
    let shown = page.items.len() as u64;
    let mut chrome = Chrome::for_viewer("Catalog", &viewer, "catalog");
    chrome.query.clone_from(&view.query);
    let explorer = ExplorerPage {
        chrome,
        query: view.query.clone(),
        hidden: view
            .filters
            .iter()
            .map(|(name, value)| ((*name).to_string(), value.clone()))
            .chain(view.sort.map(|(column, descending)| {
                (
                    "sort".to_string(),
                    if descending {
                        format!("-{column}")
                    } else {
                        column.to_string()
                    },
                )
            }))
            .collect(),
        facets,
        active,
        clear_href: cleared.href(false),
        headers,
        rows: page.items.iter().map(Row::of).collect(),
        total: page.total_items,
        first: if shown == 0 { 0 } else { offset + 1 },
        last: offset + shown,
        previous_href: (view.page > 1).then(|| at_page(view.page - 1)),
        next_href: (offset + shown < page.total_items).then(|| at_page(view.page + 1)),
    };
    render(&explorer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &str) -> Result<View, PageError> {
        View::parse(&Some(query.to_string()))
    }

    #[test]
    fn the_url_holds_the_whole_view() {
        let view = parse("q=pay&kind=Component&owner=team-a&sort=-name&page=2").unwrap();
        assert_eq!(view.query, "pay");
        assert_eq!(view.filter(None), vec!["kind=Component,spec.owner=team-a"]);
        assert_eq!(view.filter(Some("kind")), vec!["spec.owner=team-a"]);
        assert_eq!(view.sort, Some(("name", true)));
        assert_eq!(
            view.href(true),
            "/catalog?q=pay&kind=Component&owner=team-a&sort=-name&page=2"
        );
        let toggled = view.toggled("kind", "component");
        assert!(toggled.filters.iter().all(|(name, _)| *name != "kind"));
    }

    #[test]
    fn bad_parameters_are_named() {
        for (query, needle) in [
            ("page=0", "page"),
            ("page=x", "page"),
            ("sort=colour", "colour"),
            ("colour=red", "colour"),
            ("kind=a,b", "comma"),
        ] {
            let error = parse(query).unwrap_err();
            assert_eq!(error.status, axum::http::StatusCode::BAD_REQUEST);
            assert!(error.message.contains(needle), "{query}: {}", error.message);
        }
        assert!(parse(&format!("q={}", "x".repeat(500))).is_err());
    }
}
