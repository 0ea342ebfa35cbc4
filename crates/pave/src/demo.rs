//! The demo the first `pave up` seeds, so a newcomer sees a live URL within
//! seconds: the Python golden path creates `demo/hello` in Pave's git
//! hosting, registers the `hello` component and deploys it to `dev` (which
//! it creates). Everything goes through the same engines a person would
//! use, so the demo also shows them working.

use std::time::Duration;

use anyhow::{Context, bail};
use pave_catalog::Catalog;
use pave_catalog_model::EntityRef;
use pave_scaffold::tasks::{NewTask, Scaffolder, TaskStatus};
use serde_json::json;

/// Who the demo's records name.
const ACTOR: &str = "user:default/admin";

/// The demo component and environment.
pub const COMPONENT: &str = "hello";
pub const ENVIRONMENT: &str = "dev";

/// Creates, registers and deploys the demo service; returns its URL.
pub async fn seed(catalog: &Catalog, scaffolder: &Scaffolder) -> anyhow::Result<String> {
    let reference = EntityRef::new("template", "default", "python-service");
    // At the first start the golden paths are registered but not read yet.
    if catalog.entity_by_ref(&reference).await.is_err() {
        catalog.refresh_all().await?;
    }
    let template = catalog
        .entity_by_ref(&reference)
        .await
        .context("the python-service golden path is not in the catalog")?;
    let task = scaffolder
        .create_task(NewTask {
            template,
            values: json!({
                "name": COMPONENT,
                "description": "The demo service Pave seeds on its first start.",
                "owner": "group:default/platform",
                "repoUrl": format!("pave?owner=demo&repo={COMPONENT}"),
                "deploy": true,
            }),
            secrets: Default::default(),
            created_by: ACTOR.into(),
        })
        .await?;
    let task = scaffolder.wait(&task.id, Duration::from_secs(60)).await?;
    if task.status != TaskStatus::Completed {
        bail!(
            "the golden path task {} ended {}",
            task.id,
            task.status.as_str()
        );
    }
    // The golden path's last step deployed it to `dev`.
    task.output
        .as_ref()
        .and_then(|output| output["links"].as_array())
        .and_then(|links| {
            links
                .iter()
                .find(|link| link["title"] == "Open in dev")
                .and_then(|link| link["url"].as_str())
        })
        .map(str::to_string)
        .ok_or_else(|| {
            anyhow::anyhow!("the golden path finished without deploying to {ENVIRONMENT}")
        })
}
