//! The demo the first `pave up` seeds, so a newcomer sees a live URL within
//! seconds: the Python golden path creates `demo/hello` in Pave's git
//! hosting and registers the `hello` component; a `dev` environment is
//! created and `hello` is deployed to it. Everything goes through the same
//! engines a person would use, so the demo also shows them working.

use std::time::Duration;

use anyhow::{Context, bail};
use pave_catalog::Catalog;
use pave_catalog_model::EntityRef;
use pave_deploy::{DeployRequest, Deployer, DeploymentStatus, NewEnvironment};
use pave_scaffold::tasks::{NewTask, Scaffolder, TaskStatus};
use serde_json::json;

/// Who the demo's records name.
const ACTOR: &str = "user:default/admin";

/// The demo component and environment.
pub const COMPONENT: &str = "hello";
pub const ENVIRONMENT: &str = "dev";

/// Creates, registers and deploys the demo service; returns its URL.
pub async fn seed(
    catalog: &Catalog,
    scaffolder: &Scaffolder,
    deployer: &Deployer,
) -> anyhow::Result<String> {
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
    let environments = deployer.environments();
    if environments.get(ENVIRONMENT).await.is_err() {
        environments
            .create(
                NewEnvironment {
                    name: ENVIRONMENT.into(),
                    description: "Development: the demo deploys here".into(),
                    ..NewEnvironment::default()
                },
                ACTOR,
            )
            .await?;
    }
    let deployment = deployer
        .deploy(DeployRequest {
            component: COMPONENT.into(),
            environment: ENVIRONMENT.into(),
            revision: None,
            created_by: ACTOR.into(),
        })
        .await?;
    if deployment.status != DeploymentStatus::Healthy {
        bail!("the demo deployment is {}: {}", deployment.status.as_str(), deployment.message);
    }
    Ok(deployer.url_of(COMPONENT, ENVIRONMENT))
}
