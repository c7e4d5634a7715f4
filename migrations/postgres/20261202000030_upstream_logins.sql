-- Sign-ins sent to an upstream OpenID Connect provider, waiting for its callback: one row
-- per `state`, keyed by its SHA-256 and deleted by the callback (single use). `sealed`
-- (nonce, PKCE verifier, the pending request) is encrypted with a key derived from a
-- cookie only the browser holds, so the row alone reveals nothing.
CREATE TABLE upstream_logins (
    state_hash BYTEA   PRIMARY KEY,
    provider   TEXT    NOT NULL,
    sealed     BYTEA   NOT NULL,
    expires_at BIGINT  NOT NULL
);
CREATE INDEX upstream_logins_expires ON upstream_logins (expires_at);
