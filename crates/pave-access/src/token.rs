//! API tokens: shown once when created, stored only as a SHA-256 hash.
//!
//! A token reads `pave_<id>_<secret>`. The id is public (lists and audit
//! events show it); the secret is 256 random bits, so a fast hash is enough
//! (unlike passwords, there is nothing to guess) and lookups stay cheap on
//! every request. A revoked or expired token fails at its next use: nothing
//! is cached.

use jiff::Timestamp;
use pave_store::{RowExt, Store, Transaction, format_time, now, parse_time};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::AccessError;
use crate::principal::{GroupRef, Principal, PrincipalRef};

const PREFIX: &str = "pave_";
/// How stale `last_used_at` may get before a request refreshes it; keeps
/// authentication from writing on every request.
const LAST_USED_RESOLUTION_SECONDS: i64 = 60;
/// The longest token name accepted.
pub const MAX_NAME_LENGTH: usize = 100;

/// A token as listed: everything but the secret.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenRecord {
    pub id: String,
    pub name: String,
    pub principal: String,
    pub groups: Vec<String>,
    pub created_at: String,
    pub created_by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<String>,
    /// `active`, `expired` or `revoked`, as of the moment it was read.
    pub status: &'static str,
}

/// What a new token is for.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub name: String,
    pub principal: PrincipalRef,
    pub groups: Vec<GroupRef>,
    pub expires_at: Option<Timestamp>,
}

/// A token just created: the only time its secret exists outside the caller.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct IssuedToken {
    #[serde(flatten)]
    pub record: TokenRecord,
    /// The bearer token. Shown once; Pave keeps only its hash.
    pub token: String,
}

/// Why a bearer token was refused. The message is safe to return to the caller.
#[derive(Debug, thiserror::Error)]
pub enum AuthenticationError {
    #[error(
        "no credentials: send `Authorization: Bearer <token>` (create one with `pave token create`)"
    )]
    Missing,
    #[error("the Authorization header is not `Bearer <token>`")]
    Malformed,
    #[error("the token is not valid")]
    Invalid,
    #[error("the token `{0}` was revoked")]
    Revoked(String),
    #[error("the token `{id}` expired at {at}")]
    Expired { id: String, at: String },
    #[error("the session expired; sign in again")]
    SessionExpired,
    #[error(transparent)]
    Store(#[from] pave_store::StoreError),
}

pub(crate) fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    hex::encode(buffer)
}

fn status(expires_at: Option<&str>, revoked_at: Option<&str>, at: &str) -> &'static str {
    if revoked_at.is_some() {
        "revoked"
    } else if expires_at.is_some_and(|expiry| expiry <= at) {
        "expired"
    } else {
        "active"
    }
}

const COLUMNS: &str = "id, name, principal, groups_json, created_at, created_by, expires_at, revoked_at, revoked_by, last_used_at";

fn from_row(row: &pave_store::Row, at: &str) -> Result<TokenRecord, AccessError> {
    let text = |name: &str| row.try_get::<String, _>(name).map_err(store_error);
    let optional = |name: &str| row.try_get::<Option<String>, _>(name).map_err(store_error);
    let expires_at = optional("expires_at")?;
    let revoked_at = optional("revoked_at")?;
    Ok(TokenRecord {
        status: status(expires_at.as_deref(), revoked_at.as_deref(), at),
        id: text("id")?,
        name: text("name")?,
        principal: text("principal")?,
        groups: serde_json::from_str(&text("groups_json")?).unwrap_or_default(),
        created_at: text("created_at")?,
        created_by: text("created_by")?,
        expires_at,
        revoked_at,
        revoked_by: optional("revoked_by")?,
        last_used_at: optional("last_used_at")?,
    })
}

fn store_error(error: sqlx::Error) -> AccessError {
    AccessError::Store(error.into())
}

/// Creates a token inside `transaction`.
pub async fn create(
    transaction: &mut Transaction,
    new: NewToken,
    created_by: &str,
) -> Result<IssuedToken, AccessError> {
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_LENGTH {
        return Err(AccessError::Input(format!(
            "name: give the token a name of 1 to {MAX_NAME_LENGTH} characters (it says what the token is for)"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(AccessError::Input(
            "name: control characters are not allowed".into(),
        ));
    }
    let created = now();
    if let Some(expiry) = new.expires_at
        && expiry <= created
    {
        return Err(AccessError::Input(format!(
            "expiresAt: {expiry} is in the past; give a future time"
        )));
    }
    let id = random_hex(8);
    let secret = random_hex(32);
    let mut groups: Vec<String> = new.groups.iter().map(ToString::to_string).collect();
    groups.sort();
    groups.dedup();
    let record = TokenRecord {
        id: id.clone(),
        name: name.to_string(),
        principal: new.principal.to_string(),
        groups,
        created_at: format_time(created),
        created_by: created_by.to_string(),
        expires_at: new.expires_at.map(format_time),
        revoked_at: None,
        revoked_by: None,
        last_used_at: None,
        status: "active",
    };
    pave_store::query(
        "INSERT INTO api_tokens (id, name, principal, groups_json, secret_hash, created_at, created_by, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&record.id)
    .bind(&record.name)
    .bind(&record.principal)
    .bind(serde_json::to_string(&record.groups).unwrap_or_else(|_| "[]".into()))
    .bind(hash_secret(&secret))
    .bind(&record.created_at)
    .bind(&record.created_by)
    .bind(&record.expires_at)
    .execute(&mut **transaction)
    .await
    .map_err(store_error)?;
    Ok(IssuedToken {
        record,
        token: format!("{PREFIX}{id}_{secret}"),
    })
}

/// Lists tokens, newest first; revoked and expired ones only when asked.
pub async fn list(store: &Store, include_inactive: bool) -> Result<Vec<TokenRecord>, AccessError> {
    let at = format_time(now());
    let rows = pave_store::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM api_tokens ORDER BY created_at DESC, id"
    )))
    .fetch_all(store.pool())
    .await
    .map_err(store_error)?;
    let records = rows
        .iter()
        .map(|row| from_row(row, &at))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(records
        .into_iter()
        .filter(|record| include_inactive || record.status == "active")
        .collect())
}

/// Reads one token.
pub async fn get(store: &Store, id: &str) -> Result<TokenRecord, AccessError> {
    let row = pave_store::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM api_tokens WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(store.pool())
    .await
    .map_err(store_error)?;
    match row {
        Some(row) => from_row(&row, &format_time(now())),
        None => Err(AccessError::NotFound(format!(
            "token `{id}` does not exist"
        ))),
    }
}

/// Revokes a token inside `transaction`. Revoking twice keeps the first
/// revocation's time and author.
pub async fn revoke(
    transaction: &mut Transaction,
    id: &str,
    revoked_by: &str,
) -> Result<TokenRecord, AccessError> {
    let at = format_time(now());
    pave_store::query(
        "UPDATE api_tokens SET revoked_at = $1, revoked_by = $2 WHERE id = $3 AND revoked_at IS NULL",
    )
    .bind(&at)
    .bind(revoked_by)
    .bind(id)
    .execute(&mut **transaction)
    .await
    .map_err(store_error)?;
    let row = pave_store::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM api_tokens WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut **transaction)
    .await
    .map_err(store_error)?;
    match row {
        Some(row) => from_row(&row, &at),
        None => Err(AccessError::NotFound(format!(
            "token `{id}` does not exist"
        ))),
    }
}

/// Splits `pave_<id>_<secret>`; None when it does not have that shape.
pub fn split_token(token: &str) -> Option<(&str, &str)> {
    let rest = token.strip_prefix(PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let hex = |text: &str, length: usize| {
        text.len() == length && text.bytes().all(|byte| byte.is_ascii_hexdigit())
    };
    (hex(id, 16) && hex(secret, 64)).then_some((id, secret))
}

/// Finds the principal behind a bearer token.
pub async fn authenticate(store: &Store, token: &str) -> Result<Principal, AuthenticationError> {
    let (id, secret) = split_token(token).ok_or(AuthenticationError::Invalid)?;
    principal_of(store, id, Some(secret)).await
}

/// The principal of token `id` while the token is neither revoked nor
/// expired; with `secret`, only if it is the token's secret. A portal
/// session, whose own secret was checked, passes none.
pub(crate) async fn principal_of(
    store: &Store,
    id: &str,
    secret: Option<&str>,
) -> Result<Principal, AuthenticationError> {
    let row = pave_store::query(
        "SELECT principal, groups_json, secret_hash, expires_at, revoked_at, last_used_at FROM api_tokens WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(store.pool())
    .await
    .map_err(pave_store::StoreError::from)?;
    let Some(row) = row else {
        return Err(AuthenticationError::Invalid);
    };
    let text = |name: &str| {
        row.try_get::<String, _>(name)
            .map_err(|error| AuthenticationError::Store(error.into()))
    };
    let optional = |name: &str| {
        row.try_get::<Option<String>, _>(name)
            .map_err(|error| AuthenticationError::Store(error.into()))
    };
    let stored = text("secret_hash")?;
    if let Some(secret) = secret
        && !bool::from(hash_secret(secret).as_bytes().ct_eq(stored.as_bytes()))
    {
        return Err(AuthenticationError::Invalid);
    }
    if optional("revoked_at")?.is_some() {
        return Err(AuthenticationError::Revoked(id.to_string()));
    }
    let current = now();
    let at = format_time(current);
    if let Some(expiry) = optional("expires_at")?
        && expiry <= at
    {
        return Err(AuthenticationError::Expired {
            id: id.to_string(),
            at: expiry,
        });
    }
    let stale = match optional("last_used_at")? {
        None => true,
        Some(last) => parse_time(&last).map_or(true, |last| {
            current.as_second() - last.as_second() >= LAST_USED_RESOLUTION_SECONDS
        }),
    };
    if stale {
        // Best effort: a busy database must not turn a valid token away.
        let _ = pave_store::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(&at)
            .bind(id)
            .execute(store.pool())
            .await;
    }
    let reference =
        PrincipalRef::parse(&text("principal")?).map_err(|_| AuthenticationError::Invalid)?;
    let groups: Vec<String> = serde_json::from_str(&text("groups_json")?).unwrap_or_default();
    Ok(Principal {
        reference,
        groups: groups
            .iter()
            .filter_map(|group| GroupRef::parse(group).ok())
            .collect(),
        token_id: Some(id.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_tokens_split() {
        let id = "0123456789abcdef";
        let secret = "a".repeat(64);
        let token = format!("pave_{id}_{secret}");
        assert_eq!(split_token(&token), Some((id, secret.as_str())));
        assert_eq!(split_token("pave_x_y"), None);
        assert_eq!(split_token(&format!("ghp_{id}_{secret}")), None);
        assert_eq!(split_token(&format!("pave_{id}_{secret}0")), None);
    }

    #[test]
    fn status_follows_revocation_then_expiry() {
        let at = "2026-01-01T00:00:00.000000Z";
        assert_eq!(status(None, None, at), "active");
        assert_eq!(
            status(Some("2025-01-01T00:00:00.000000Z"), None, at),
            "expired"
        );
        assert_eq!(
            status(Some("2027-01-01T00:00:00.000000Z"), None, at),
            "active"
        );
        assert_eq!(status(None, Some(at), at), "revoked");
    }
}
