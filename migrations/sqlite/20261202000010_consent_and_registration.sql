-- Consent (issue 15): what a user allowed a third-party registered client, remembered
-- until the user withdraws it on the account page (or the client is removed).
CREATE TABLE consent_grants (
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id   TEXT    NOT NULL,
    -- the granted scopes, space-separated (a request for one more asks again)
    scope       TEXT    NOT NULL,
    granted_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
CREATE INDEX consent_grants_client ON consent_grants (client_id);

-- Initial access tokens for dynamic client registration (RFC 7591 §3) in
-- `authentication.registration.mode=token`: SHA-256 of 256 random bits, never the token.
CREATE TABLE registration_tokens (
    id          TEXT    PRIMARY KEY,
    token_hash  BLOB    NOT NULL UNIQUE,
    description TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER,
    -- registrations left (NULL: unlimited)
    uses_left   INTEGER
);

-- The registration access token of a dynamically registered client (RFC 7592), hashed.
ALTER TABLE oauth_clients ADD COLUMN registration_token_hash BLOB;

-- Index for revoking a user's families of one client (consent withdrawn).
CREATE INDEX refresh_families_user_client ON refresh_families (user_id, client_id);
