-- Roles and service accounts (issue 18).
--
-- users.roles: the user's roles, space-separated (built-in `admin`, `user`, `api-user`
-- and the roles an administrator defined in `roles`). users.admin stays and always equals
-- "has the role admin": code that reads or sets the flag keeps its meaning.
-- users.kind: `person`, or `service` for a service account (an API key that is its own
-- user: no password, never signs in interactively).
ALTER TABLE users ADD COLUMN roles TEXT NOT NULL DEFAULT 'user';
ALTER TABLE users ADD COLUMN kind TEXT NOT NULL DEFAULT 'person';
-- existing databases: administrators become `admin`, everyone else `user`
UPDATE users SET roles = CASE WHEN admin <> 0 THEN 'admin' ELSE 'user' END;

-- the roles an administrator defined (the built-in ones are not stored)
CREATE TABLE roles (
    name            TEXT    PRIMARY KEY,
    description     TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL
);

-- the personal access token a refresh family was started from (the secret-key login with
-- offline_access): the family's refresh and access tokens die with that token
ALTER TABLE refresh_families ADD COLUMN pat_id TEXT;
