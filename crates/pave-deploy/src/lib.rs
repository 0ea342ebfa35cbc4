//! Environments and deployments (the deploy engine).
//!
//! An [`Environment`] is where components run: `development`, `staging`,
//! `production`, or a `preview` made for one pull request, with a parent
//! environment, the pull request's source and an expiry.
//!
//! A [`Deployer`] deploys a component to an environment: it reads the
//! component's `score.yaml` at a pinned commit from its source location
//! ([`source`]), resolves the resources it needs ([`resources`]), plans the
//! processes ([`plan`]) and hands them to a [`pave_runtime::Runtime`]; the
//! new version starts beside the old one and takes the traffic (an
//! [`Ingress`], Pave's router) only once it is ready. Records live in the
//! database ([`deployments`]), which is the desired state the reconciler
//! restores after a restart.

pub mod action;
pub mod deployments;
pub mod engine;
pub mod environment;
pub mod plan;
pub mod resources;
pub mod source;
pub mod webhook;

pub use action::DeployAction;
pub use deployments::{Deployment, DeploymentFilter, DeploymentStatus};
pub use engine::{
    CurrentDeployment, DeployConfig, DeployError, DeployPlan, DeployRequest, Deployer, Ingress,
    IngressRoute, PreviewOutcome, PreviewSettings, preview_name,
};
pub use environment::{
    Environment, EnvironmentError, EnvironmentType, Environments, NewEnvironment, PreviewSource,
    validate_name,
};
