//! The actions Pave authorizes. Each one is declared in the Cedar schema
//! (`policies/pave.cedarschema`) with the resource type it applies to; a test
//! checks the two lists agree.

use std::fmt;

/// What kind of resource an action is about, which decides the Cedar
/// resource entity a request is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    /// The platform as a whole (`Pave::Platform::"pave"`).
    Platform,
    /// One API token (`Pave::Token::"<id>"`).
    Token,
    /// One catalog entity (`Pave::Entity::"<kind:namespace/name>"`).
    Entity,
    /// One scaffolder task, a run of a software template
    /// (`Pave::Task::"<id>"`). Tasks are not in the platform, so policies
    /// scoped to `resource in Pave::Platform::"pave"` do not reach them.
    Task,
    /// One deployment environment (`Pave::Environment::"<name>"`), with its
    /// type (`development`, `staging`, `production` or `preview`).
    Environment,
}

/// The Cedar context an action's requests carry, as the schema declares it
/// for the action (the same for every resource type it applies to).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContextKind {
    /// An empty context.
    None,
    /// `EntityContext { isOwner }`, worked out from the catalog entity.
    Entity,
    /// `TaskContext { isCreator }`, worked out from the task.
    Task,
    /// `DeploymentContext { isOwner, environment, environmentType }`: the
    /// caller says where the deployment goes (a
    /// [`DeploymentTarget`](crate::DeploymentTarget)); Pave works out
    /// `isOwner` from the component.
    Deployment,
}

macro_rules! actions {
    ($($variant:ident => $name:literal, $group:ident, $resource:ident;)*) => {
        /// Every action a route, a CLI command or an engine can ask about.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Action {
            $($variant,)*
        }

        impl Action {
            /// Every action, in schema order.
            pub const ALL: &'static [Action] = &[$(Action::$variant,)*];

            /// The Cedar action id, such as `token.create`.
            pub fn name(self) -> &'static str {
                match self {
                    $(Action::$variant => $name,)*
                }
            }

            /// True for actions in the `read` group, which change nothing.
            pub fn is_read(self) -> bool {
                match self {
                    $(Action::$variant => ActionGroup::$group == ActionGroup::Read,)*
                }
            }

            /// The resource type the action applies to.
            pub fn resource_kind(self) -> ResourceKind {
                match self {
                    $(Action::$variant => ResourceKind::$resource,)*
                }
            }
        }
    };
}

#[derive(PartialEq, Eq)]
enum ActionGroup {
    Read,
    Write,
}

actions! {
    SessionWhoami => "session.whoami", Read, Platform;
    ServerMetrics => "server.metrics", Read, Platform;
    ServerOpenapi => "server.openapi", Read, Platform;
    TokenList => "token.list", Read, Platform;
    TokenRead => "token.read", Read, Token;
    TokenCreate => "token.create", Write, Platform;
    TokenRevoke => "token.revoke", Write, Token;
    PolicyRead => "policy.read", Read, Platform;
    PolicyValidate => "policy.validate", Read, Platform;
    PolicyCheck => "policy.check", Read, Platform;
    PolicyWrite => "policy.write", Write, Platform;
    CatalogEntityRead => "catalog.entity.read", Read, Platform;
    CatalogEntityValidate => "catalog.entity.validate", Read, Platform;
    CatalogEntityDelete => "catalog.entity.delete", Write, Platform;
    CatalogLocationRead => "catalog.location.read", Read, Platform;
    CatalogLocationCreate => "catalog.location.create", Write, Platform;
    CatalogLocationDelete => "catalog.location.delete", Write, Platform;
    CatalogRefresh => "catalog.refresh", Write, Platform;
    AuditRead => "audit.read", Read, Platform;
    AuditVerify => "audit.verify", Read, Platform;
    ScaffolderActionRead => "scaffolder.action.read", Read, Platform;
    ScaffolderTemplateRun => "scaffolder.template.run", Write, Platform;
    ScaffolderTemplateDryrun => "scaffolder.template.dryrun", Write, Platform;
    ScaffolderTaskList => "scaffolder.task.list", Read, Platform;
    ScaffolderTaskRead => "scaffolder.task.read", Read, Task;
    ScaffolderTaskCancel => "scaffolder.task.cancel", Write, Task;
    EnvironmentRead => "environment.read", Read, Platform;
    EnvironmentCreate => "environment.create", Write, Environment;
    EnvironmentDelete => "environment.delete", Write, Environment;
    DeploymentRead => "deployment.read", Read, Platform;
    DeploymentCreate => "deployment.create", Write, Platform;
    PreviewCreate => "preview.create", Write, Entity;
}

impl Action {
    /// True for actions that are decided per catalog entity (with the
    /// entity's attributes and `context.isOwner`), after the route's
    /// platform-level check if they have one. `scaffolder.template.run` is
    /// decided on the Template entity being run, so policies can look at its
    /// name and tags; `deployment.create` and `preview.create` on the
    /// component being deployed (`preview.create` only so: it has no
    /// platform-level check).
    pub fn applies_to_entities(self) -> bool {
        matches!(
            self,
            Action::CatalogEntityRead
                | Action::CatalogEntityDelete
                | Action::CatalogRefresh
                | Action::ScaffolderTemplateRun
                | Action::DeploymentCreate
                | Action::PreviewCreate
        )
    }

    /// The context the action's requests carry. Deployment actions need a
    /// [`DeploymentTarget`](crate::DeploymentTarget) from the caller
    /// ([`Authorizer::decide_with_context`](crate::Authorizer::decide_with_context));
    /// every other context Pave works out from the resource.
    pub fn context_kind(self) -> ContextKind {
        match self {
            Action::DeploymentCreate | Action::PreviewCreate => ContextKind::Deployment,
            _ if self.applies_to_entities() => ContextKind::Entity,
            _ if self.resource_kind() == ResourceKind::Task => ContextKind::Task,
            _ => ContextKind::None,
        }
    }

    /// Every kind of resource the action applies to, as the schema declares
    /// them: its own kind first, then `Entity` when it is also decided per
    /// catalog entity.
    pub fn resource_kinds(self) -> Vec<ResourceKind> {
        let mut kinds = vec![self.resource_kind()];
        if self.applies_to_entities() && !kinds.contains(&ResourceKind::Entity) {
            kinds.push(ResourceKind::Entity);
        }
        kinds
    }

    /// Finds an action by its Cedar id.
    pub fn parse(name: &str) -> Option<Action> {
        Action::ALL
            .iter()
            .copied()
            .find(|action| action.name() == name)
    }
}

/// A name that is not one of Pave's actions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an action; known actions: {known}", known = known_actions())]
pub struct UnknownAction(pub String);

fn known_actions() -> String {
    Action::ALL
        .iter()
        .map(|action| action.name())
        .collect::<Vec<_>>()
        .join(", ")
}

impl std::str::FromStr for Action {
    type Err = UnknownAction;

    fn from_str(name: &str) -> Result<Action, UnknownAction> {
        Action::parse(name).ok_or_else(|| UnknownAction(name.to_string()))
    }
}

impl fmt::Display for Action {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}
