//! Portal sessions. Signing in with an API token starts a session: the
//! browser gets a random secret in an HttpOnly cookie and Pave stores only
//! its SHA-256, with the session's CSRF token and a fixed expiry. A session
//! acts as the token it was started with, so revoking or expiring that token
//! ends its sessions at once.

use pave_store::{RowExt, Store, format_time, now};

use crate::principal::Principal;
use crate::token::{self, AuthenticationError};

/// How long a session lasts from sign-in, whatever happens in between.
pub const SESSION_HOURS: i64 = 12;

/// What a session carries besides its principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The token the session acts as.
    pub token_id: String,
    /// Every form of this session must echo it.
    pub csrf: String,
    pub expires_at: String,
}

/// A session just started: the cookie value is shown to the browser once.
#[derive(Debug, Clone)]
pub struct Started {
    pub cookie: String,
    pub session: Session,
    pub principal: Principal,
}

/// The secrets a cookie holds: 32 random bytes, hex.
fn looks_like_cookie(cookie: &str) -> bool {
    cookie.len() == 64 && cookie.bytes().all(|byte| byte.is_ascii_hexdigit())
}

/// Starts a session for the bearer of `token`.
pub async fn start(store: &Store, token: &str) -> Result<Started, AuthenticationError> {
    let principal = token::authenticate(store, token).await?;
    let token_id = principal
        .token_id
        .clone()
        .ok_or(AuthenticationError::Invalid)?;
    let cookie = token::random_hex(32);
    let csrf = token::random_hex(32);
    let current = now();
    let expires_at = format_time(
        current
            .checked_add(jiff::SignedDuration::from_hours(SESSION_HOURS))
            .unwrap_or(current),
    );
    pave_store::query(
        "INSERT INTO sessions (id, token_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token::hash_secret(&cookie))
    .bind(&token_id)
    .bind(&csrf)
    .bind(format_time(current))
    .bind(&expires_at)
    .execute(store.pool())
    .await
    .map_err(pave_store::StoreError::from)?;
    // Expired sessions of anyone are swept here: sign-ins are rare enough
    // to carry it, and no background task is needed.
    let _ = pave_store::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(format_time(current))
        .execute(store.pool())
        .await;
    Ok(Started {
        cookie,
        session: Session {
            token_id,
            csrf,
            expires_at,
        },
        principal,
    })
}

/// The principal and session behind a cookie; refused when the session
/// expired or ended, or its token was revoked or expired.
pub async fn resume(
    store: &Store,
    cookie: &str,
) -> Result<(Principal, Session), AuthenticationError> {
    if !looks_like_cookie(cookie) {
        return Err(AuthenticationError::Invalid);
    }
    let row = pave_store::query("SELECT token_id, csrf, expires_at FROM sessions WHERE id = $1")
        .bind(token::hash_secret(cookie))
        .fetch_optional(store.pool())
        .await
        .map_err(pave_store::StoreError::from)?
        .ok_or(AuthenticationError::Invalid)?;
    let text = |name: &str| {
        row.try_get::<String, _>(name)
            .map_err(|error| AuthenticationError::Store(error.into()))
    };
    let session = Session {
        token_id: text("token_id")?,
        csrf: text("csrf")?,
        expires_at: text("expires_at")?,
    };
    if session.expires_at <= format_time(now()) {
        return Err(AuthenticationError::SessionExpired);
    }
    let principal = token::principal_of(store, &session.token_id, None).await?;
    Ok((principal, session))
}

/// Ends the session behind a cookie; ending one that is gone is fine.
pub async fn end(store: &Store, cookie: &str) -> Result<(), pave_store::StoreError> {
    if looks_like_cookie(cookie) {
        pave_store::query("DELETE FROM sessions WHERE id = $1")
            .bind(token::hash_secret(cookie))
            .execute(store.pool())
            .await?;
    }
    Ok(())
}
