//! Secrets typed into the wizard, kept between its pages.
//!
//! A page never carries a secret: not in a hidden field, not as an input's
//! value. Secrets wait here, in this process's memory only (never in the
//! database or a log), under a random draft id that the pages carry, bound
//! to the session that typed them, for [`DRAFT_LIFETIME`]. Creating the task
//! hands them to the engine and forgets them. Behind several replicas
//! without sticky sessions, a page that reaches another replica finds no
//! draft: the wizard then asks for the secret again.

use std::collections::{BTreeMap, HashMap};
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

/// How long typed secrets are kept.
pub const DRAFT_LIFETIME: Duration = Duration::from_secs(30 * 60);
/// The most drafts kept at once; the oldest go first.
const MAX_DRAFTS: usize = 10_000;

struct Draft {
    /// The session's CSRF token: only that session reads the draft.
    session: String,
    secrets: BTreeMap<String, String>,
    expires: Instant,
}

static DRAFTS: LazyLock<Mutex<HashMap<String, Draft>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn new_id() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// The secrets of draft `id` for `session` (none when it is unknown,
/// expired or another session's).
pub fn load(id: &str, session: &str) -> BTreeMap<String, String> {
    let Ok(drafts) = DRAFTS.lock() else {
        return BTreeMap::new();
    };
    match drafts.get(id) {
        Some(draft) if draft.session == session && draft.expires > Instant::now() => {
            draft.secrets.clone()
        }
        _ => BTreeMap::new(),
    }
}

/// Keeps `secrets` for `session` and returns the draft id to carry (empty
/// when there are none). Reuses `id` when it is this session's draft.
pub fn save(id: &str, session: &str, secrets: BTreeMap<String, String>) -> String {
    let Ok(mut drafts) = DRAFTS.lock() else {
        return String::new();
    };
    let now = Instant::now();
    drafts.retain(|_, draft| draft.expires > now);
    let owned = drafts.get(id).is_some_and(|draft| draft.session == session);
    if secrets.is_empty() {
        if owned {
            drafts.remove(id);
        }
        return String::new();
    }
    if drafts.len() >= MAX_DRAFTS
        && !owned
        && let Some(oldest) = drafts
            .iter()
            .min_by_key(|(_, draft)| draft.expires)
            .map(|(key, _)| key.clone())
    {
        drafts.remove(&oldest);
    }
    let id = if owned { id.to_string() } else { new_id() };
    drafts.insert(
        id.clone(),
        Draft {
            session: session.to_string(),
            secrets,
            expires: now + DRAFT_LIFETIME,
        },
    );
    id
}

/// Forgets draft `id` (after its task was created).
pub fn discard(id: &str, session: &str) {
    if let Ok(mut drafts) = DRAFTS.lock()
        && drafts.get(id).is_some_and(|draft| draft.session == session)
    {
        drafts.remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drafts_belong_to_their_session() {
        let secrets = BTreeMap::from([("token".to_string(), "s3cret".to_string())]);
        let id = save("", "session-a", secrets.clone());
        assert_eq!(id.len(), 64);
        assert_eq!(load(&id, "session-a"), secrets);
        assert!(load(&id, "session-b").is_empty(), "another session's");
        assert!(load("unknown", "session-a").is_empty());
        // Saving again keeps the id; another session cannot take it over.
        assert_eq!(save(&id, "session-a", secrets.clone()), id);
        let other = save(&id, "session-b", secrets.clone());
        assert_ne!(other, id);
        assert_eq!(load(&id, "session-a"), secrets);
        discard(&id, "session-b");
        assert_eq!(
            load(&id, "session-a"),
            secrets,
            "only its session discards it"
        );
        discard(&id, "session-a");
        assert!(load(&id, "session-a").is_empty());
        // No secrets, no draft.
        assert_eq!(save(&other, "session-b", BTreeMap::new()), "");
        assert!(load(&other, "session-b").is_empty());
    }
}
