-- Roles and service accounts (issue 18); see migrations/sqlite/ for the commentary.
ALTER TABLE users ADD COLUMN roles TEXT NOT NULL DEFAULT 'user';
ALTER TABLE users ADD COLUMN kind TEXT NOT NULL DEFAULT 'person';
-- existing databases: administrators become `admin`, everyone else `user`
UPDATE users SET roles = CASE WHEN admin THEN 'admin' ELSE 'user' END;

CREATE TABLE roles (
    name            TEXT    PRIMARY KEY,
    description     TEXT    NOT NULL DEFAULT '',
    created_at      BIGINT  NOT NULL
);

ALTER TABLE refresh_families ADD COLUMN pat_id TEXT;
