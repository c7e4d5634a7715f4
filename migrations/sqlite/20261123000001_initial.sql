-- authserver schema. Every secret value (authorization code, refresh token, SSO session id,
-- personal access token) is stored only as its SHA-256 hash; user passwords as argon2id PHC strings.

CREATE TABLE users (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    username            TEXT    NOT NULL UNIQUE,
    password_hash       TEXT    NOT NULL,
    name                TEXT,
    email               TEXT,
    admin               INTEGER NOT NULL DEFAULT 0,
    disabled            INTEGER NOT NULL DEFAULT 0,
    -- time of the last password change / disable (informational)
    not_before          INTEGER NOT NULL DEFAULT 0,
    -- security stamp: bumped on password change and disable; every token, code and SSO
    -- session carries the generation it was issued under and dies when it changes
    generation          INTEGER NOT NULL DEFAULT 0,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);

CREATE TABLE signing_keys (
    kid             TEXT    PRIMARY KEY,
    alg             TEXT    NOT NULL,
    private_pkcs8   BLOB    NOT NULL,
    active          INTEGER NOT NULL DEFAULT 1,
    created_at      INTEGER NOT NULL,
    retired_at      INTEGER
);
-- at most one active key per algorithm, so instances racing on first start agree
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (alg) WHERE active = 1;

CREATE TABLE sso_sessions (
    id_hash         BLOB    PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    auth_time       INTEGER NOT NULL,
    generation      INTEGER NOT NULL DEFAULT 0,
    persistent      INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    ended_at        INTEGER
);
CREATE INDEX sso_sessions_user ON sso_sessions (user_id);
CREATE INDEX sso_sessions_expires ON sso_sessions (expires_at);

-- a refresh family is one sign-in (or one code exchange): all refresh tokens rotated from it
-- and all access tokens minted from them share the family id
CREATE TABLE refresh_families (
    id              TEXT    PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id       TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    revoked_at      INTEGER
);
CREATE INDEX refresh_families_user ON refresh_families (user_id);

CREATE TABLE authorization_codes (
    code_hash       BLOB    PRIMARY KEY,
    client_id       TEXT    NOT NULL,
    redirect_uri    TEXT    NOT NULL,
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scope           TEXT    NOT NULL,
    nonce           TEXT,
    code_challenge  TEXT,
    auth_time       INTEGER NOT NULL,
    generation      INTEGER NOT NULL DEFAULT 0,
    session_hash    BLOB,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    consumed_at     INTEGER,
    -- set when a consumed code is presented again
    replayed_at     INTEGER,
    -- the family the exchange started, so that a replay can revoke it
    family_id       TEXT
);
CREATE INDEX authorization_codes_expires ON authorization_codes (expires_at);

CREATE TABLE refresh_tokens (
    token_hash      BLOB    PRIMARY KEY,
    family_id       TEXT    NOT NULL REFERENCES refresh_families (id) ON DELETE CASCADE,
    client_id       TEXT    NOT NULL,
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scope           TEXT    NOT NULL,
    auth_time       INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    spent_at        INTEGER,
    -- the token this one replaced (rotation)
    parent_hash     BLOB
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
-- rotation in one statement: inserting the successor spends its parent, atomically
CREATE TRIGGER refresh_tokens_spend_parent AFTER INSERT ON refresh_tokens
WHEN NEW.parent_hash IS NOT NULL
BEGIN
    UPDATE refresh_tokens SET spent_at = NEW.created_at
    WHERE token_hash = NEW.parent_hash AND spent_at IS NULL;
END;
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);

CREATE TABLE personal_access_tokens (
    id              TEXT    PRIMARY KEY,
    token_hash      BLOB    NOT NULL UNIQUE,
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    description     TEXT    NOT NULL,
    scope           TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER,
    last_used_at    INTEGER,
    revoked_at      INTEGER
);
CREATE INDEX personal_access_tokens_user ON personal_access_tokens (user_id);

-- an authorization request waiting for the user to sign in: kept server-side, so the login
-- form carries only an opaque id and nothing in hidden fields is trusted
CREATE TABLE authorization_requests (
    id_hash         BLOB    PRIMARY KEY,
    request_json    TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL
);
CREATE INDEX authorization_requests_expires ON authorization_requests (expires_at);
