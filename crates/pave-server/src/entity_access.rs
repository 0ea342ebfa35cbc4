//! Per-entity authorization for one principal, shared by the catalog API
//! and the portal: what a caller may read (lists filter by it) and change.

use std::sync::Arc;

use pave_access::{Access, Action, NewEvent, Outcome, Principal, ResourceRef};
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// Per-entity authorization for one caller: routes check the platform-level
/// action at the gate, then each entity they return or change here.
pub(crate) struct EntityAccess {
    access: Arc<Access>,
    principal: Principal,
    /// Set when the policies give this caller the same answer for every entity.
    uniform_read: Option<bool>,
}

impl EntityAccess {
    pub(crate) fn new(state: &AppState, principal: &Principal) -> EntityAccess {
        EntityAccess {
            uniform_read: state
                .access
                .authorizer()
                .uniform_entity_decision(principal, Action::CatalogEntityRead),
            access: Arc::clone(&state.access),
            principal: principal.clone(),
        }
    }

    pub(crate) fn may(&self, action: Action, entity: &Value) -> bool {
        let resource = ResourceRef::Entity(Box::new(pave_catalog::attributes(entity)));
        self.access
            .decide(&self.principal, action, &resource)
            .allowed
    }

    /// Whether a deployment action (deploy, rollback, promote, preview) on
    /// this component to `target` is allowed.
    pub(crate) fn may_deploy(
        &self,
        action: Action,
        entity: &Value,
        target: &pave_access::DeploymentTarget,
    ) -> bool {
        let resource = ResourceRef::Entity(Box::new(pave_catalog::attributes(entity)));
        self.access
            .decide_with_context(
                &self.principal,
                action,
                &resource,
                &pave_access::RequestContext::Deployment(target.clone()),
            )
            .allowed
    }

    /// Checks a deployment action; refusals are audited and answered 403.
    pub(crate) async fn check_deploy(
        &self,
        action: Action,
        entity: &Value,
        target: &pave_access::DeploymentTarget,
        caller: &Caller,
    ) -> Result<(), ApiError> {
        if self.may_deploy(action, entity, target) {
            return Ok(());
        }
        let attributes = pave_catalog::attributes(entity);
        let event = NewEvent {
            principal: self.principal.reference.to_string(),
            action: action.name().into(),
            resource: format!("entity:{}", attributes.reference),
            outcome: Outcome::Denied,
            request_id: Some(caller.request_id.clone()),
            detail: json!({"environment": target.environment, "environmentType": target.environment_type}),
        };
        if let Err(error) = self.access.record(event).await {
            tracing::error!(%error, "cannot write an audit event");
        }
        Err(ApiError::forbidden(format!(
            "{} may not {action} {} to {} environment `{}`",
            self.principal.reference,
            attributes.reference,
            target.environment_type,
            target.environment
        )))
    }

    pub(crate) fn may_read(&self, entity: &Value) -> bool {
        self.uniform_read
            .unwrap_or_else(|| self.may(Action::CatalogEntityRead, entity))
    }

    /// The filter lists apply, or None when every entity is readable.
    pub(crate) fn visible(&self) -> Option<impl Fn(&Value) -> bool + Send + Sync + '_> {
        match self.uniform_read {
            Some(true) => None,
            _ => Some(|entity: &Value| self.may_read(entity)),
        }
    }

    /// Checks a change to one entity; refusals are audited and answered 403.
    pub(crate) async fn check_change(
        &self,
        action: Action,
        entity: &Value,
        caller: &Caller,
    ) -> Result<(), ApiError> {
        if self.may(action, entity) {
            return Ok(());
        }
        let attributes = pave_catalog::attributes(entity);
        let event = NewEvent {
            principal: self.principal.reference.to_string(),
            action: action.name().into(),
            resource: format!("entity:{}", attributes.reference),
            outcome: Outcome::Denied,
            request_id: Some(caller.request_id.clone()),
            detail: json!({"reason": "the policies do not allow it on this entity"}),
        };
        if let Err(error) = self.access.record(event).await {
            tracing::error!(%error, "cannot write an audit event");
        }
        Err(ApiError::forbidden(format!(
            "{} may not {action} on {}",
            self.principal.reference, attributes.reference
        )))
    }
}

/// The entity `reference` names (of `kind` unless it says otherwise), if the
/// caller may read it. Hidden and missing entities get the same 404, so
/// nobody learns that a hidden one exists; `field` names the request field
/// in messages.
pub(crate) async fn readable_entity(
    state: &AppState,
    principal: &Principal,
    reference: &str,
    kind: &str,
    field: &str,
) -> Result<Value, ApiError> {
    let parsed = pave_catalog_model::parse_ref(reference, Some(kind), "default")
        .map_err(|error| ApiError::input(format!("{field} `{reference}`: {error}")))?;
    if parsed.kind != kind {
        return Err(ApiError::input(format!(
            "{field} `{reference}` is a {}, not a {kind}",
            parsed.kind
        )));
    }
    let missing = || ApiError::not_found(format!("no {kind} named {parsed}"));
    let entity = state
        .catalog
        .entity_by_ref(&parsed)
        .await
        .map_err(|_| missing())?;
    if !EntityAccess::new(state, principal).may_read(&entity) {
        return Err(missing());
    }
    Ok(entity)
}
