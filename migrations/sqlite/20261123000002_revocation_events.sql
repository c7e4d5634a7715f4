-- Append-only log of changes that in-memory caches must follow (this instance's and other
-- processes': the CLI, other instances on the same database). Each instance polls for
-- rows with a higher seq than it has seen.
--   kind 'family': a refresh family was revoked (subject = family id)
--   kind 'jti':    one access/ID token was revoked (subject = jti)
--   kind 'user':   a user was disabled, enabled or changed password (subject = username)
--   kind 'pat':    a personal access token was revoked (subject = PAT id)
CREATE TABLE revocation_events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    at          INTEGER NOT NULL,
    -- after this time the event no longer matters (every token it could affect expired)
    expires_at  INTEGER NOT NULL
);
CREATE INDEX revocation_events_expires ON revocation_events (expires_at);
