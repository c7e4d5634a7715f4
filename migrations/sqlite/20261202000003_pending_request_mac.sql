-- Secret material every instance on this database shares, created once by whichever
-- instance starts first. "pending_request_mac" keys the HMAC that protects the pending
-- sign-in carried in the login form (src/domain/pending.rs), so that a login POST may land
-- on any instance.
CREATE TABLE server_secrets (
    name            TEXT    PRIMARY KEY,
    secret          BLOB    NOT NULL,
    created_at      BIGINT  NOT NULL
);

-- pending sign-ins no longer live on the server: they travel MAC-protected in the login
-- form, bound to the browser's CSRF cookie (a login page costs no storage)
DROP TABLE authorization_requests;
