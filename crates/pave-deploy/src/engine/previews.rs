//! Preview environments per pull request, and branches environments follow.
//!
//! A pull request's repository is matched to catalog components by their
//! source location. Opening (or pushing to) the pull request creates, or
//! moves, the environment `pr-<number>` (type `preview`, parent = the base
//! environment, an expiry) and deploys every matched component at the head
//! commit; closing it tears the environment down.

use pave_catalog::Filter;
use serde::Serialize;

use super::{DeployError, DeployRequest, Deployer};
use crate::deployments::{Deployment, DeploymentStatus};
use crate::environment::{EnvironmentError, NewEnvironment, PreviewSource};
use crate::source;
use crate::webhook::{PullRequestEvent, normalize_repository};

/// How previews are made.
#[derive(Debug, Clone)]
pub struct PreviewSettings {
    /// The environment previews start from (`dev`).
    pub base_environment: String,
    /// How long a preview lives after its last update.
    pub ttl_seconds: u64,
    /// Who the records name as the creator (the webhook's principal).
    pub actor: String,
}

/// What opening or updating a preview did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PreviewOutcome {
    pub environment: String,
    /// True when the environment was created now.
    pub created: bool,
    pub deployments: Vec<Deployment>,
    /// The URLs of the deployed components.
    pub urls: Vec<String>,
}

/// The name of a pull request's preview environment.
pub fn preview_name(number: u64) -> String {
    format!("pr-{number}")
}

impl Deployer {
    /// Catalog components whose source location is in one of `repository`'s
    /// URLs, as entity references.
    pub async fn components_of_repository(
        &self,
        repository: &[String],
    ) -> Result<Vec<String>, DeployError> {
        let wanted: Vec<String> = repository
            .iter()
            .map(|url| normalize_repository(url))
            .collect();
        let filter = Filter::parse(&[format!(
            "kind=component,metadata.annotations.{}",
            source::SOURCE_LOCATION
        )])
        .map_err(|error| DeployError::Input(error.to_string()))?;
        let fields = vec!["kind".to_string(), "metadata".to_string()];
        let mut components = Vec::new();
        let mut offset = 0u64;
        loop {
            let page = self
                .inner
                .catalog
                .list(&filter, &fields, offset, Some(500), None)
                .await
                .map_err(|error| DeployError::Input(error.to_string()))?;
            let count = page.len();
            for entity in page {
                let name = entity
                    .pointer("/metadata/name")
                    .and_then(|v| v.as_str())
                    .unwrap_or("");
                let namespace = entity
                    .pointer("/metadata/namespace")
                    .and_then(|v| v.as_str())
                    .unwrap_or("default");
                let reference = format!("component:{namespace}/{name}").to_lowercase();
                if let Ok(found) = source::source_of(&entity, &reference)
                    && wanted.contains(&normalize_repository(&found.remote))
                {
                    components.push(reference);
                }
            }
            if count < 500 {
                break;
            }
            offset += count as u64;
        }
        components.sort();
        components.dedup();
        Ok(components)
    }

    /// Creates or moves the preview of a pull request and deploys its
    /// components at the head commit. Nothing is created when no component
    /// comes from the repository, or when the base environment is missing.
    pub async fn open_preview(
        &self,
        pull: &PullRequestEvent,
        settings: &PreviewSettings,
    ) -> Result<PreviewOutcome, DeployError> {
        let components = self.components_of_repository(&pull.repository).await?;
        if components.is_empty() {
            return Err(DeployError::NotFound(format!(
                "no catalog component has its source in {}; register the repository's catalog-info.yaml first",
                pull.repository
                    .first()
                    .map(String::as_str)
                    .unwrap_or("the repository")
            )));
        }
        let name = preview_name(pull.number);
        let source = PreviewSource {
            repository: pull.repository.first().cloned().unwrap_or_default(),
            branch: pull.branch.clone(),
            pull_request: pull.number,
            head_commit: pull.head_commit.clone(),
        };
        let created = match self.inner.environments.get(&name).await {
            Ok(_) => {
                self.inner
                    .environments
                    .update_source(&name, &source, Some(settings.ttl_seconds))
                    .await?;
                false
            }
            Err(EnvironmentError::NotFound(_)) => {
                self.inner
                    .environments
                    .create(
                        NewEnvironment {
                            name: name.clone(),
                            description: format!(
                                "Preview of pull request #{} ({})",
                                pull.number, pull.branch
                            ),
                            parent: Some(settings.base_environment.clone()),
                            source: Some(source),
                            ttl_seconds: Some(settings.ttl_seconds),
                            ..NewEnvironment::default()
                        },
                        &settings.actor,
                    )
                    .await?;
                true
            }
            Err(error) => return Err(error.into()),
        };
        let mut deployments = Vec::new();
        let mut urls = Vec::new();
        let mut failure = None;
        for component in components {
            match self
                .roll_out(
                    DeployRequest {
                        component: component.clone(),
                        environment: name.clone(),
                        revision: Some(pull.head_commit.clone()),
                        created_by: settings.actor.clone(),
                    },
                    "preview",
                    None,
                )
                .await
            {
                Ok(deployment) if deployment.status == DeploymentStatus::Failed => {
                    failure = Some(format!("{component}: {}", deployment.message));
                    deployments.push(deployment);
                    break;
                }
                Ok(deployment) => {
                    if let Some(found) = deployment.resolved["urls"].as_array() {
                        urls.extend(
                            found
                                .iter()
                                .filter_map(|url| url.as_str())
                                .map(str::to_string),
                        );
                    }
                    deployments.push(deployment);
                }
                Err(error) => {
                    failure = Some(format!("{component}: {error}"));
                    break;
                }
            }
        }
        if let Some(failure) = failure {
            // A preview this call made and that runs nothing healthy is
            // removed again: no partial environment is left behind.
            let healthy = deployments
                .iter()
                .any(|deployment| deployment.status == DeploymentStatus::Healthy);
            if created && !healthy {
                let _ = self.delete_environment(&name).await;
            }
            return Err(DeployError::Input(failure));
        }
        Ok(PreviewOutcome {
            environment: name,
            created,
            deployments,
            urls,
        })
    }

    /// Tears down a pull request's preview; closing one without a preview
    /// is fine.
    pub async fn close_preview(&self, number: u64) -> Result<bool, DeployError> {
        let name = preview_name(number);
        match self.delete_environment(&name).await {
            Ok(()) => Ok(true),
            Err(DeployError::NotFound(_)) => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Redeploys, at `head_commit`, the repository's components in every
    /// environment that follows `branch`.
    pub async fn follow_push(
        &self,
        repository: &[String],
        branch: &str,
        head_commit: &str,
        actor: &str,
    ) -> Result<Vec<Deployment>, DeployError> {
        let environments: Vec<String> = self
            .inner
            .environments
            .list()
            .await?
            .into_iter()
            .filter(|environment| environment.follows_branch.as_deref() == Some(branch))
            .map(|environment| environment.name)
            .collect();
        if environments.is_empty() {
            return Ok(Vec::new());
        }
        let components = self.components_of_repository(repository).await?;
        let mut deployments = Vec::new();
        for environment in environments {
            for component in &components {
                deployments.push(
                    self.roll_out(
                        DeployRequest {
                            component: component.clone(),
                            environment: environment.clone(),
                            revision: Some(head_commit.to_string()),
                            created_by: actor.to_string(),
                        },
                        "deploy",
                        None,
                    )
                    .await?,
                );
            }
        }
        Ok(deployments)
    }
}
