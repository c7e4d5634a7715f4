-- SAML sign-ins. A row is made when the browser is sent to the identity provider, keyed by
-- the SHA-256 of the RelayState, holding the AuthnRequest ID (InResponseTo must name it) and
-- the pending request sealed with a key only the browser's cookie gives. The assertion
-- consumer takes it (single use), checks the response, and stores the verified user under
-- the SHA-256 of a one-time handle, which the browser's next request (with its cookie)
-- takes to finish the sign-in.
CREATE TABLE saml_logins (
    key_hash   BLOB    PRIMARY KEY,
    request_id TEXT    NOT NULL,
    sealed     BLOB    NOT NULL,
    user_id    INTEGER,
    expires_at INTEGER NOT NULL
);
CREATE INDEX saml_logins_expires ON saml_logins (expires_at);

-- Assertion IDs already accepted (by SHA-256 of issuer and ID), kept until the assertion
-- expires: each assertion signs in once.
CREATE TABLE saml_assertions (
    id_hash    BLOB    PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE INDEX saml_assertions_expires ON saml_assertions (expires_at);
