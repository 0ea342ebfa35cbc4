//! Where a component's code lives: its catalog entity's
//! `backstage.io/source-location` (`url:<git URL of a folder>`), with
//! `score.yaml` in that folder unless `pave.dev/score-path` names another
//! file (relative to the folder).

use pave_git::RepositoryPath;
use serde_json::Value;

/// Backstage's annotation for where an entity's code is.
pub const SOURCE_LOCATION: &str = "backstage.io/source-location";
/// Pave's annotation for the Score file, relative to the source folder.
pub const SCORE_PATH: &str = "pave.dev/score-path";

/// A component's code: a git remote, a default ref and a folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The entity reference, for messages.
    pub component: String,
    /// The git remote (`file://…` or `https://…`).
    pub remote: String,
    /// The ref the source location names (`None`: the remote's default branch).
    pub reference: Option<String>,
    /// The folder in the repository (`""` is the root).
    pub directory: String,
    /// The Score file's path in the repository.
    pub score_path: String,
}

/// Reads a component entity's source; the error says which annotation to set.
pub fn source_of(component: &Value, reference: &str) -> Result<Source, String> {
    let annotations = component.pointer("/metadata/annotations");
    let annotation = |key: &str| {
        annotations
            .and_then(|annotations| annotations.get(key))
            .and_then(Value::as_str)
    };
    let location = annotation(SOURCE_LOCATION).ok_or_else(|| {
        format!(
            "{reference} has no `{SOURCE_LOCATION}` annotation, so Pave does not know where its code is; register it from a git URL (the catalog then sets it) or add `{SOURCE_LOCATION}: url:<git URL of the folder>`"
        )
    })?;
    let url = location.strip_prefix("url:").ok_or_else(|| {
        format!("{reference}: `{SOURCE_LOCATION}` is `{location}`; Pave deploys from `url:` source locations (a git repository)")
    })?;
    let parsed = parse_folder_url(url).map_err(|error| {
        format!(
            "{reference}: `{SOURCE_LOCATION}` `{url}` is not a git location Pave can read: {error}"
        )
    })?;
    let score = annotation(SCORE_PATH).unwrap_or("score.yaml");
    if score.starts_with('/') || score.split('/').any(|part| part == "..") {
        return Err(format!(
            "{reference}: `{SCORE_PATH}` `{score}` must be a path relative to the source folder, without `..`"
        ));
    }
    let score_path = if parsed.path.is_empty() {
        score.to_string()
    } else {
        format!("{}/{score}", parsed.path)
    };
    Ok(Source {
        component: reference.to_string(),
        remote: parsed.remote,
        reference: parsed.reference,
        directory: parsed.path,
        score_path,
    })
}

/// Parses a folder URL: the tree form (`…/tree/<ref>/<path>/`), the plain
/// form (`<remote>#<ref>:<path>`), or a bare remote (its default branch, the
/// root folder).
fn parse_folder_url(url: &str) -> Result<RepositoryPath, String> {
    let trimmed = url.trim_end_matches('/');
    if trimmed.contains("/tree/") || trimmed.contains('#') {
        return RepositoryPath::parse(trimmed).map_err(|error| error.to_string());
    }
    RepositoryPath::parse(&format!("{trimmed}#:")).map_err(|error| error.to_string())
}

/// The folder of the Score file inside the repository.
pub fn score_directory(score_path: &str) -> &str {
    score_path
        .rsplit_once('/')
        .map(|(folder, _)| folder)
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn component(annotations: Value) -> Value {
        json!({"kind": "Component", "metadata": {"name": "orders", "annotations": annotations}})
    }

    #[test]
    fn the_source_location_names_remote_ref_and_folder() {
        let source = source_of(
            &component(
                json!({SOURCE_LOCATION: "url:file:///srv/git/team-a/orders.git/tree/main/"}),
            ),
            "component:default/orders",
        )
        .expect("source");
        assert_eq!(source.remote, "file:///srv/git/team-a/orders.git");
        assert_eq!(source.reference.as_deref(), Some("main"));
        assert_eq!(source.directory, "");
        assert_eq!(source.score_path, "score.yaml");

        let nested = source_of(
            &component(json!({SOURCE_LOCATION: "url:https://example.com/o/r#v2:services/orders/", SCORE_PATH: "deploy/score.yaml"})),
            "component:default/orders",
        )
        .expect("source");
        assert_eq!(nested.remote, "https://example.com/o/r");
        assert_eq!(nested.directory, "services/orders");
        assert_eq!(nested.score_path, "services/orders/deploy/score.yaml");
        assert_eq!(
            score_directory(&nested.score_path),
            "services/orders/deploy"
        );

        let bare = source_of(
            &component(json!({SOURCE_LOCATION: "url:file:///srv/git/x.git"})),
            "component:default/x",
        )
        .expect("source");
        assert_eq!((bare.reference, bare.directory), (None, String::new()));
    }

    #[test]
    fn missing_or_unusable_locations_say_what_to_set() {
        let cases = [
            (json!({}), "has no `backstage.io/source-location`"),
            (
                json!({SOURCE_LOCATION: "file:/srv/x"}),
                "from `url:` source locations",
            ),
            (
                json!({SOURCE_LOCATION: "url:ssh://host/r.git"}),
                "not a git location",
            ),
            (
                json!({SOURCE_LOCATION: "url:file:///srv/x.git", SCORE_PATH: "../score.yaml"}),
                "without `..`",
            ),
        ];
        for (annotations, expected) in cases {
            let error = source_of(&component(annotations.clone()), "component:default/orders")
                .expect_err("refused");
            assert!(error.contains(expected), "{annotations}: {error}");
        }
    }
}
