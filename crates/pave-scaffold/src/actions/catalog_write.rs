//! `catalog:write`: writes an entity as a catalog-info YAML file into the
//! workspace.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{Action, ActionContext, ActionError, ActionFuture, parse_input};

const NAME: &str = "catalog:write";

/// Writes `catalog-info.yaml` (or `filePath`) from an entity object.
#[derive(Debug, Clone, Copy, Default)]
pub struct CatalogWrite;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    file_path: Option<String>,
    entity: Value,
}

impl Action for CatalogWrite {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "Writes a catalog entity as a YAML file (catalog-info.yaml by default) into the workspace."
    }

    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "required": ["entity"],
            "properties": {
                "filePath": {"type": "string", "description": "Where to write, relative to the workspace; `catalog-info.yaml` by default."},
                "entity": {
                    "type": "object",
                    "description": "The entity to write.",
                    "required": ["apiVersion", "kind", "metadata"],
                    "properties": {
                        "apiVersion": {"type": "string"},
                        "kind": {"type": "string"},
                        "metadata": {"type": "object", "required": ["name"]}
                    }
                }
            }
        })
    }

    fn run<'a>(&'a self, context: &'a mut ActionContext<'_>, input: &'a Value) -> ActionFuture<'a> {
        Box::pin(async move {
            let input: Input = parse_input(NAME, input)?;
            let path = input
                .file_path
                .clone()
                .unwrap_or_else(|| "catalog-info.yaml".into());
            let target = context
                .workspace
                .resolve(&path)
                .map_err(|error| ActionError::workspace(NAME, error))?;
            let text = serde_saphyr::to_string(&input.entity)
                .map_err(|error| ActionError::invalid(NAME, "entity", error.to_string()))?;
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|error| ActionError::io(NAME, "create the folder of", &path, error))?;
            }
            std::fs::write(&target, text)
                .map_err(|error| ActionError::io(NAME, "write", &path, error))?;
            context.log(format!("Wrote {path}"));
            Ok(json!({}))
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::actions::{ActionContext, ActionRegistry};
    use crate::workspace::Workspace;

    use super::CatalogWrite;

    #[tokio::test]
    async fn writes_the_entity_as_yaml_inside_the_workspace_only() {
        let directory = tempfile::tempdir().expect("tempdir");
        let workspace = Workspace::new(directory.path()).expect("workspace");
        let mut registry = ActionRegistry::new();
        registry
            .register(std::sync::Arc::new(CatalogWrite))
            .expect("register");
        let mut log = Vec::new();
        let mut context = ActionContext::new(&workspace, &mut log);
        let entity = json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": "orders"}, "spec": {"type": "service", "owner": "team-a", "lifecycle": "experimental"}});
        registry
            .run("catalog:write", &mut context, &json!({"entity": entity}))
            .await
            .expect("writes");
        let text =
            std::fs::read_to_string(directory.path().join("catalog-info.yaml")).expect("file");
        let back: serde_json::Value = serde_saphyr::from_str(&text).expect("yaml");
        assert_eq!(back, entity);

        let escape = registry
            .run(
                "catalog:write",
                &mut context,
                &json!({"filePath": "../outside.yaml", "entity": entity}),
            )
            .await
            .expect_err("refused");
        assert!(escape.to_string().contains("catalog:write"), "{escape}");
        assert!(!directory.path().join("../outside.yaml").exists());

        let missing = registry
            .run(
                "catalog:write",
                &mut context,
                &json!({"entity": {"kind": "Component"}}),
            )
            .await
            .expect_err("invalid");
        assert!(missing.to_string().contains("entity"), "{missing}");
    }
}
