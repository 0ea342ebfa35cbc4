//! The template gallery: the Template entities the viewer may read, as
//! cards, with a text search and tag and owner filters in the URL.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{RawQuery, State};
use axum::response::Response;
use pave_access::Action;
use pave_catalog::QueryRequest;
use serde_json::Value;

use crate::entity_access::EntityAccess;
use crate::portal::session::Viewer;
use crate::portal::views::{Chrome, Row};
use crate::portal::{PageError, render};
use crate::routes::catalog::pairs;
use crate::state::AppState;

/// The most templates the gallery reads.
const MAX_TEMPLATES: u32 = 1000;
/// The longest value a URL parameter may carry.
const MAX_VALUE: usize = 200;

/// One template card.
pub struct Card {
    pub title: String,
    pub description: String,
    pub r#type: String,
    pub tags: Vec<(String, String)>,
    /// The owner as written, and its page when the viewer may read it.
    pub owner: String,
    pub owner_href: Option<String>,
    /// The wizard, when the viewer may run the template.
    pub choose_href: Option<String>,
    pub catalog_href: String,
}

/// A filter value with the link that toggles it.
pub struct FilterValue {
    pub label: String,
    pub count: usize,
    pub href: String,
    pub selected: bool,
}

/// A filter in use, with the link that removes it.
pub struct Chip {
    pub label: String,
    pub href: String,
}

#[derive(askama::Template)]
#[template(path = "create_gallery.html")]
pub struct GalleryPage {
    pub chrome: Chrome,
    pub query: String,
    pub tag: String,
    pub owner: String,
    pub cards: Vec<Card>,
    /// Templates the viewer may see before the filters.
    pub total: usize,
    pub tags: Vec<FilterValue>,
    pub owners: Vec<FilterValue>,
    pub chips: Vec<Chip>,
    pub clear_href: String,
}

/// What the gallery's URL asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct View {
    query: String,
    tag: String,
    owner: String,
}

impl View {
    fn parse(raw: &Option<String>) -> Result<View, PageError> {
        let mut view = View::default();
        for (key, value) in pairs(raw) {
            if value.chars().count() > MAX_VALUE {
                return Err(PageError::bad_request(format!(
                    "The `{key}` parameter is longer than {MAX_VALUE} characters."
                )));
            }
            let value = value.trim().to_string();
            match key.as_str() {
                "q" => view.query = value,
                "tag" => view.tag = value,
                "owner" => view.owner = value,
                other => {
                    return Err(PageError::bad_request(format!(
                        "The gallery has no `{other}` parameter; it takes q, tag and owner."
                    )));
                }
            }
        }
        Ok(view)
    }

    fn href(&self) -> String {
        let mut url = form_urlencoded::Serializer::new(String::new());
        for (key, value) in [
            ("q", &self.query),
            ("tag", &self.tag),
            ("owner", &self.owner),
        ] {
            if !value.is_empty() {
                url.append_pair(key, value);
            }
        }
        let query = url.finish();
        if query.is_empty() {
            "/create".into()
        } else {
            format!("/create?{query}")
        }
    }

    fn with_tag(&self, tag: &str) -> View {
        let mut next = self.clone();
        next.tag = if self.tag.eq_ignore_ascii_case(tag) {
            String::new()
        } else {
            tag.to_string()
        };
        next
    }

    fn with_owner(&self, owner: &str) -> View {
        let mut next = self.clone();
        next.owner = if self.owner.eq_ignore_ascii_case(owner) {
            String::new()
        } else {
            owner.to_string()
        };
        next
    }

    /// Whether a template passes the search and the filters.
    fn admits(&self, row: &Row, owner: &str) -> bool {
        let query = self.query.to_lowercase();
        let matches_query = query.is_empty()
            || [&row.name, &row.title, &row.description]
                .iter()
                .any(|text| text.to_lowercase().contains(&query))
            || row
                .tags
                .iter()
                .any(|tag| tag.to_lowercase().contains(&query));
        let matches_tag = self.tag.is_empty()
            || row
                .tags
                .iter()
                .any(|tag| tag.eq_ignore_ascii_case(&self.tag));
        let matches_owner = self.owner.is_empty() || owner.eq_ignore_ascii_case(&self.owner);
        matches_query && matches_tag && matches_owner
    }
}

/// The owner reference the catalog resolved (`ownedBy`), else as written.
fn owner_of(entity: &Value) -> String {
    entity["relations"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|relation| relation["type"] == "ownedBy")
        .and_then(|relation| relation["targetRef"].as_str())
        .map(str::to_string)
        .unwrap_or_else(|| {
            entity
                .pointer("/spec/owner")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        })
}

fn options(
    counts: BTreeMap<String, usize>,
    selected: &str,
    href: impl Fn(&str) -> String,
) -> Vec<FilterValue> {
    counts
        .into_iter()
        .map(|(label, count)| FilterValue {
            href: href(&label),
            selected: label.eq_ignore_ascii_case(selected),
            label,
            count,
        })
        .collect()
}

pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let view = View::parse(&raw)?;
    let access = EntityAccess::new(&state, &viewer.principal);
    let visible = access.visible();
    let visible = visible.as_ref().map(|f| f as _);
    let request = QueryRequest {
        filter: vec!["kind=template".into()],
        fields: vec![
            "kind".into(),
            "metadata".into(),
            "spec".into(),
            "relations".into(),
        ],
        limit: Some(MAX_TEMPLATES),
        ..QueryRequest::default()
    };
    let templates = state.catalog.query(&request, visible).await?.items;

    // Owners are linked when they exist and the viewer may read them.
    let mut owner_refs: Vec<String> = templates.iter().map(owner_of).collect();
    owner_refs.sort();
    owner_refs.dedup();
    owner_refs.retain(|owner| owner.contains(':'));
    let found = state
        .catalog
        .entities_by_refs(
            &owner_refs,
            &["kind".into(), "metadata".into(), "spec".into()],
        )
        .await?;
    let owner_pages: HashMap<String, String> = owner_refs
        .iter()
        .zip(found)
        .filter_map(|(reference, entity)| {
            let entity = entity?;
            access
                .may_read(&entity)
                .then(|| (reference.clone(), Row::of(&entity).href))
        })
        .collect();

    let mut tag_counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut owner_counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut cards = Vec::new();
    for entity in &templates {
        let row = Row::of(entity);
        let owner = owner_of(entity);
        for tag in &row.tags {
            *tag_counts.entry(tag.clone()).or_default() += 1;
        }
        if !owner.is_empty() {
            *owner_counts.entry(owner.clone()).or_default() += 1;
        }
        if !view.admits(&row, &owner) {
            continue;
        }
        let namespace = entity
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("default")
            .to_lowercase();
        let part = |text: &str| -> String {
            form_urlencoded::byte_serialize(text.to_lowercase().as_bytes()).collect()
        };
        cards.push(Card {
            choose_href: access
                .may(Action::ScaffolderTemplateRun, entity)
                .then(|| format!("/create/templates/{}/{}", part(&namespace), part(&row.name))),
            title: row.label().to_string(),
            owner_href: owner_pages.get(&owner).cloned(),
            owner: if row.owner.is_empty() {
                owner.clone()
            } else {
                row.owner.clone()
            },
            tags: row
                .tags
                .iter()
                .map(|tag| (tag.clone(), view.with_tag(tag).href()))
                .collect(),
            catalog_href: row.href.clone(),
            description: row.description.clone(),
            r#type: row.r#type.clone(),
        });
    }
    cards.sort_by_key(|card| card.title.to_lowercase());

    let mut chips = Vec::new();
    if !view.tag.is_empty() {
        chips.push(Chip {
            label: format!("tag: {}", view.tag),
            href: view.with_tag(&view.tag).href(),
        });
    }
    if !view.owner.is_empty() {
        chips.push(Chip {
            label: format!("owner: {}", view.owner),
            href: view.with_owner(&view.owner).href(),
        });
    }
    let mut chrome = Chrome::for_viewer("Create", &viewer, "create");
    chrome.query = String::new();
    let gallery = GalleryPage {
        chrome,
        query: view.query.clone(),
        tag: view.tag.clone(),
        owner: view.owner.clone(),
        total: templates.len(),
        tags: options(tag_counts, &view.tag, |tag| view.with_tag(tag).href()),
        owners: options(owner_counts, &view.owner, |owner| {
            view.with_owner(owner).href()
        }),
        chips,
        clear_href: View {
            query: view.query.clone(),
            ..View::default()
        }
        .href(),
        cards,
    };
    render(&gallery)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_url_holds_search_tag_and_owner() {
        let view =
            View::parse(&Some("q=py&tag=python&owner=group:default/platform".into())).unwrap();
        assert_eq!(
            view.href(),
            "/create?q=py&tag=python&owner=group%3Adefault%2Fplatform"
        );
        assert_eq!(
            view.with_tag("python").href(),
            "/create?q=py&owner=group%3Adefault%2Fplatform"
        );
        assert_eq!(view.with_tag("rust").tag, "rust");
        assert_eq!(View::default().href(), "/create");
        let error = View::parse(&Some("colour=red".into())).unwrap_err();
        assert!(error.message.contains("`colour`"));
        assert!(View::parse(&Some(format!("q={}", "x".repeat(300)))).is_err());
    }

    #[test]
    fn search_matches_name_title_description_and_tags() {
        let entity = json!({
            "kind": "Template",
            "metadata": {"name": "python-service", "title": "Python service", "description": "An HTTP service", "tags": ["recommended"]},
            "spec": {"type": "service", "owner": "platform"},
            "relations": [{"type": "ownedBy", "targetRef": "group:default/platform"}]
        });
        let row = Row::of(&entity);
        let owner = owner_of(&entity);
        assert_eq!(owner, "group:default/platform");
        let admits = |query: &str| {
            View::parse(&Some(query.into()))
                .unwrap()
                .admits(&row, &owner)
        };
        for yes in [
            "q=PYTHON",
            "q=http",
            "q=recommend",
            "q=python-serv",
            "tag=Recommended",
            "owner=group:default/platform",
            "",
        ] {
            assert!(admits(yes), "{yes}");
        }
        for no in [
            "q=rust",
            "tag=rust",
            "owner=group:default/other",
            "q=platform",
        ] {
            assert!(!admits(no), "{no}");
        }
    }
}
