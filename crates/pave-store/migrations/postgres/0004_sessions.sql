-- Portal sign-in sessions. The cookie holds a random secret and only its
-- SHA-256 is kept here (id). A session acts as the API token it was started
-- with (token_id), so revoking or expiring that token ends it too.
CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    token_id   TEXT NOT NULL,
    csrf       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);
