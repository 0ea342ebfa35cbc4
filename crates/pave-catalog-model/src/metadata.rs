//! `metadata`: the fields every entity shares, their rules
//! (`EntityMeta.schema.json` plus Backstage's `FieldFormatEntityPolicy`), and
//! the typed [`Metadata`] read from them.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::check::{self, Presence};
use crate::format;
use crate::problem::{Problems, child, item};
use crate::reference::DEFAULT_NAMESPACE;

const PATH: &str = "metadata";

const NAME_RULE: &str =
    "expected at most 63 characters: runs of [a-zA-Z0-9] separated by any of [-_.]";
const NAMESPACE_RULE: &str =
    "expected at most 63 characters: runs of [a-z0-9] separated by single dashes";
const KEY_RULE: &str = "expected an optional lower-case DNS subdomain and `/` (e.g. `example.com/`), then at most 63 characters: runs of [a-zA-Z0-9] separated by any of [-_.]";
const LABEL_VALUE_RULE: &str = "expected an empty string, or at most 63 characters: runs of [a-zA-Z0-9] separated by any of [-_.]";
const TAG_RULE: &str =
    "expected at most 63 characters: runs of [a-z0-9:+#] separated by single dashes";

/// The metadata of a valid entity.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Metadata {
    /// The name, as written (names compare case-insensitively; see
    /// [`crate::Entity::reference`]).
    pub name: String,
    /// The namespace; [`DEFAULT_NAMESPACE`] when the document names none.
    pub namespace: String,
    /// A display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// A short description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Identifying key/value pairs.
    pub labels: BTreeMap<String, String>,
    /// Non-identifying key/value pairs.
    pub annotations: BTreeMap<String, String>,
    /// Classification tags, in document order.
    pub tags: Vec<String>,
    /// External links, in document order.
    pub links: Vec<Link>,
}

/// An entry of `metadata.links`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Link {
    /// An absolute URL.
    pub url: String,
    /// A display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// A key naming an icon for the UI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    /// A category for grouping links (`runbook`, `dashboard`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
}

/// Reads and checks `metadata`, recording every problem. The returned value is
/// only meaningful when no problem was recorded.
pub(crate) fn read(value: Option<&Value>, problems: &mut Problems) -> Metadata {
    let mut metadata = Metadata {
        namespace: DEFAULT_NAMESPACE.to_owned(),
        ..Metadata::default()
    };
    let Some(value) = value else {
        problems.push(PATH, "is required");
        return metadata;
    };
    let Some(object) = check::as_object(value, PATH, problems) else {
        return metadata;
    };
    if let Some(name) = check::any_string(object, PATH, "name", Presence::Required, problems) {
        if !format::is_valid_object_name(name) {
            problems.push(child(PATH, "name"), rule_message("name", name, NAME_RULE));
        }
        metadata.name = name.to_owned();
    }
    if let Some(namespace) =
        check::any_string(object, PATH, "namespace", Presence::Optional, problems)
    {
        if !format::is_valid_namespace(namespace) {
            problems.push(
                child(PATH, "namespace"),
                rule_message("namespace", namespace, NAMESPACE_RULE),
            );
        }
        metadata.namespace = namespace.to_owned();
    }
    // Output-only fields: the server sets them, but a document read back from
    // the API carries them, so they are allowed when well-formed.
    check::text(object, PATH, "uid", Presence::Optional, problems);
    check::text(object, PATH, "etag", Presence::Optional, problems);
    metadata.title =
        check::text(object, PATH, "title", Presence::Optional, problems).map(str::to_owned);
    metadata.description =
        check::any_string(object, PATH, "description", Presence::Optional, problems)
            .map(str::to_owned);
    metadata.labels = read_labels(object, problems);
    metadata.annotations = read_annotations(object, problems);
    metadata.tags = read_tags(object, problems);
    metadata.links = read_links(object, problems);
    metadata
}

fn read_labels(object: &Map<String, Value>, problems: &mut Problems) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let Some(entries) = check::object(object, PATH, "labels", Presence::Optional, problems) else {
        return labels;
    };
    let path = child(PATH, "labels");
    for (key, value) in entries {
        let entry_path = child(&path, key);
        if !format::is_valid_label_key(key) {
            problems.push(
                &entry_path,
                format!("`{key}` is not a valid label key: {KEY_RULE}"),
            );
        }
        if let Some(text) = check::string(value, &entry_path, problems) {
            if !format::is_valid_label_value(text) {
                problems.push(
                    &entry_path,
                    rule_message("label value", text, LABEL_VALUE_RULE),
                );
            }
            labels.insert(key.clone(), text.to_owned());
        }
    }
    labels
}

fn read_annotations(
    object: &Map<String, Value>,
    problems: &mut Problems,
) -> BTreeMap<String, String> {
    let mut annotations = BTreeMap::new();
    let Some(entries) = check::object(object, PATH, "annotations", Presence::Optional, problems)
    else {
        return annotations;
    };
    let path = child(PATH, "annotations");
    for (key, value) in entries {
        let entry_path = child(&path, key);
        if !format::is_valid_annotation_key(key) {
            problems.push(
                &entry_path,
                format!("`{key}` is not a valid annotation key: {KEY_RULE}"),
            );
        }
        // Annotation values may be any string.
        if let Some(text) = check::string(value, &entry_path, problems) {
            annotations.insert(key.clone(), text.to_owned());
        }
    }
    annotations
}

fn read_tags(object: &Map<String, Value>, problems: &mut Problems) -> Vec<String> {
    let Some(items) = check::array(object, PATH, "tags", Presence::Optional, problems) else {
        return Vec::new();
    };
    let path = child(PATH, "tags");
    let mut tags = Vec::with_capacity(items.len());
    for (index, value) in items.iter().enumerate() {
        let tag_path = item(&path, index);
        if let Some(tag) = check::string(value, &tag_path, problems) {
            if !format::is_valid_tag(tag) {
                problems.push(&tag_path, rule_message("tag", tag, TAG_RULE));
            }
            tags.push(tag.to_owned());
        }
    }
    tags
}

fn read_links(object: &Map<String, Value>, problems: &mut Problems) -> Vec<Link> {
    let Some(items) = check::array(object, PATH, "links", Presence::Optional, problems) else {
        return Vec::new();
    };
    let path = child(PATH, "links");
    let mut links = Vec::with_capacity(items.len());
    for (index, value) in items.iter().enumerate() {
        let link_path = item(&path, index);
        let Some(entry) = check::as_object(value, &link_path, problems) else {
            continue;
        };
        let url = check::any_string(entry, &link_path, "url", Presence::Required, problems);
        if let Some(url) = url.filter(|url| !format::is_valid_url(url)) {
            problems.push(
                child(&link_path, "url"),
                format!("`{url}` is not a valid URL: expected an absolute URL with a scheme, such as https://example.com/docs"),
            );
        }
        let title = check::any_string(entry, &link_path, "title", Presence::Optional, problems);
        if title.is_some_and(|title| title.trim().is_empty()) {
            problems.push(child(&link_path, "title"), "must not be empty or blank");
        }
        let icon = check::any_string(entry, &link_path, "icon", Presence::Optional, problems);
        if let Some(icon) = icon.filter(|icon| !format::is_valid_object_name(icon)) {
            problems.push(
                child(&link_path, "icon"),
                rule_message("icon", icon, NAME_RULE),
            );
        }
        let link_type = check::text(entry, &link_path, "type", Presence::Optional, problems);
        links.push(Link {
            url: url.unwrap_or_default().to_owned(),
            title: title.map(str::to_owned),
            icon: icon.map(str::to_owned),
            r#type: link_type.map(str::to_owned),
        });
    }
    links
}

/// "`go 1.15.3` is not a valid tag: expected ...", saying the length when
/// that is what is wrong (every rule here allows at most 63 characters).
fn rule_message(what: &str, value: &str, rule: &str) -> String {
    let length = value.chars().count();
    if length > format::MAX_NAME_LENGTH {
        let shown: String = value.chars().take(20).collect();
        format!("`{shown}...` is not a valid {what}: it has {length} characters; {rule}")
    } else {
        format!("`{value}` is not a valid {what}: {rule}")
    }
}

#[cfg(test)]
mod tests;
