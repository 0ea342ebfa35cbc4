//! Cedar decisions: turns a principal, an action and a resource into a Cedar
//! request with the entities it needs, and answers allow or deny with the ids
//! of the policies that decided.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, RwLock};

use cedar_policy::{
    Context, Decision as CedarDecision, Entities, Entity, EntityId, EntityTypeName, EntityUid,
    PolicySet, Request, RestrictedExpression, Schema,
};
use serde::Serialize;

use crate::action::{Action, ContextKind, ResourceKind};
use crate::policy::{self, PolicyError};
use crate::principal::{Principal, PrincipalKind};

/// The id of the one platform entity tokens, catalog entities and
/// environments sit in (scaffolder tasks do not).
pub const PLATFORM_ID: &str = "pave";

/// The types an environment can have, as policies see them (an
/// environment's `type`, a deployment's `context.environmentType`).
/// Anything else is refused before Cedar is asked, so a policy such as
/// `context.environmentType != "production"` never sees a type it does not
/// expect (an empty or misspelt one).
pub const ENVIRONMENT_TYPES: &[&str] = &["development", "staging", "production", "preview"];

/// Where a deployment goes: the target environment's name and its type (one
/// of [`ENVIRONMENT_TYPES`]). Deploys, rollbacks and promotions name the
/// environment they change; previews have the type `preview`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentTarget {
    pub environment: String,
    pub environment_type: String,
}

impl DeploymentTarget {
    pub fn new(
        environment: impl Into<String>,
        environment_type: impl Into<String>,
    ) -> DeploymentTarget {
        DeploymentTarget {
            environment: environment.into(),
            environment_type: environment_type.into(),
        }
    }
}

/// What the caller tells the authorizer beyond the principal, the action and
/// the resource. Which one an action needs is its
/// [`Action::context_kind`]; a mismatch is denied with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RequestContext {
    /// Nothing: Pave works out the context from the resource (`isOwner` of a
    /// catalog entity, `isCreator` of a task) or sends an empty one.
    #[default]
    Derived,
    /// A deployment or preview (`deployment.create`, `preview.create`): where
    /// it goes. `isOwner` is still worked out from the component's entity.
    Deployment(DeploymentTarget),
}

impl From<DeploymentTarget> for RequestContext {
    fn from(target: DeploymentTarget) -> RequestContext {
        RequestContext::Deployment(target)
    }
}

/// What Cedar sees of a catalog entity. References are lower-case
/// `kind:namespace/name`; absent fields are empty.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EntityAttributes {
    pub reference: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub owner: String,
    pub system: String,
    pub lifecycle: String,
    pub r#type: String,
    pub tags: Vec<String>,
}

/// A resource a request is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceRef {
    /// The platform as a whole.
    Platform,
    /// One API token and the principal it acts as (empty when unknown).
    Token { id: String, principal: String },
    /// One catalog entity.
    Entity(Box<EntityAttributes>),
    /// One scaffolder task (a run of a software template): the principal
    /// that started it, such as `user:default/alice`, and the lower-case
    /// reference of its template, such as `template:default/python-service`
    /// (each empty when unknown). Tasks are not in the platform.
    Task {
        id: String,
        created_by: String,
        template: String,
    },
    /// One deployment environment: its name and its type (one of
    /// [`ENVIRONMENT_TYPES`]; empty when not filled in yet, which is denied).
    Environment {
        name: String,
        environment_type: String,
    },
}

impl ResourceRef {
    /// Reads `platform`, `token:ID`, `task:ID`, `environment:NAME` or
    /// `entity:KIND:NAMESPACE/NAME` (an entity's other attributes are filled
    /// in by whoever knows the catalog, a task's by whoever knows the tasks,
    /// an environment's type by whoever knows the environments).
    pub fn parse(text: &str) -> Result<ResourceRef, String> {
        let error = || {
            format!(
                "`{text}` is not a resource: write `platform`, `token:ID`, `task:ID`, `environment:NAME` or `entity:KIND:NAMESPACE/NAME`"
            )
        };
        match text.split_once(':') {
            None if text == "platform" || text == PLATFORM_ID => Ok(ResourceRef::Platform),
            Some(("token", id)) if !id.is_empty() => Ok(ResourceRef::Token {
                id: id.to_string(),
                principal: String::new(),
            }),
            Some(("task", id)) if !id.is_empty() => Ok(ResourceRef::Task {
                id: id.to_string(),
                created_by: String::new(),
                template: String::new(),
            }),
            Some(("environment", name)) if !name.is_empty() => Ok(ResourceRef::Environment {
                name: name.to_string(),
                environment_type: String::new(),
            }),
            Some(("entity", reference)) => {
                let (kind, rest) = reference.split_once(':').ok_or_else(error)?;
                let (namespace, name) = rest.split_once('/').unwrap_or(("default", rest));
                if kind.is_empty() || name.is_empty() || namespace.is_empty() {
                    return Err(error());
                }
                let (kind, namespace, name) = (
                    kind.to_lowercase(),
                    namespace.to_lowercase(),
                    name.to_lowercase(),
                );
                Ok(ResourceRef::Entity(Box::new(EntityAttributes {
                    reference: format!("{kind}:{namespace}/{name}"),
                    kind,
                    namespace,
                    name,
                    ..EntityAttributes::default()
                })))
            }
            _ => Err(error()),
        }
    }

    pub fn kind(&self) -> ResourceKind {
        match self {
            ResourceRef::Platform => ResourceKind::Platform,
            ResourceRef::Token { .. } => ResourceKind::Token,
            ResourceRef::Entity(_) => ResourceKind::Entity,
            ResourceRef::Task { .. } => ResourceKind::Task,
            ResourceRef::Environment { .. } => ResourceKind::Environment,
        }
    }
}

impl fmt::Display for ResourceRef {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResourceRef::Platform => formatter.write_str("platform"),
            ResourceRef::Token { id, .. } => write!(formatter, "token:{id}"),
            ResourceRef::Entity(attributes) => write!(formatter, "entity:{}", attributes.reference),
            ResourceRef::Task { id, .. } => write!(formatter, "task:{id}"),
            ResourceRef::Environment { name, .. } => write!(formatter, "environment:{name}"),
        }
    }
}

/// The answer to one authorization question.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub allowed: bool,
    /// The ids of the policies that decided: the permits that allowed, or the
    /// forbids that denied. Empty when nothing permitted (default deny).
    pub policies: Vec<String>,
    /// Errors met while evaluating policies; a policy that errs is skipped.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

impl Decision {
    fn deny_with(error: String) -> Decision {
        Decision {
            allowed: false,
            policies: Vec::new(),
            errors: vec![error],
        }
    }
}

/// A policy set as stored: its source, its version and who changed it last.
#[derive(Debug, Clone)]
pub struct PolicySnapshot {
    pub source: String,
    pub version: i64,
    pub updated_at: String,
    pub updated_by: String,
    pub(crate) set: PolicySet,
}

impl PolicySnapshot {
    /// The ids of the policies in the set, in source order.
    pub fn policy_ids(&self) -> Vec<String> {
        self.set
            .policies()
            .map(|policy| policy.id().to_string())
            .collect()
    }
}

struct TypeNames {
    user: EntityTypeName,
    service: EntityTypeName,
    group: EntityTypeName,
    platform: EntityTypeName,
    token: EntityTypeName,
    entity: EntityTypeName,
    task: EntityTypeName,
    environment: EntityTypeName,
    action: EntityTypeName,
}

/// Decides requests against the current policy set, which can be swapped at
/// any time without blocking deciders for more than a pointer copy.
pub struct Authorizer {
    schema: Schema,
    names: TypeNames,
    cedar: cedar_policy::Authorizer,
    current: RwLock<Arc<PolicySnapshot>>,
}

impl Authorizer {
    /// An authorizer over Pave's schema with `snapshot` as the current policies.
    pub fn new(snapshot: PolicySnapshot) -> Result<Authorizer, PolicyError> {
        let schema = policy::schema()?;
        let name = |text: &str| {
            EntityTypeName::from_str(text).map_err(|error| PolicyError::Invalid {
                diagnostics: vec![policy::Diagnostic {
                    message: format!("entity type {text}: {error}"),
                    line: None,
                    column: None,
                    policy_id: None,
                }],
            })
        };
        let names = TypeNames {
            user: name("Pave::User")?,
            service: name("Pave::Service")?,
            group: name("Pave::Group")?,
            platform: name("Pave::Platform")?,
            token: name("Pave::Token")?,
            entity: name("Pave::Entity")?,
            task: name("Pave::Task")?,
            environment: name("Pave::Environment")?,
            action: name("Pave::Action")?,
        };
        Ok(Authorizer {
            schema,
            names,
            cedar: cedar_policy::Authorizer::new(),
            current: RwLock::new(Arc::new(snapshot)),
        })
    }

    /// An authorizer over a policy set given as source, validated against
    /// the schema; for offline checks.
    pub fn from_source(source: &str) -> Result<Authorizer, PolicyError> {
        let set = policy::compile(source, &policy::schema()?)?;
        Authorizer::new(PolicySnapshot {
            source: source.to_string(),
            version: 0,
            updated_at: String::new(),
            updated_by: String::new(),
            set,
        })
    }

    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The policy set decisions use now.
    pub fn snapshot(&self) -> Arc<PolicySnapshot> {
        match self.current.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Makes `snapshot` the policy set for every decision from now on.
    pub fn replace(&self, snapshot: PolicySnapshot) {
        let snapshot = Arc::new(snapshot);
        match self.current.write() {
            Ok(mut guard) => *guard = snapshot,
            Err(poisoned) => *poisoned.into_inner() = snapshot,
        }
    }

    /// Decides with the current policy set. For actions whose context Pave
    /// works out itself; deployment actions need
    /// [`decide_with_context`](Authorizer::decide_with_context).
    pub fn decide(
        &self,
        principal: &Principal,
        action: Action,
        resource: &ResourceRef,
    ) -> Decision {
        self.decide_with_context(principal, action, resource, &RequestContext::Derived)
    }

    /// Decides with the current policy set and what the caller says about
    /// the request, such as where a deployment goes:
    ///
    /// ```
    /// use pave_access::{policy, Action, Authorizer, DeploymentTarget, EntityAttributes, Principal, ResourceRef};
    ///
    /// let authorizer = Authorizer::from_source(policy::DEFAULT_POLICIES).unwrap();
    /// let alice = Principal::parse("user:default/alice", &["group:default/team-a".into()]).unwrap();
    /// let shop = ResourceRef::Entity(Box::new(EntityAttributes {
    ///     reference: "component:default/shop".into(),
    ///     kind: "component".into(),
    ///     namespace: "default".into(),
    ///     name: "shop".into(),
    ///     owner: "group:default/team-a".into(),
    ///     ..EntityAttributes::default()
    /// }));
    /// let to_staging = DeploymentTarget::new("staging", "staging").into();
    /// let decision = authorizer.decide_with_context(&alice, Action::DeploymentCreate, &shop, &to_staging);
    /// assert!(decision.allowed);
    /// let to_production = DeploymentTarget::new("prod", "production").into();
    /// let decision = authorizer.decide_with_context(&alice, Action::DeploymentCreate, &shop, &to_production);
    /// assert!(!decision.allowed);
    /// ```
    pub fn decide_with_context(
        &self,
        principal: &Principal,
        action: Action,
        resource: &ResourceRef,
        context: &RequestContext,
    ) -> Decision {
        self.decide_with_set_and_context(&self.snapshot().set, principal, action, resource, context)
    }

    /// Decides with a given policy set (used to try a set before saving it).
    pub fn decide_with(
        &self,
        policies: &PolicySet,
        principal: &Principal,
        action: Action,
        resource: &ResourceRef,
    ) -> Decision {
        self.decide_with_set_and_context(
            policies,
            principal,
            action,
            resource,
            &RequestContext::Derived,
        )
    }

    /// Decides with a given policy set and request context. A resource or a
    /// context the action does not take is denied, with the reason in
    /// `errors`, before Cedar is asked.
    pub fn decide_with_set_and_context(
        &self,
        policies: &PolicySet,
        principal: &Principal,
        action: Action,
        resource: &ResourceRef,
        context: &RequestContext,
    ) -> Decision {
        let kinds = action.resource_kinds();
        if !kinds.contains(&resource.kind()) {
            let kinds = kinds
                .iter()
                .map(|kind| format!("{kind:?}"))
                .collect::<Vec<_>>()
                .join(" or ");
            let article = if kinds.starts_with('E') { "an" } else { "a" };
            return Decision::deny_with(format!(
                "the action `{action}` applies to {article} {kinds} resource, not `{resource}`"
            ));
        }
        if let Err(error) = check_request(action, resource, context) {
            return Decision::deny_with(error);
        }
        match self.request(principal, action, resource, context) {
            Ok((request, entities)) => {
                let response = self.cedar.is_authorized(&request, policies, &entities);
                let diagnostics = response.diagnostics();
                let mut policies: Vec<String> =
                    diagnostics.reason().map(ToString::to_string).collect();
                policies.sort();
                Decision {
                    allowed: response.decision() == CedarDecision::Allow,
                    policies,
                    errors: diagnostics.errors().map(ToString::to_string).collect(),
                }
            }
            Err(error) => Decision::deny_with(error),
        }
    }

    /// Whether every catalog entity gets the same answer for `action` and
    /// this principal under the current policies: `Some(true)` when an
    /// unconditional permit covers every entity and no forbid could apply,
    /// `None` when the answer may differ per entity (decide each one).
    /// Conservative: `None` is always safe.
    pub fn uniform_entity_decision(&self, principal: &Principal, action: Action) -> Option<bool> {
        let snapshot = self.snapshot();
        let action_uid = EntityUid::from_type_name_and_id(
            self.names.action.clone(),
            EntityId::new(action.name()),
        );
        let group_uid = EntityUid::from_type_name_and_id(
            self.names.action.clone(),
            EntityId::new(if action.is_read() { "read" } else { "write" }),
        );
        let admits = |constraint: cedar_policy::ActionConstraint| match constraint {
            cedar_policy::ActionConstraint::Any => true,
            cedar_policy::ActionConstraint::Eq(uid) => uid == action_uid,
            cedar_policy::ActionConstraint::In(uids) => uids
                .iter()
                .any(|uid| *uid == action_uid || *uid == group_uid),
        };
        let platform = EntityUid::from_type_name_and_id(
            self.names.platform.clone(),
            EntityId::new(PLATFORM_ID),
        );
        let covers_every_entity = |constraint: cedar_policy::ResourceConstraint| match constraint {
            cedar_policy::ResourceConstraint::Any => true,
            cedar_policy::ResourceConstraint::In(uid) => uid == platform,
            cedar_policy::ResourceConstraint::Is(kind) => kind == self.names.entity,
            cedar_policy::ResourceConstraint::IsIn(kind, uid) => {
                kind == self.names.entity && uid == platform
            }
            cedar_policy::ResourceConstraint::Eq(_) => false,
        };
        if snapshot.set.policies().any(|policy| {
            policy.effect() == cedar_policy::Effect::Forbid && admits(policy.action_constraint())
        }) {
            return None;
        }
        let probe = ResourceRef::Entity(Box::new(EntityAttributes {
            reference: "probe:default/probe".into(),
            kind: "probe".into(),
            namespace: "default".into(),
            name: "probe".into(),
            ..EntityAttributes::default()
        }));
        // An unconditional permit does not look at the context either.
        let probe_context = match action.context_kind() {
            ContextKind::Deployment => {
                RequestContext::Deployment(DeploymentTarget::new("probe", "preview"))
            }
            _ => RequestContext::Derived,
        };
        for policy in snapshot.set.policies() {
            let unconditional = policy.effect() == cedar_policy::Effect::Permit
                && !policy.has_non_scope_constraint()
                && admits(policy.action_constraint())
                && covers_every_entity(policy.resource_constraint());
            if !unconditional {
                continue;
            }
            // Its scope covers every entity; does it cover this principal?
            let mut alone = PolicySet::new();
            if alone.add(policy.clone()).is_ok()
                && self
                    .decide_with_set_and_context(&alone, principal, action, &probe, &probe_context)
                    .allowed
            {
                return Some(true);
            }
        }
        None
    }

    fn request(
        &self,
        principal: &Principal,
        action: Action,
        resource: &ResourceRef,
        context: &RequestContext,
    ) -> Result<(Request, Entities), String> {
        let uid = |kind: &EntityTypeName, id: &str| {
            EntityUid::from_type_name_and_id(kind.clone(), EntityId::new(id))
        };
        let principal_type = match principal.reference.kind {
            PrincipalKind::User => &self.names.user,
            PrincipalKind::Service => &self.names.service,
        };
        let principal_uid = uid(principal_type, &principal.reference.id);
        let group_uids: HashSet<EntityUid> = principal
            .groups
            .iter()
            .map(|group| uid(&self.names.group, &group.id))
            .collect();
        let platform_uid = uid(&self.names.platform, PLATFORM_ID);
        let mut entities = vec![
            Entity::new_no_attrs(principal_uid.clone(), group_uids.clone()),
            Entity::new_no_attrs(platform_uid.clone(), HashSet::new()),
        ];
        entities.extend(
            group_uids
                .iter()
                .map(|group| Entity::new_no_attrs(group.clone(), HashSet::new())),
        );
        let mut is_owner = false;
        let mut is_creator = false;
        let resource_uid = match resource {
            ResourceRef::Platform => platform_uid,
            ResourceRef::Entity(attributes) => {
                let entity_uid = uid(&self.names.entity, &attributes.reference);
                is_owner = owns(principal, &attributes.owner);
                let text = |value: &str| RestrictedExpression::new_string(value.to_string());
                let attributes = HashMap::from([
                    ("ref".to_string(), text(&attributes.reference)),
                    ("kind".to_string(), text(&attributes.kind)),
                    ("namespace".to_string(), text(&attributes.namespace)),
                    ("name".to_string(), text(&attributes.name)),
                    ("owner".to_string(), text(&attributes.owner)),
                    ("system".to_string(), text(&attributes.system)),
                    ("lifecycle".to_string(), text(&attributes.lifecycle)),
                    ("type".to_string(), text(&attributes.r#type)),
                    (
                        "tags".to_string(),
                        RestrictedExpression::new_set(attributes.tags.iter().map(|tag| text(tag))),
                    ),
                ]);
                let entity = Entity::new(
                    entity_uid.clone(),
                    attributes,
                    HashSet::from([platform_uid]),
                )
                .map_err(|error| error.to_string())?;
                entities.push(entity);
                entity_uid
            }
            ResourceRef::Token {
                id,
                principal: owner,
            } => {
                let token_uid = uid(&self.names.token, id);
                let attributes = HashMap::from([(
                    "principal".to_string(),
                    RestrictedExpression::new_string(owner.clone()),
                )]);
                let entity =
                    Entity::new(token_uid.clone(), attributes, HashSet::from([platform_uid]))
                        .map_err(|error| error.to_string())?;
                entities.push(entity);
                token_uid
            }
            ResourceRef::Task {
                id,
                created_by,
                template,
            } => {
                let task_uid = uid(&self.names.task, id);
                is_creator =
                    !created_by.is_empty() && *created_by == principal.reference.to_string();
                let text = |value: &str| RestrictedExpression::new_string(value.to_string());
                let attributes = HashMap::from([
                    ("createdBy".to_string(), text(created_by)),
                    ("template".to_string(), text(template)),
                ]);
                // No parents: tasks are not in the platform.
                let entity = Entity::new(task_uid.clone(), attributes, HashSet::new())
                    .map_err(|error| error.to_string())?;
                entities.push(entity);
                task_uid
            }
            ResourceRef::Environment {
                name,
                environment_type,
            } => {
                let environment_uid = uid(&self.names.environment, name);
                let text = |value: &str| RestrictedExpression::new_string(value.to_string());
                let attributes = HashMap::from([
                    ("name".to_string(), text(name)),
                    ("type".to_string(), text(environment_type)),
                ]);
                let entity = Entity::new(
                    environment_uid.clone(),
                    attributes,
                    HashSet::from([platform_uid]),
                )
                .map_err(|error| error.to_string())?;
                entities.push(entity);
                environment_uid
            }
        };
        let entities = Entities::from_entities(entities, Some(&self.schema))
            .map_err(|error| format!("cannot build the entities for Cedar: {error}"))?;
        let action_uid = uid(&self.names.action, action.name());
        let context = match (action.context_kind(), context) {
            (ContextKind::None, RequestContext::Derived) => Context::empty(),
            (ContextKind::Entity, RequestContext::Derived) => Context::from_pairs([(
                "isOwner".to_string(),
                RestrictedExpression::new_bool(is_owner),
            )])
            .map_err(|error| error.to_string())?,
            (ContextKind::Task, RequestContext::Derived) => Context::from_pairs([(
                "isCreator".to_string(),
                RestrictedExpression::new_bool(is_creator),
            )])
            .map_err(|error| error.to_string())?,
            (ContextKind::Deployment, RequestContext::Deployment(target)) => Context::from_pairs([
                (
                    "isOwner".to_string(),
                    RestrictedExpression::new_bool(is_owner),
                ),
                (
                    "environment".to_string(),
                    RestrictedExpression::new_string(target.environment.clone()),
                ),
                (
                    "environmentType".to_string(),
                    RestrictedExpression::new_string(target.environment_type.clone()),
                ),
            ])
            .map_err(|error| error.to_string())?,
            // check_request refuses these before a request is built.
            (kind, given) => {
                return Err(format!(
                    "the action `{action}` takes a {kind:?} context, not {given:?}"
                ));
            }
        };
        let request = Request::new(
            principal_uid,
            action_uid,
            resource_uid,
            context,
            Some(&self.schema),
        )
        .map_err(|error| format!("the request does not fit the schema: {error}"))?;
        Ok((request, entities))
    }
}

/// True when `principal` is `owner` (a principal reference such as
/// `user:default/alice`) or in it (a group reference such as
/// `group:default/team-a`). Nobody owns what has no owner.
fn owns(principal: &Principal, owner: &str) -> bool {
    !owner.is_empty()
        && (owner == principal.reference.to_string()
            || principal
                .groups
                .iter()
                .any(|group| group.to_string() == owner))
}

fn known_environment_type(environment_type: &str) -> Result<(), String> {
    if ENVIRONMENT_TYPES.contains(&environment_type) {
        Ok(())
    } else {
        Err(format!(
            "`{environment_type}` is not an environment type; it is one of {}",
            ENVIRONMENT_TYPES.join(", ")
        ))
    }
}

/// Refuses a context the action does not take, and deployment targets or
/// environments whose type policies could misread (empty, misspelt).
fn check_request(
    action: Action,
    resource: &ResourceRef,
    context: &RequestContext,
) -> Result<(), String> {
    if let ResourceRef::Environment {
        name,
        environment_type,
    } = resource
    {
        if name.is_empty() {
            return Err(format!(
                "the action `{action}` needs the environment's name"
            ));
        }
        known_environment_type(environment_type).map_err(|error| {
            format!(
                "the environment `{name}` needs a known type before `{action}` is decided: {error}"
            )
        })?;
    }
    match (action.context_kind(), context) {
        (ContextKind::Deployment, RequestContext::Deployment(target)) => {
            if target.environment.is_empty() {
                return Err(format!(
                    "the action `{action}` needs the target environment's name in its deployment target"
                ));
            }
            known_environment_type(&target.environment_type).map_err(|error| {
                format!(
                    "the action `{action}` to the environment `{}` needs its known type: {error}",
                    target.environment
                )
            })?;
            if action == Action::PreviewCreate && target.environment_type != "preview" {
                return Err(format!(
                    "the action `{action}` is about a preview environment, not the {} environment `{}`; deploy there with `{}`",
                    target.environment_type,
                    target.environment,
                    Action::DeploymentCreate
                ));
            }
            Ok(())
        }
        (ContextKind::Deployment, RequestContext::Derived) => Err(format!(
            "the action `{action}` is decided with a deployment target (the environment and its type); decide it with a `RequestContext::Deployment`"
        )),
        (_, RequestContext::Deployment(_)) => Err(format!(
            "the action `{action}` takes no deployment target; only `{}` and `{}` do",
            Action::DeploymentCreate,
            Action::PreviewCreate
        )),
        (_, RequestContext::Derived) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::principal::{GroupRef, PrincipalRef};

    fn authorizer(source: &str) -> Authorizer {
        let schema = policy::schema().unwrap();
        let set = policy::compile(source, &schema).unwrap();
        Authorizer::new(PolicySnapshot {
            source: source.into(),
            version: 1,
            updated_at: String::new(),
            updated_by: String::new(),
            set,
        })
        .unwrap()
    }

    fn principal(reference: &str, groups: &[&str]) -> Principal {
        Principal {
            reference: PrincipalRef::parse(reference).unwrap(),
            groups: groups.iter().map(|g| GroupRef::parse(g).unwrap()).collect(),
            token_id: None,
        }
    }

    #[test]
    fn default_policies_let_admins_write_and_everyone_read() {
        let authorizer = authorizer(policy::DEFAULT_POLICIES);
        let admin = principal("user:default/admin", &["group:default/admins"]);
        let alice = principal("user:default/alice", &["group:default/team-a"]);
        let token = ResourceRef::Token {
            id: "abc".into(),
            principal: "user:default/alice".into(),
        };
        let decision = authorizer.decide(&admin, Action::TokenRevoke, &token);
        assert!(decision.allowed);
        assert_eq!(decision.policies, vec!["admins-may-do-everything"]);
        let decision = authorizer.decide(&alice, Action::TokenRevoke, &token);
        assert!(!decision.allowed);
        assert!(decision.policies.is_empty());
        let decision = authorizer.decide(&alice, Action::AuditRead, &ResourceRef::Platform);
        assert_eq!(decision.policies, vec!["signed-in-may-read"]);
        assert!(decision.allowed);
    }

    #[test]
    fn forbid_wins_and_attributes_are_visible() {
        let authorizer = authorizer(
            r#"@id("read") permit (principal, action in Pave::Action::"read", resource);
               @id("own-tokens") permit (principal, action == Pave::Action::"token.revoke", resource is Pave::Token)
                 when { resource.principal == "user:default/alice" };
               @id("no-ci-reads") forbid (principal == Pave::Service::"ci", action, resource);"#,
        );
        let alice = principal("user:alice", &[]);
        let own = ResourceRef::Token {
            id: "t1".into(),
            principal: "user:default/alice".into(),
        };
        assert!(authorizer.decide(&alice, Action::TokenRevoke, &own).allowed);
        let ci = principal("service:ci", &[]);
        let decision = authorizer.decide(&ci, Action::PolicyRead, &ResourceRef::Platform);
        assert!(!decision.allowed);
        assert_eq!(decision.policies, vec!["no-ci-reads"]);
    }

    fn catalog_entity(owner: &str, lifecycle: &str, tags: &[&str]) -> ResourceRef {
        ResourceRef::Entity(Box::new(EntityAttributes {
            reference: "component:default/shop".into(),
            kind: "component".into(),
            namespace: "default".into(),
            name: "shop".into(),
            owner: owner.into(),
            system: "system:default/retail".into(),
            lifecycle: lifecycle.into(),
            r#type: "service".into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
        }))
    }

    #[test]
    fn policies_see_entity_attributes_and_ownership() {
        let authorizer = authorizer(
            r#"@id("stable-or-own") permit (principal, action == Pave::Action::"catalog.entity.read", resource is Pave::Entity)
                 when { resource.lifecycle != "experimental" || context.isOwner };
               @id("public-tag") permit (principal, action == Pave::Action::"catalog.entity.read", resource is Pave::Entity)
                 when { resource.tags.contains("public") && resource.system == "system:default/retail" };
               @id("owners-delete") permit (principal, action == Pave::Action::"catalog.entity.delete", resource)
                 when { context.isOwner };"#,
        );
        let alice = principal("user:alice", &["group:default/team-a"]);
        let read = Action::CatalogEntityRead;
        assert!(
            authorizer
                .decide(
                    &alice,
                    read,
                    &catalog_entity("group:default/team-b", "production", &[])
                )
                .allowed
        );
        let own = catalog_entity("group:default/team-a", "experimental", &[]);
        let decision = authorizer.decide(&alice, read, &own);
        assert_eq!(decision.policies, vec!["stable-or-own"], "{decision:?}");
        assert!(
            !authorizer
                .decide(
                    &alice,
                    read,
                    &catalog_entity("group:default/team-b", "experimental", &[])
                )
                .allowed
        );
        assert!(
            authorizer
                .decide(
                    &alice,
                    read,
                    &catalog_entity("group:default/team-b", "experimental", &["public"])
                )
                .allowed
        );
        assert!(
            authorizer
                .decide(
                    &alice,
                    read,
                    &catalog_entity("user:default/alice", "experimental", &[])
                )
                .allowed
        );
        assert!(
            authorizer
                .decide(&alice, Action::CatalogEntityDelete, &own)
                .allowed
        );
        assert!(
            !authorizer
                .decide(
                    &alice,
                    Action::CatalogEntityDelete,
                    &catalog_entity("group:default/team-b", "production", &[])
                )
                .allowed
        );
        // Platform-level checks of the same actions get isOwner = false.
        assert!(
            !authorizer
                .decide(&alice, Action::CatalogEntityDelete, &ResourceRef::Platform)
                .allowed
        );
    }

    #[test]
    fn uniform_decisions_are_found_only_when_they_are_safe() {
        let defaults = authorizer(policy::DEFAULT_POLICIES);
        let alice = principal("user:alice", &[]);
        assert_eq!(
            defaults.uniform_entity_decision(&alice, Action::CatalogEntityRead),
            Some(true)
        );
        assert_eq!(
            defaults.uniform_entity_decision(&alice, Action::CatalogEntityDelete),
            None
        );
        let admin = principal("user:admin", &["admins"]);
        assert_eq!(
            defaults.uniform_entity_decision(&admin, Action::CatalogEntityDelete),
            Some(true)
        );
        let with_forbid = authorizer(&format!(
            "{}\n@id(\"hide\") forbid (principal, action in Pave::Action::\"read\", resource is Pave::Entity) when {{ resource.tags.contains(\"secret\") }};",
            policy::DEFAULT_POLICIES
        ));
        assert_eq!(
            with_forbid.uniform_entity_decision(&alice, Action::CatalogEntityRead),
            None
        );
        let conditional = authorizer(
            r#"permit (principal, action == Pave::Action::"catalog.entity.read", resource) when { context.isOwner };"#,
        );
        assert_eq!(
            conditional.uniform_entity_decision(&alice, Action::CatalogEntityRead),
            None
        );
    }

    #[test]
    fn a_mismatched_resource_is_denied_with_a_reason() {
        let authorizer = authorizer(policy::DEFAULT_POLICIES);
        let admin = principal("user:admin", &["admins"]);
        let decision = authorizer.decide(&admin, Action::TokenRevoke, &ResourceRef::Platform);
        assert!(!decision.allowed);
        assert!(decision.errors[0].contains("token.revoke"));
    }

    fn task(created_by: &str) -> ResourceRef {
        ResourceRef::Task {
            id: "t-1".into(),
            created_by: created_by.into(),
            template: "template:default/python-service".into(),
        }
    }

    fn template(name: &str, tags: &[&str]) -> ResourceRef {
        ResourceRef::Entity(Box::new(EntityAttributes {
            reference: format!("template:default/{name}"),
            kind: "template".into(),
            namespace: "default".into(),
            name: name.into(),
            owner: "group:default/platform".into(),
            r#type: "service".into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            ..EntityAttributes::default()
        }))
    }

    #[test]
    fn default_policies_let_everyone_use_templates_and_follow_their_own_tasks() {
        let authorizer = authorizer(policy::DEFAULT_POLICIES);
        let alice = principal("user:default/alice", &["group:default/team-a"]);
        let admin = principal("user:default/admin", &["group:default/admins"]);
        let ci = principal("service:ci", &[]);

        // Golden paths are self-service, on the platform and per template.
        for action in [
            Action::ScaffolderTemplateRun,
            Action::ScaffolderTemplateDryrun,
        ] {
            let decision = authorizer.decide(&alice, action, &ResourceRef::Platform);
            assert!(decision.allowed, "{action}: {decision:?}");
            assert_eq!(decision.policies, vec!["signed-in-may-use-templates"]);
        }
        let decision = authorizer.decide(
            &ci,
            Action::ScaffolderTemplateRun,
            &template("python-service", &["python"]),
        );
        assert!(decision.allowed, "{decision:?}");
        assert_eq!(decision.policies, vec!["signed-in-may-use-templates"]);

        // Listing tasks and template actions is reading the platform.
        for action in [Action::ScaffolderTaskList, Action::ScaffolderActionRead] {
            let decision = authorizer.decide(&alice, action, &ResourceRef::Platform);
            assert!(decision.allowed, "{action}: {decision:?}");
            assert_eq!(decision.policies, vec!["signed-in-may-read"]);
        }

        // A task is its creator's; reading it is not reading the platform.
        let own = task("user:default/alice");
        let other = task("user:default/bob");
        for action in [Action::ScaffolderTaskRead, Action::ScaffolderTaskCancel] {
            let decision = authorizer.decide(&alice, action, &own);
            assert!(decision.allowed, "{action}: {decision:?}");
            assert_eq!(
                decision.policies,
                vec!["creators-may-read-and-cancel-their-tasks"]
            );
            let decision = authorizer.decide(&alice, action, &other);
            assert!(!decision.allowed, "{action}: {decision:?}");
            assert!(decision.policies.is_empty(), "{decision:?}");
            assert!(decision.errors.is_empty(), "{decision:?}");
            // A task whose creator is not known yet is nobody's.
            assert!(!authorizer.decide(&alice, action, &task("")).allowed);
            assert!(!authorizer.decide(&ci, action, &own).allowed);
            let decision = authorizer.decide(&admin, action, &other);
            assert!(decision.allowed, "{action}: {decision:?}");
            assert_eq!(decision.policies, vec!["admins-may-do-everything"]);
        }
        // The creator's check compares whole principal references.
        let alice_in_ops = principal("user:ops/alice", &[]);
        assert!(
            !authorizer
                .decide(&alice_in_ops, Action::ScaffolderTaskRead, &own)
                .allowed
        );
        // Everything else the defaults gave before still holds.
        assert!(
            authorizer
                .decide(&alice, Action::AuditRead, &ResourceRef::Platform)
                .allowed
        );
        assert!(
            authorizer
                .decide(
                    &alice,
                    Action::TokenRead,
                    &ResourceRef::Token {
                        id: "abc".into(),
                        principal: "user:default/bob".into(),
                    }
                )
                .allowed
        );
        assert!(
            authorizer
                .decide(
                    &alice,
                    Action::CatalogEntityRead,
                    &catalog_entity("group:default/team-b", "production", &[])
                )
                .allowed
        );
    }

    #[test]
    fn task_policies_see_the_creator_and_the_template() {
        let authorizer = authorizer(
            r#"@id("python-tasks") permit (principal in Pave::Group::"default/python", action == Pave::Action::"scaffolder.task.read", resource is Pave::Task)
                 when { resource.template == "template:default/python-service" && resource.createdBy like "user:default/*" };"#,
        );
        let pythonista = principal("user:default/carol", &["group:default/python"]);
        let decision = authorizer.decide(
            &pythonista,
            Action::ScaffolderTaskRead,
            &task("user:default/alice"),
        );
        assert!(decision.allowed, "{decision:?}");
        assert_eq!(decision.policies, vec!["python-tasks"]);
        assert!(
            !authorizer
                .decide(&pythonista, Action::ScaffolderTaskRead, &task("service:ci"))
                .allowed
        );
    }

    #[test]
    fn a_forbid_keeps_experimental_templates_from_running() {
        let authorizer = authorizer(&format!(
            "{}\n{}",
            policy::DEFAULT_POLICIES,
            r#"@id("no-experimental-templates")
               forbid (principal, action == Pave::Action::"scaffolder.template.run", resource is Pave::Entity)
                 when { resource.tags.contains("experimental") };"#
        ));
        let alice = principal("user:default/alice", &["group:default/team-a"]);
        let admin = principal("user:default/admin", &["group:default/admins"]);
        let run = Action::ScaffolderTemplateRun;
        let stable = template("python-service", &["python", "recommended"]);
        let experimental = template("rust-service", &["rust", "experimental"]);
        let decision = authorizer.decide(&alice, run, &stable);
        assert!(decision.allowed, "{decision:?}");
        let decision = authorizer.decide(&alice, run, &experimental);
        assert!(!decision.allowed);
        assert_eq!(decision.policies, vec!["no-experimental-templates"]);
        // A forbid beats every permit, the admins' too.
        let decision = authorizer.decide(&admin, run, &experimental);
        assert!(!decision.allowed);
        assert_eq!(decision.policies, vec!["no-experimental-templates"]);
        // The platform-level check knows no template; the per-entity one decides.
        assert!(
            authorizer
                .decide(&alice, run, &ResourceRef::Platform)
                .allowed
        );
        assert_eq!(authorizer.uniform_entity_decision(&alice, run), None);
        // Platform has no tags, so the forbid must say `resource is Pave::Entity`:
        // without it, strict validation refuses the policy and says why.
        let unscoped = r#"forbid (principal, action == Pave::Action::"scaffolder.template.run", resource) when { resource.tags.contains("experimental") };"#;
        let message = policy::compile(unscoped, &policy::schema().unwrap())
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("attribute `tags` on entity type `Pave::Platform` not found"),
            "{message}"
        );
        // Dry runs of inline templates are a separate action.
        assert!(
            authorizer
                .decide(
                    &alice,
                    Action::ScaffolderTemplateDryrun,
                    &ResourceRef::Platform
                )
                .allowed
        );
    }

    #[test]
    fn templates_can_be_kept_to_their_owners_by_name() {
        let authorizer = authorizer(
            r#"@id("run-templates") permit (principal, action == Pave::Action::"scaffolder.template.run", resource is Pave::Entity)
                 when { resource.kind == "template" && (resource.name != "prod-database" || context.isOwner) };"#,
        );
        let alice = principal("user:default/alice", &["group:default/team-a"]);
        let platform_team = principal("user:default/pat", &["group:default/platform"]);
        let run = Action::ScaffolderTemplateRun;
        assert!(
            authorizer
                .decide(&alice, run, &template("python-service", &[]))
                .allowed
        );
        assert!(
            !authorizer
                .decide(&alice, run, &template("prod-database", &[]))
                .allowed
        );
        assert!(
            authorizer
                .decide(&platform_team, run, &template("prod-database", &[]))
                .allowed
        );
    }

    #[test]
    fn signed_in_reads_stay_uniform_for_catalog_entities_but_not_for_tasks() {
        let defaults = authorizer(policy::DEFAULT_POLICIES);
        let alice = principal("user:default/alice", &["group:default/team-a"]);
        // Catalog lists rely on this: no per-entity decisions for plain readers.
        assert_eq!(
            defaults.uniform_entity_decision(&alice, Action::CatalogEntityRead),
            Some(true)
        );
        assert_eq!(
            defaults.uniform_entity_decision(&alice, Action::ScaffolderTemplateRun),
            Some(true)
        );
        // The read policy is scoped to the platform, which tasks are not in.
        let decision = defaults.decide(
            &alice,
            Action::ScaffolderTaskRead,
            &task("user:default/bob"),
        );
        assert!(!decision.allowed);
        assert!(
            !decision
                .policies
                .contains(&"signed-in-may-read".to_string())
        );
    }

    #[test]
    fn task_actions_need_a_task() {
        let authorizer = authorizer(policy::DEFAULT_POLICIES);
        let admin = principal("user:admin", &["admins"]);
        for action in [Action::ScaffolderTaskRead, Action::ScaffolderTaskCancel] {
            assert_eq!(action.resource_kind(), ResourceKind::Task);
            for resource in [
                ResourceRef::Platform,
                template("python-service", &[]),
                ResourceRef::Token {
                    id: "t-1".into(),
                    principal: String::new(),
                },
            ] {
                let decision = authorizer.decide(&admin, action, &resource);
                assert!(!decision.allowed, "{action} on {resource}");
                assert!(
                    decision.errors[0].contains(&format!(
                        "the action `{action}` applies to a Task resource, not `{resource}`"
                    )),
                    "{decision:?}"
                );
            }
        }
        // And the other way round: a task is not the platform.
        let decision = authorizer.decide(&admin, Action::ScaffolderTaskList, &task(""));
        assert!(!decision.allowed);
        assert!(
            decision.errors[0].contains("applies to a Platform resource, not `task:t-1`"),
            "{decision:?}"
        );
        let decision = authorizer.decide(&admin, Action::ScaffolderTemplateRun, &task(""));
        assert!(!decision.allowed);
        assert!(!decision.errors.is_empty());
    }

    #[test]
    fn every_action_is_in_the_schema_and_nothing_else_is() {
        let schema = policy::schema().unwrap();
        let mut in_schema: Vec<String> = schema
            .actions()
            .map(|uid| uid.id().unescaped().to_string())
            .filter(|name| name != "read" && name != "write")
            .collect();
        in_schema.sort();
        let mut in_code: Vec<String> = Action::ALL.iter().map(|a| a.name().to_string()).collect();
        in_code.sort();
        assert_eq!(in_schema, in_code);
    }

    #[test]
    fn resources_parse_from_text() {
        assert_eq!(
            ResourceRef::parse("platform").unwrap(),
            ResourceRef::Platform
        );
        assert_eq!(
            ResourceRef::parse("token:x1").unwrap().to_string(),
            "token:x1"
        );
        assert!(
            ResourceRef::parse("repo:x")
                .unwrap_err()
                .contains("token:ID")
        );
    }

    #[test]
    fn tasks_parse_from_text_and_display_back() {
        let parsed = ResourceRef::parse("task:0f3a-42").unwrap();
        assert_eq!(
            parsed,
            ResourceRef::Task {
                id: "0f3a-42".into(),
                created_by: String::new(),
                template: String::new(),
            }
        );
        assert_eq!(parsed.kind(), ResourceKind::Task);
        assert_eq!(parsed.to_string(), "task:0f3a-42");
        assert_eq!(task("user:default/alice").to_string(), "task:t-1");
        let message = ResourceRef::parse("task:").unwrap_err();
        assert!(message.contains("task:ID"), "{message}");
    }

    fn component(owner: &str) -> ResourceRef {
        catalog_entity(owner, "production", &[])
    }

    fn to(environment_type: &str) -> RequestContext {
        RequestContext::Deployment(DeploymentTarget::new(
            format!("my-{environment_type}"),
            environment_type,
        ))
    }

    fn environment(name: &str, environment_type: &str) -> ResourceRef {
        ResourceRef::Environment {
            name: name.into(),
            environment_type: environment_type.into(),
        }
    }

    #[test]
    fn owners_deploy_their_components_outside_production_and_admins_everywhere() {
        let authorizer = authorizer(policy::DEFAULT_POLICIES);
        let deploy = Action::DeploymentCreate;
        let alice = principal("user:default/alice", &["group:default/team-a"]);
        let admin = principal("user:default/admin", &["group:default/admins"]);
        let bob = principal("user:default/bob", &["group:default/team-b"]);
        // Owned through a group, or directly: isOwner as for catalog entities.
        for shop in [
            component("group:default/team-a"),
            component("user:default/alice"),
        ] {
            for environment_type in ["development", "staging", "preview"] {
                let decision =
                    authorizer.decide_with_context(&alice, deploy, &shop, &to(environment_type));
                assert!(decision.allowed, "{environment_type}: {decision:?}");
                assert_eq!(
                    decision.policies,
                    vec!["owners-may-deploy-outside-production"]
                );
            }
            let decision = authorizer.decide_with_context(&alice, deploy, &shop, &to("production"));
            assert!(!decision.allowed, "{decision:?}");
            assert!(decision.policies.is_empty(), "{decision:?}");
            assert!(decision.errors.is_empty(), "{decision:?}");
        }
        // Someone else's component, or nobody's: nowhere.
        for shop in [component("group:default/team-a"), component("")] {
            for environment_type in ENVIRONMENT_TYPES {
                let decision =
                    authorizer.decide_with_context(&bob, deploy, &shop, &to(environment_type));
                assert!(!decision.allowed, "{environment_type}: {decision:?}");
                assert!(decision.errors.is_empty(), "{decision:?}");
            }
        }
        // Owning a group of the same name elsewhere is not owning.
        let alice_in_ops = principal("user:ops/alice", &["group:ops/team-a"]);
        assert!(
            !authorizer
                .decide_with_context(
                    &alice_in_ops,
                    deploy,
                    &component("group:default/team-a"),
                    &to("development")
                )
                .allowed
        );
        // Admins deploy anything anywhere.
        for environment_type in ENVIRONMENT_TYPES {
            let decision = authorizer.decide_with_context(
                &admin,
                deploy,
                &component("group:default/team-a"),
                &to(environment_type),
            );
            assert!(decision.allowed, "{environment_type}: {decision:?}");
            assert_eq!(decision.policies, vec!["admins-may-do-everything"]);
        }
        // On the platform (the component not known yet) nobody owns anything,
        // so only admins get through a platform-level check.
        assert!(
            !authorizer
                .decide_with_context(&alice, deploy, &ResourceRef::Platform, &to("development"))
                .allowed
        );
        assert!(
            authorizer
                .decide_with_context(&admin, deploy, &ResourceRef::Platform, &to("production"))
                .allowed
        );
        // Reading environments and deployments is reading the platform.
        for action in [Action::EnvironmentRead, Action::DeploymentRead] {
            let decision = authorizer.decide(&bob, action, &ResourceRef::Platform);
            assert!(decision.allowed, "{action}: {decision:?}");
            assert_eq!(decision.policies, vec!["signed-in-may-read"]);
        }
    }

    #[test]
    fn policies_see_the_target_environment_of_a_deployment() {
        let authorizer = authorizer(
            r#"@id("ci-deploys-to-staging") permit (principal == Pave::Service::"ci", action == Pave::Action::"deployment.create", resource is Pave::Entity)
                 when { context.environment == "staging-eu" && context.environmentType == "staging" && resource.system == "system:default/retail" };"#,
        );
        let ci = principal("service:ci", &[]);
        let shop = component("group:default/team-a");
        let staging_eu = RequestContext::Deployment(DeploymentTarget::new("staging-eu", "staging"));
        let decision =
            authorizer.decide_with_context(&ci, Action::DeploymentCreate, &shop, &staging_eu);
        assert!(decision.allowed, "{decision:?}");
        assert_eq!(decision.policies, vec!["ci-deploys-to-staging"]);
        let staging_us = RequestContext::Deployment(DeploymentTarget::new("staging-us", "staging"));
        assert!(
            !authorizer
                .decide_with_context(&ci, Action::DeploymentCreate, &shop, &staging_us)
                .allowed
        );
    }

    #[test]
    fn owners_may_create_previews_and_others_may_not() {
        let authorizer = authorizer(policy::DEFAULT_POLICIES);
        let preview = Action::PreviewCreate;
        let alice = principal("user:default/alice", &["group:default/team-a"]);
        let bob = principal("user:default/bob", &["group:default/team-b"]);
        let admin = principal("user:default/admin", &["group:default/admins"]);
        let shop = component("group:default/team-a");
        let pr = RequestContext::Deployment(DeploymentTarget::new("shop-pr-42", "preview"));
        let decision = authorizer.decide_with_context(&alice, preview, &shop, &pr);
        assert!(decision.allowed, "{decision:?}");
        assert_eq!(decision.policies, vec!["owners-may-preview"]);
        let decision = authorizer.decide_with_context(&bob, preview, &shop, &pr);
        assert!(!decision.allowed, "{decision:?}");
        assert!(decision.errors.is_empty(), "{decision:?}");
        assert!(
            !authorizer
                .decide_with_context(&alice, preview, &component(""), &pr)
                .allowed
        );
        let decision = authorizer.decide_with_context(&admin, preview, &shop, &pr);
        assert!(decision.allowed, "{decision:?}");
        assert_eq!(decision.policies, vec!["admins-may-do-everything"]);
    }

    #[test]
    fn signed_in_principals_make_development_and_preview_environments_only() {
        let authorizer = authorizer(policy::DEFAULT_POLICIES);
        let bob = principal("user:default/bob", &[]);
        let ci = principal("service:ci", &[]);
        let admin = principal("user:default/admin", &["group:default/admins"]);
        for action in [Action::EnvironmentCreate, Action::EnvironmentDelete] {
            for environment_type in ["development", "preview"] {
                let resource = environment("sandbox", environment_type);
                for who in [&bob, &ci] {
                    let decision = authorizer.decide(who, action, &resource);
                    assert!(
                        decision.allowed,
                        "{action} {environment_type}: {decision:?}"
                    );
                    assert_eq!(
                        decision.policies,
                        vec!["signed-in-may-make-development-environments"]
                    );
                }
            }
            for environment_type in ["staging", "production"] {
                let resource = environment("main", environment_type);
                let decision = authorizer.decide(&bob, action, &resource);
                assert!(
                    !decision.allowed,
                    "{action} {environment_type}: {decision:?}"
                );
                assert!(decision.policies.is_empty(), "{decision:?}");
                assert!(decision.errors.is_empty(), "{decision:?}");
                let decision = authorizer.decide(&admin, action, &resource);
                assert!(
                    decision.allowed,
                    "{action} {environment_type}: {decision:?}"
                );
                assert_eq!(decision.policies, vec!["admins-may-do-everything"]);
            }
        }
    }

    #[test]
    fn environments_parse_from_text_and_display_back() {
        let parsed = ResourceRef::parse("environment:staging-eu").unwrap();
        assert_eq!(parsed, environment("staging-eu", ""));
        assert_eq!(parsed.kind(), ResourceKind::Environment);
        assert_eq!(parsed.to_string(), "environment:staging-eu");
        assert_eq!(
            environment("prod", "production").to_string(),
            "environment:prod"
        );
        let message = ResourceRef::parse("environment:").unwrap_err();
        assert!(message.contains("environment:NAME"), "{message}");
    }

    #[test]
    fn deployment_actions_need_a_target_and_the_right_resource() {
        let authorizer = authorizer(policy::DEFAULT_POLICIES);
        let admin = principal("user:default/admin", &["group:default/admins"]);
        let shop = component("user:default/admin");
        let denied = |action: Action, resource: &ResourceRef, context: &RequestContext| {
            let decision = authorizer.decide_with_context(&admin, action, resource, context);
            assert!(!decision.allowed, "{action} on {resource}: {decision:?}");
            assert!(decision.policies.is_empty(), "{decision:?}");
            decision.errors.join("; ")
        };
        // No target: a deployment is never decided without knowing where.
        for action in [Action::DeploymentCreate, Action::PreviewCreate] {
            let message = authorizer.decide(&admin, action, &shop).errors.join("; ");
            assert!(
                message.contains(&format!(
                    "the action `{action}` is decided with a deployment target"
                )),
                "{message}"
            );
        }
        // A target where none is taken.
        let message = denied(Action::CatalogEntityRead, &shop, &to("production"));
        assert!(
            message.contains("`catalog.entity.read` takes no deployment target"),
            "{message}"
        );
        let message = denied(
            Action::EnvironmentCreate,
            &environment("dev", "development"),
            &to("development"),
        );
        assert!(message.contains("takes no deployment target"), "{message}");
        // A type policies could misread: empty, misspelt, another case.
        for environment_type in ["", "Production", "prod"] {
            let context =
                RequestContext::Deployment(DeploymentTarget::new("main", environment_type));
            let message = denied(Action::DeploymentCreate, &shop, &context);
            assert!(
                message.contains(&format!("`{environment_type}` is not an environment type; it is one of development, staging, production, preview")),
                "{message}"
            );
        }
        let message = denied(
            Action::DeploymentCreate,
            &shop,
            &RequestContext::Deployment(DeploymentTarget::new("", "staging")),
        );
        assert!(
            message.contains("needs the target environment's name"),
            "{message}"
        );
        // A preview goes to a preview environment.
        let message = denied(Action::PreviewCreate, &shop, &to("staging"));
        assert!(
            message.contains("`preview.create` is about a preview environment, not the staging environment `my-staging`"),
            "{message}"
        );
        // The wrong resource.
        let message = denied(
            Action::PreviewCreate,
            &ResourceRef::Platform,
            &to("preview"),
        );
        assert!(
            message.contains(
                "the action `preview.create` applies to an Entity resource, not `platform`"
            ),
            "{message}"
        );
        let message = denied(
            Action::DeploymentCreate,
            &environment("prod", "production"),
            &to("production"),
        );
        assert!(
            message.contains("the action `deployment.create` applies to a Platform or Entity resource, not `environment:prod`"),
            "{message}"
        );
        let message = denied(
            Action::DeploymentCreate,
            &task("user:default/admin"),
            &to("development"),
        );
        assert!(message.contains("not `task:t-1`"), "{message}");
        for action in [Action::EnvironmentCreate, Action::EnvironmentDelete] {
            let message = denied(action, &ResourceRef::Platform, &RequestContext::Derived);
            assert!(
                message.contains(&format!(
                    "the action `{action}` applies to an Environment resource, not `platform`"
                )),
                "{message}"
            );
            let message = denied(action, &shop, &RequestContext::Derived);
            assert!(
                message.contains("applies to an Environment resource"),
                "{message}"
            );
            // An environment whose type was not filled in is not guessed at.
            let message = denied(
                action,
                &ResourceRef::parse("environment:dev").unwrap(),
                &RequestContext::Derived,
            );
            assert!(
                message.contains(&format!("the environment `dev` needs a known type before `{action}` is decided: `` is not an environment type")),
                "{message}"
            );
        }
        assert!(
            denied(
                Action::EnvironmentRead,
                &environment("dev", "development"),
                &RequestContext::Derived
            )
            .contains("applies to a Platform resource")
        );
        let message = denied(
            Action::EnvironmentCreate,
            &environment("Dev", "Development"),
            &RequestContext::Derived,
        );
        assert!(
            message.contains("`Development` is not an environment type"),
            "{message}"
        );
    }

    #[test]
    fn every_action_fits_the_schema_and_sends_the_context_it_declares() {
        let schema = policy::schema().unwrap();
        let names = |kinds: Vec<ResourceKind>| {
            let mut names: Vec<String> =
                kinds.iter().map(|kind| format!("Pave::{kind:?}")).collect();
            names.sort();
            names
        };
        // Allow everything, so any refusal is the request not fitting.
        let authorizer = authorizer("permit (principal, action, resource);");
        let admin = principal("user:default/admin", &["group:default/admins"]);
        for &action in Action::ALL {
            let uid = EntityUid::from_type_name_and_id(
                EntityTypeName::from_str("Pave::Action").unwrap(),
                EntityId::new(action.name()),
            );
            let mut declared: Vec<String> = schema
                .resources_for_action(&uid)
                .unwrap_or_else(|| panic!("{action} is not in the schema"))
                .map(ToString::to_string)
                .collect();
            declared.sort();
            assert_eq!(declared, names(action.resource_kinds()), "{action}");
            for kind in action.resource_kinds() {
                let resource = match kind {
                    ResourceKind::Platform => ResourceRef::Platform,
                    ResourceKind::Token => ResourceRef::Token {
                        id: "t-1".into(),
                        principal: "user:default/admin".into(),
                    },
                    ResourceKind::Entity => component("user:default/admin"),
                    ResourceKind::Task => task("user:default/admin"),
                    ResourceKind::Environment => environment("dev", "development"),
                };
                let context = match action.context_kind() {
                    ContextKind::Deployment => to("preview"),
                    _ => RequestContext::Derived,
                };
                let decision = authorizer.decide_with_context(&admin, action, &resource, &context);
                assert!(decision.allowed, "{action} on {resource}: {decision:?}");
                assert!(decision.errors.is_empty(), "{action}: {decision:?}");
            }
        }
    }

    #[test]
    fn cedar_refuses_a_context_that_does_not_fit_the_schema() {
        // The authorizer relies on this: requests are checked against the
        // schema, so a context missing an attribute (or with an extra one)
        // is an error, not a policy that quietly never matches.
        let schema = policy::schema().unwrap();
        let uid = |kind: &str, id: &str| {
            EntityUid::from_type_name_and_id(
                EntityTypeName::from_str(kind).unwrap(),
                EntityId::new(id),
            )
        };
        let request = |pairs: Vec<(&str, RestrictedExpression)>| {
            Request::new(
                uid("Pave::User", "default/alice"),
                uid("Pave::Action", "deployment.create"),
                uid("Pave::Entity", "component:default/shop"),
                Context::from_pairs(pairs.into_iter().map(|(k, v)| (k.to_string(), v))).unwrap(),
                Some(&schema),
            )
            .map(|_| ())
            .map_err(|error| error.to_string())
        };
        let owner = || RestrictedExpression::new_bool(true);
        let text = |value: &str| RestrictedExpression::new_string(value.into());
        let message = request(vec![("isOwner", owner())]).unwrap_err();
        assert!(message.contains("context"), "{message}");
        let message = request(vec![
            ("isOwner", owner()),
            ("environment", text("prod")),
            ("environmentType", text("production")),
            ("isCreator", owner()),
        ])
        .unwrap_err();
        assert!(message.contains("context"), "{message}");
        let message = request(vec![
            ("isOwner", text("yes")),
            ("environment", text("prod")),
            ("environmentType", text("production")),
        ])
        .unwrap_err();
        assert!(message.contains("context"), "{message}");
        request(vec![
            ("isOwner", owner()),
            ("environment", text("prod")),
            ("environmentType", text("production")),
        ])
        .unwrap();
    }

    #[test]
    fn deployment_decisions_are_uniform_only_for_admins() {
        let defaults = authorizer(policy::DEFAULT_POLICIES);
        let alice = principal("user:default/alice", &["group:default/team-a"]);
        let admin = principal("user:default/admin", &["group:default/admins"]);
        // The catalog's fast path still holds for plain readers.
        assert_eq!(
            defaults.uniform_entity_decision(&alice, Action::CatalogEntityRead),
            Some(true)
        );
        for action in [Action::DeploymentCreate, Action::PreviewCreate] {
            assert_eq!(defaults.uniform_entity_decision(&alice, action), None);
            assert_eq!(defaults.uniform_entity_decision(&admin, action), Some(true));
        }
    }
}
