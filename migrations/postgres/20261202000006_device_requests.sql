-- Device authorization grant (RFC 8628): one row per device authorization request.
-- Only hashes of the device code and of the (normalised) user code are stored.
CREATE TABLE device_requests (
    device_code_hash BYTEA   PRIMARY KEY,
    user_code_hash   BYTEA   NOT NULL UNIQUE,
    client_id        TEXT    NOT NULL,
    scope            TEXT    NOT NULL,
    -- 'pending', 'approved' or 'denied'
    status           TEXT    NOT NULL DEFAULT 'pending',
    -- set on approval
    user_id          BIGINT  REFERENCES users (id) ON DELETE CASCADE,
    auth_time        BIGINT,
    generation       BIGINT,
    -- seconds the client must wait between polls (raised by slow_down)
    poll_interval    BIGINT  NOT NULL,
    last_poll_at     BIGINT,
    -- whether the last poll came too early (answered slow_down)
    too_fast         BOOLEAN NOT NULL DEFAULT FALSE,
    created_at       BIGINT  NOT NULL,
    expires_at       BIGINT  NOT NULL,
    consumed_at      BIGINT
);
CREATE INDEX device_requests_expires ON device_requests (expires_at);
