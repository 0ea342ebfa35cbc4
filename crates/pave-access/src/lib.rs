//! Access: who is calling (identities and API tokens), what they may do
//! (Cedar authorization), and what they did (the hash-chained audit log).
//!
//! [`Access`] is the one entry point the server uses. Every change it makes
//! writes its audit event in the same transaction, so a change without its
//! event (or an event without its change) cannot be committed.
//!
//! Architecture invariant: this crate knows nothing of HTTP. It decides and
//! records; the server maps its answers to status codes.

pub mod action;
pub mod audit;
pub mod authorizer;
pub mod policy;
pub mod policy_store;
pub mod principal;
pub mod session;
pub mod token;

use std::sync::Arc;

use pave_store::{Store, StoreError};
use serde_json::json;

pub use action::{Action, ContextKind, ResourceKind, UnknownAction};
pub use audit::{AuditEvent, AuditFilter, AuditPage, NewEvent, Outcome, VerifyReport};
pub use authorizer::{
    Authorizer, Decision, DeploymentTarget, ENVIRONMENT_TYPES, EntityAttributes, PolicySnapshot,
    RequestContext, ResourceRef,
};
pub use policy::{Diagnostic, PolicyError};
pub use principal::{ADMINS_GROUP, GroupRef, Principal, PrincipalRef, ReferenceError};
pub use session::{Session, Started};
pub use token::{AuthenticationError, IssuedToken, NewToken, TokenRecord};

/// Errors from access operations. Each says what to change to succeed.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error(transparent)]
    Reference(#[from] ReferenceError),
}

/// Who is making a change, for its audit event.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The principal reference, such as `user:default/alice`.
    pub principal: String,
    pub request_id: Option<String>,
}

impl Actor {
    pub fn new(principal: &Principal, request_id: Option<String>) -> Actor {
        Actor {
            principal: principal.reference.to_string(),
            request_id,
        }
    }
}

/// The bootstrap admin: who the first token acts as.
pub const BOOTSTRAP_ADMIN: &str = "user:default/admin";

const BOOTSTRAP_KEY: &str = "bootstrap.admin-token";

/// Identities, authorization and audit over one store.
pub struct Access {
    store: Store,
    authorizer: Arc<Authorizer>,
}

impl Access {
    /// Loads the active policies (seeding the defaults on first start).
    pub async fn open(store: Store) -> Result<Access, AccessError> {
        let schema = policy::schema()?;
        let snapshot = policy_store::load(&store, &schema).await?;
        Ok(Access {
            authorizer: Arc::new(Authorizer::new(snapshot)?),
            store,
        })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn authorizer(&self) -> &Authorizer {
        &self.authorizer
    }

    /// Creates the first admin token, once per database. Returns it only to
    /// the one start that created it; every later start gets None.
    pub async fn bootstrap(&self) -> Result<Option<IssuedToken>, AccessError> {
        let mut transaction = self.store.begin().await?;
        let claimed = pave_store::query(
            "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING",
        )
        .bind(BOOTSTRAP_KEY)
        .bind("created")
        .bind(pave_store::format_time(pave_store::now()))
        .execute(&mut *transaction)
        .await
        .map_err(StoreError::from)?
        .rows_affected();
        if claimed != 1 {
            return Ok(None);
        }
        let issued = token::create(
            &mut transaction,
            NewToken {
                name: "bootstrap admin".into(),
                principal: PrincipalRef::parse(BOOTSTRAP_ADMIN)?,
                groups: vec![GroupRef::parse(ADMINS_GROUP)?],
                expires_at: None,
            },
            policy_store::SYSTEM_PRINCIPAL,
        )
        .await?;
        audit::append(
            &self.store,
            &mut transaction,
            NewEvent {
                principal: policy_store::SYSTEM_PRINCIPAL.into(),
                action: Action::TokenCreate.name().into(),
                resource: format!("token:{}", issued.record.id),
                outcome: Outcome::Success,
                request_id: None,
                detail: json!({"name": issued.record.name, "principal": issued.record.principal, "groups": issued.record.groups, "bootstrap": true}),
            },
        )
        .await?;
        transaction.commit().await.map_err(StoreError::from)?;
        Ok(Some(issued))
    }

    /// Finds the principal behind a bearer token.
    pub async fn authenticate(&self, token: &str) -> Result<Principal, AuthenticationError> {
        token::authenticate(&self.store, token).await
    }

    /// Starts a portal session for the bearer of `token`.
    pub async fn start_session(&self, token: &str) -> Result<Started, AuthenticationError> {
        session::start(&self.store, token).await
    }

    /// The principal and session behind a session cookie.
    pub async fn resume_session(
        &self,
        cookie: &str,
    ) -> Result<(Principal, Session), AuthenticationError> {
        session::resume(&self.store, cookie).await
    }

    /// Ends the session behind a cookie.
    pub async fn end_session(&self, cookie: &str) -> Result<(), StoreError> {
        session::end(&self.store, cookie).await
    }

    /// Decides with the current policies.
    pub fn decide(
        &self,
        principal: &Principal,
        action: Action,
        resource: &ResourceRef,
    ) -> Decision {
        self.authorizer.decide(principal, action, resource)
    }

    /// Decides with the current policies and what the caller says about the
    /// request: where a deployment or preview goes
    /// (`RequestContext::Deployment`).
    pub fn decide_with_context(
        &self,
        principal: &Principal,
        action: Action,
        resource: &ResourceRef,
        context: &RequestContext,
    ) -> Decision {
        self.authorizer
            .decide_with_context(principal, action, resource, context)
    }

    /// Fills in what Cedar needs to know about a resource (a token's owner).
    /// Catalog entities, scaffolder tasks and environments come back as
    /// given: whoever knows the catalog, the tasks or the environments fills
    /// in their attributes (an environment's type).
    pub async fn resolve(&self, resource: ResourceRef) -> Result<ResourceRef, AccessError> {
        match resource {
            ResourceRef::Token { id, .. } => {
                let principal = match token::get(&self.store, &id).await {
                    Ok(record) => record.principal,
                    Err(AccessError::NotFound(_)) => String::new(),
                    Err(error) => return Err(error),
                };
                Ok(ResourceRef::Token { id, principal })
            }
            other => Ok(other),
        }
    }

    /// Records an event that goes with no change (refusals, failures).
    pub async fn record(&self, event: NewEvent) -> Result<AuditEvent, AccessError> {
        audit::record(&self.store, event).await
    }

    pub async fn create_token(
        &self,
        new: NewToken,
        actor: &Actor,
    ) -> Result<IssuedToken, AccessError> {
        let mut transaction = self.store.begin().await?;
        let issued = token::create(&mut transaction, new, &actor.principal).await?;
        self.append(
            &mut transaction,
            actor,
            Action::TokenCreate,
            format!("token:{}", issued.record.id),
            json!({"name": issued.record.name, "principal": issued.record.principal, "groups": issued.record.groups, "expiresAt": issued.record.expires_at}),
        )
        .await?;
        transaction.commit().await.map_err(StoreError::from)?;
        Ok(issued)
    }

    pub async fn revoke_token(&self, id: &str, actor: &Actor) -> Result<TokenRecord, AccessError> {
        let mut transaction = self.store.begin().await?;
        let record = token::revoke(&mut transaction, id, &actor.principal).await?;
        self.append(
            &mut transaction,
            actor,
            Action::TokenRevoke,
            format!("token:{id}"),
            json!({"principal": record.principal}),
        )
        .await?;
        transaction.commit().await.map_err(StoreError::from)?;
        Ok(record)
    }

    pub async fn list_tokens(
        &self,
        include_inactive: bool,
    ) -> Result<Vec<TokenRecord>, AccessError> {
        token::list(&self.store, include_inactive).await
    }

    pub async fn get_token(&self, id: &str) -> Result<TokenRecord, AccessError> {
        token::get(&self.store, id).await
    }

    /// Validates and stores a new policy set, then makes it current. An
    /// invalid set changes nothing.
    pub async fn set_policies(
        &self,
        source: &str,
        expected_version: Option<i64>,
        actor: &Actor,
    ) -> Result<Arc<PolicySnapshot>, AccessError> {
        let mut transaction = self.store.begin().await?;
        let snapshot = policy_store::save(
            &mut transaction,
            self.authorizer.schema(),
            source,
            expected_version,
            &actor.principal,
        )
        .await?;
        self.append(
            &mut transaction,
            actor,
            Action::PolicyWrite,
            "platform".into(),
            json!({"version": snapshot.version, "policies": snapshot.set.policies().map(|p| p.id().to_string()).collect::<Vec<_>>()}),
        )
        .await?;
        transaction.commit().await.map_err(StoreError::from)?;
        self.authorizer.replace(snapshot);
        Ok(self.authorizer.snapshot())
    }

    /// True when `source` would deny `principal` the right to change policies
    /// again, so that applying it would lock them out.
    pub fn would_lock_out(&self, source: &str, principal: &Principal) -> Result<bool, AccessError> {
        let set = policy::compile(source, self.authorizer.schema())?;
        let decision = self.authorizer.decide_with(
            &set,
            principal,
            Action::PolicyWrite,
            &ResourceRef::Platform,
        );
        Ok(!decision.allowed)
    }

    /// Reloads the policies when another replica changed them. Returns true
    /// when the set changed.
    pub async fn refresh_policies(&self) -> Result<bool, AccessError> {
        let current = self.authorizer.snapshot().version;
        match policy_store::current_version(&self.store).await? {
            Some(version) if version != current => {
                let snapshot = policy_store::load(&self.store, self.authorizer.schema()).await?;
                self.authorizer.replace(snapshot);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    pub async fn audit(&self, filter: &AuditFilter) -> Result<AuditPage, AccessError> {
        audit::list(&self.store, filter).await
    }

    pub async fn verify_audit(&self) -> Result<VerifyReport, AccessError> {
        audit::verify(&self.store).await
    }

    async fn append(
        &self,
        transaction: &mut pave_store::Transaction,
        actor: &Actor,
        action: Action,
        resource: String,
        detail: serde_json::Value,
    ) -> Result<AuditEvent, AccessError> {
        audit::append(
            &self.store,
            transaction,
            NewEvent {
                principal: actor.principal.clone(),
                action: action.name().into(),
                resource,
                outcome: Outcome::Success,
                request_id: actor.request_id.clone(),
                detail,
            },
        )
        .await
    }
}
