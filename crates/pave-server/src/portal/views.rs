//! What each page template shows. Templates (in `templates/`) are compiled
//! and type-checked with the crate, and escape everything they print unless
//! marked `safe` (only the server-drawn graph and highlighted definitions,
//! which escape their own text).

use askama::Template;
use serde_json::Value;

use super::apidoc::ApiSummary;

/// The frame around every page: title, the signed-in viewer (if any) and
/// the sign-out form's CSRF token.
pub struct Chrome {
    pub title: String,
    pub viewer: Option<String>,
    pub csrf: String,
    /// The text in the header's search box.
    pub query: String,
    /// Which navigation item is current: `home`, `catalog`, `create` or
    /// `environments`.
    pub section: &'static str,
}

impl Chrome {
    pub fn anonymous(title: &str) -> Chrome {
        Chrome {
            title: title.to_string(),
            viewer: None,
            csrf: String::new(),
            query: String::new(),
            section: "",
        }
    }

    pub fn for_viewer(
        title: &str,
        viewer: &super::session::Viewer,
        section: &'static str,
    ) -> Chrome {
        Chrome {
            title: title.to_string(),
            viewer: Some(viewer.principal.reference.to_string()),
            csrf: viewer.csrf.clone(),
            query: String::new(),
            section,
        }
    }
}

/// One entity in a list.
pub struct Row {
    pub href: String,
    pub name: String,
    pub title: String,
    pub kind: String,
    pub kind_class: String,
    pub r#type: String,
    pub owner: String,
    pub lifecycle: String,
    pub system: String,
    pub description: String,
    pub tags: Vec<String>,
}

fn text(entity: &Value, pointer: &str) -> String {
    entity
        .pointer(pointer)
        .map(|value| match value {
            Value::String(text) => text.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        })
        .unwrap_or_default()
}

/// The portal path of an entity: `/catalog/<kind>/<namespace>/<name>`.
pub fn entity_href(kind: &str, namespace: &str, name: &str) -> String {
    let part = |text: &str| -> String {
        form_urlencoded::byte_serialize(text.to_lowercase().as_bytes()).collect()
    };
    format!("/catalog/{}/{}/{}", part(kind), part(namespace), part(name))
}

impl Row {
    pub fn of(entity: &Value) -> Row {
        let kind = text(entity, "/kind");
        let namespace = match text(entity, "/metadata/namespace") {
            namespace if namespace.is_empty() => "default".to_string(),
            namespace => namespace,
        };
        let name = text(entity, "/metadata/name");
        Row {
            href: entity_href(&kind, &namespace, &name),
            title: text(entity, "/metadata/title"),
            kind_class: kind_class(&kind),
            kind,
            name,
            r#type: text(entity, "/spec/type"),
            owner: text(entity, "/spec/owner"),
            lifecycle: text(entity, "/spec/lifecycle"),
            system: text(entity, "/spec/system"),
            description: text(entity, "/metadata/description"),
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
        }
    }

    /// The title when there is one, else the name.
    pub fn label(&self) -> &str {
        if self.title.is_empty() {
            &self.name
        } else {
            &self.title
        }
    }
}

/// A CSS class for a kind: lower-case letters only.
pub fn kind_class(kind: &str) -> String {
    let letters: String = kind
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_lowercase();
    format!("kind-{letters}")
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub chrome: Chrome,
    pub csrf: String,
    pub next: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub chrome: Chrome,
    pub status: u16,
    pub heading: &'static str,
    pub message: String,
}

#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage {
    pub chrome: Chrome,
    pub groups: Vec<String>,
    pub owned: Vec<Row>,
    pub recent: Vec<Row>,
    pub broken: Vec<Row>,
}

/// One value of a facet, with the link that toggles it.
pub struct FacetValue {
    pub value: String,
    pub count: i64,
    pub href: String,
    pub selected: bool,
}

pub struct Facet {
    pub label: &'static str,
    pub values: Vec<FacetValue>,
    /// Values beyond the first few are folded away.
    pub more: Vec<FacetValue>,
}

/// A column header that sorts the table.
pub struct SortHeader {
    pub label: &'static str,
    pub href: String,
    /// `ascending`, `descending` or `none` (for `aria-sort`).
    pub state: &'static str,
}

/// A filter in use, with the link that removes it.
pub struct ActiveFilter {
    pub label: String,
    pub href: String,
}

#[derive(Template)]
#[template(path = "explorer.html")]
pub struct ExplorerPage {
    pub chrome: Chrome,
    pub query: String,
    pub hidden: Vec<(String, String)>,
    pub facets: Vec<Facet>,
    pub active: Vec<ActiveFilter>,
    pub clear_href: String,
    pub headers: Vec<SortHeader>,
    pub rows: Vec<Row>,
    pub total: u64,
    pub first: u64,
    pub last: u64,
    pub previous_href: Option<String>,
    pub next_href: Option<String>,
}

/// A link to a related entity.
pub struct Related {
    pub href: String,
    pub label: String,
    pub kind: String,
    pub kind_class: String,
}

/// Relations of one type.
pub struct RelationGroup {
    pub heading: String,
    pub items: Vec<Related>,
}

/// A link from `metadata.links`.
pub struct Link {
    pub href: String,
    pub title: String,
}

/// An API entity's definition, rendered.
pub struct Definition {
    pub api_type: String,
    /// OpenAPI definitions, as operations.
    pub summary: Option<ApiSummary>,
    /// Anything else, or an OpenAPI definition that could not be read.
    pub highlighted: Option<String>,
    /// Why the OpenAPI definition is shown as text.
    pub problem: Option<String>,
}

#[derive(Template)]
#[template(path = "entity.html")]
pub struct EntityPage {
    pub chrome: Chrome,
    pub row: Row,
    pub reference: String,
    pub namespace: String,
    pub domain: String,
    /// Links to the owner, system and domain when the viewer may read them.
    pub owner_href: Option<String>,
    pub system_href: Option<String>,
    pub domain_href: Option<String>,
    pub links: Vec<Link>,
    pub source: String,
    pub annotations: Vec<(String, String)>,
    pub labels: Vec<(String, String)>,
    /// Group and user pages: members, child groups, groups, owned entities.
    pub people: Vec<RelationGroup>,
    pub relations: Vec<RelationGroup>,
    pub graph: String,
    pub errors: Vec<String>,
    pub yaml: String,
    pub definition: Option<Definition>,
    /// A component's deployments per environment (`environments/`).
    pub deployments: Option<super::environments::DeploymentsSection>,
}
