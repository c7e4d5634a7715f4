-- OAuth clients registered in the database (beside the properties-file clients, which
-- share one secret and one redirect whitelist). The metadata (redirect URIs, grant and
-- response types, auth method, scopes, lifetimes, …) is one JSON document validated by
-- `domain::clients` before it is written; secrets live in `client_secrets`.
CREATE TABLE oauth_clients (
    client_id   TEXT    PRIMARY KEY,
    name        TEXT    NOT NULL,
    metadata    TEXT    NOT NULL,
    -- registered through RFC 7591 (never first-party)
    dynamic     INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- A client's secrets: SHA-256 of 256 random bits (high entropy: no slow hash needed).
-- Rotation gives the old secret an `expires_at`; both work until then.
CREATE TABLE client_secrets (
    id          TEXT    PRIMARY KEY,
    client_id   TEXT    NOT NULL REFERENCES oauth_clients (client_id) ON DELETE CASCADE,
    secret_hash BLOB    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER
);
CREATE INDEX client_secrets_client ON client_secrets (client_id);

-- Index for revoking every refresh family of a client when it is removed.
CREATE INDEX refresh_families_client ON refresh_families (client_id);

-- `jti` of `private_key_jwt` assertions already used (RFC 7523 §3: one-time within the
-- assertion's life); rows go once the assertion has expired.
CREATE TABLE client_assertion_jtis (
    client_id   TEXT    NOT NULL,
    jti         TEXT    NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX client_assertion_jtis_expires ON client_assertion_jtis (expires_at);
