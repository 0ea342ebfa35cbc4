//! `pave:deploy`: the template step that deploys what a golden path just
//! created, so the path ends with a running service.
//!
//! A template runs with its own authority (the platform team vouches for
//! it), not the user's, so this step deploys only to `development` and
//! `preview` environments; staging and production go through a person's
//! own, authorized deploy. With `createEnvironment`, a missing environment
//! is created as a `development` one.

use std::sync::Arc;

use pave_scaffold::actions::{Action, ActionContext, ActionError, ActionFuture};
use serde_json::{Value, json};

use crate::deployments::DeploymentStatus;
use crate::engine::{DeployRequest, Deployer};
use crate::environment::{EnvironmentError, EnvironmentType, NewEnvironment};

const NAME: &str = "pave:deploy";

/// Deploys a component to a development or preview environment.
pub struct DeployAction {
    deployer: Deployer,
}

impl DeployAction {
    pub fn new(deployer: Deployer) -> Arc<DeployAction> {
        Arc::new(DeployAction { deployer })
    }
}

fn failed(message: impl Into<String>) -> ActionError {
    ActionError::Failed {
        action: NAME.to_string(),
        message: message.into(),
    }
}

impl Action for DeployAction {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "Deploys a catalog component to a development or preview environment and waits until it is healthy."
    }

    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "required": ["component"],
            "properties": {
                "component": {"type": "string", "description": "The component's entity ref, e.g. the `entityRef` output of catalog:register."},
                "environment": {"type": "string", "description": "The environment; `dev` by default."},
                "revision": {"type": "string", "description": "Branch, tag or commit; the source location's ref by default."},
                "createEnvironment": {"type": "boolean", "description": "Create the environment (as `development`) when it does not exist."}
            }
        })
    }

    fn run<'a>(&'a self, context: &'a mut ActionContext<'_>, input: &'a Value) -> ActionFuture<'a> {
        Box::pin(async move {
            let component = input["component"].as_str().unwrap_or_default().to_string();
            let environment = input["environment"].as_str().unwrap_or("dev").to_string();
            let create = input["createEnvironment"].as_bool().unwrap_or(false);
            let actor = context
                .user
                .as_ref()
                .map(|user| user.entity_ref.clone())
                .unwrap_or_else(|| "service:scaffolder".into());
            let found = match self.deployer.environments().get(&environment).await {
                Ok(found) => Some(found),
                Err(EnvironmentError::NotFound(_)) => None,
                Err(error) => return Err(failed(error.to_string())),
            };
            let environment_type = match &found {
                Some(found) => found.environment_type,
                None if create => EnvironmentType::Development,
                None => {
                    return Err(failed(format!(
                        "there is no environment `{environment}`; create it first or set `createEnvironment: true`"
                    )));
                }
            };
            if !matches!(
                environment_type,
                EnvironmentType::Development | EnvironmentType::Preview
            ) {
                return Err(failed(format!(
                    "templates deploy only to development and preview environments; `{environment}` is {}. Deploy there yourself (pave deploy)",
                    environment_type.as_str()
                )));
            }
            if context.dry_run {
                context.log(format!(
                    "Dry run: would deploy {component} to {environment}"
                ));
                return Ok(json!({"url": "", "deploymentId": "", "environment": environment}));
            }
            context.check_cancelled(NAME)?;
            if found.is_none() {
                context.log(format!(
                    "Creating the development environment {environment}"
                ));
                let created = self
                    .deployer
                    .environments()
                    .create(
                        NewEnvironment {
                            name: environment.clone(),
                            ..NewEnvironment::default()
                        },
                        &actor,
                    )
                    .await;
                match created {
                    // Made by someone else in the meantime: use it.
                    Ok(_) | Err(EnvironmentError::Conflict(_)) => {}
                    Err(other) => return Err(failed(other.to_string())),
                }
            }
            context.log(format!("Deploying {component} to {environment}"));
            let deployment = self
                .deployer
                .deploy(DeployRequest {
                    component: component.clone(),
                    environment: environment.clone(),
                    revision: input["revision"].as_str().map(str::to_string),
                    created_by: actor,
                })
                .await
                .map_err(|error| failed(error.to_string()))?;
            if deployment.status != DeploymentStatus::Healthy {
                return Err(failed(format!(
                    "deployment {} is {}: {}",
                    deployment.id,
                    deployment.status.as_str(),
                    deployment.message
                )));
            }
            let url = deployment.resolved["urls"][0]
                .as_str()
                .unwrap_or_default()
                .to_string();
            context.log(format!("Healthy at {url}"));
            Ok(json!({"url": url, "deploymentId": deployment.id, "environment": environment}))
        })
    }
}
