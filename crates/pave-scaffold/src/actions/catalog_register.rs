//! `catalog:register`: registers the new repository's `catalog-info.yaml`
//! as a catalog location and reads it at once, so the new component is in
//! the catalog when the task ends.
//!
//! It registers with the template's authority, not the user's: a platform
//! team that lets people run a template vouches for what it registers (the
//! task itself is authorized and audited as `scaffolder.template.run`).

use std::sync::Arc;

use pave_catalog::{Catalog, CatalogError, LocationSpec};
use pave_catalog_model::EntityRef;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Action, ActionContext, ActionError, ActionFuture, parse_input};

const NAME: &str = "catalog:register";

/// Registers a catalog location.
pub struct CatalogRegister {
    catalog: Arc<Catalog>,
}

impl CatalogRegister {
    /// The action over this catalog.
    pub fn new(catalog: Arc<Catalog>) -> CatalogRegister {
        CatalogRegister { catalog }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    catalog_info_url: Option<String>,
    repo_contents_url: Option<String>,
    catalog_info_path: Option<String>,
    #[serde(default)]
    optional: bool,
}

impl Action for CatalogRegister {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "Registers a catalog-info file as a catalog location and ingests it at once."
    }

    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "catalogInfoUrl": {"type": "string", "description": "URL of the catalog-info file, e.g. a blob URL."},
                "repoContentsUrl": {"type": "string", "description": "Repository contents URL (the `repoContentsUrl` output of publish:git); combined with catalogInfoPath."},
                "catalogInfoPath": {"type": "string", "description": "Path of the file in the repository; `/catalog-info.yaml` by default."},
                "optional": {"type": "boolean", "description": "Succeed even when the file cannot be registered."}
            },
            "anyOf": [{"required": ["catalogInfoUrl"]}, {"required": ["repoContentsUrl"]}]
        })
    }

    fn run<'a>(&'a self, context: &'a mut ActionContext<'_>, input: &'a Value) -> ActionFuture<'a> {
        Box::pin(async move {
            let input: Input = parse_input(NAME, input)?;
            let path = input
                .catalog_info_path
                .clone()
                .unwrap_or_else(|| "/catalog-info.yaml".into());
            let url = match (&input.catalog_info_url, &input.repo_contents_url) {
                (Some(url), _) => url.clone(),
                (None, Some(contents)) => format!(
                    "{}/{}",
                    contents.trim_end_matches('/'),
                    path.trim_start_matches('/')
                ),
                (None, None) => {
                    return Err(ActionError::invalid(
                        NAME,
                        "",
                        "give `catalogInfoUrl`, or `repoContentsUrl` with `catalogInfoPath`",
                    ));
                }
            };
            if context.dry_run {
                context.log(format!("Dry run: would register {url} in the catalog"));
                // The file is in the workspace; its entity tells the ref.
                let entity_ref = context
                    .workspace
                    .resolve(path.trim_start_matches('/'))
                    .ok()
                    .and_then(|file| std::fs::read_to_string(file).ok())
                    .and_then(|text| first_entity_ref_in_yaml(&text));
                let mut output = json!({"catalogInfoUrl": url});
                if let Some(entity_ref) = entity_ref {
                    output["entityRef"] = json!(entity_ref);
                }
                return Ok(output);
            }
            context.check_cancelled(NAME)?;
            context.log(format!("Registering {url} in the catalog"));
            let spec = LocationSpec {
                r#type: "url".into(),
                target: url.clone(),
            };
            let registered = match self.catalog.register(spec, false).await {
                Ok(registered) => registered,
                Err(error) if input.optional => {
                    context.log(format!(
                        "Could not register {url} ({error}); it is optional, so the task goes on"
                    ));
                    return Ok(json!({"catalogInfoUrl": url}));
                }
                Err(CatalogError::Conflict(message)) => {
                    return Err(ActionError::failed(
                        NAME,
                        format!("{message}; the repository is registered already"),
                    ));
                }
                Err(error) => return Err(ActionError::failed(NAME, error.to_string())),
            };
            for problem in &registered.location.errors {
                context.log(format!("Catalog problem: {problem}"));
            }
            let entity_ref = registered.entities.iter().find_map(|entity| {
                let kind = entity.get("kind").and_then(Value::as_str)?;
                if kind.eq_ignore_ascii_case("location") {
                    return None;
                }
                entity_ref_of(entity)
            });
            match entity_ref {
                Some(entity_ref) => {
                    context.log(format!("Registered {entity_ref}"));
                    Ok(json!({"catalogInfoUrl": url, "entityRef": entity_ref}))
                }
                None if input.optional => Ok(json!({"catalogInfoUrl": url})),
                None => Err(ActionError::failed(
                    NAME,
                    format!(
                        "{url} was registered but gave no entity{}; fix the file and refresh the location",
                        registered
                            .location
                            .errors
                            .first()
                            .map(|problem| format!(" ({problem})"))
                            .unwrap_or_default()
                    ),
                )),
            }
        })
    }
}

/// `kind:namespace/name`, lower-case, of a stored or written entity.
fn entity_ref_of(entity: &Value) -> Option<String> {
    let kind = entity.get("kind")?.as_str()?;
    let name = entity.pointer("/metadata/name")?.as_str()?;
    let namespace = entity
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("default");
    Some(EntityRef::new(kind, namespace, name).to_string())
}

/// The ref of the first non-Location entity in a YAML file.
fn first_entity_ref_in_yaml(text: &str) -> Option<String> {
    let documents: Vec<Value> = serde_saphyr::from_multiple(text).ok()?;
    documents.iter().find_map(|entity| {
        let kind = entity.get("kind")?.as_str()?;
        if kind.eq_ignore_ascii_case("location") {
            return None;
        }
        entity_ref_of(entity)
    })
}
