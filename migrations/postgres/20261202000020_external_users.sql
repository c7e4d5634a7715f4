-- Just-in-time users from another identity source (a directory, an upstream OpenID Connect
-- provider): `source` names it (NULL for a local user; `ldap`, `oidc:<name>`, ...) and
-- `external_id` is the account's stable id there (LDAP entryUUID / objectGUID or its DN, the
-- upstream `sub`). Such a user's password_hash is a marker that never verifies.
-- `source_disabled`: the user was disabled because its source said the account is gone
-- (deprovision), not by an administrator, so the source vouching for it again re-enables it.
ALTER TABLE users ADD COLUMN source TEXT;
ALTER TABLE users ADD COLUMN external_id TEXT;
ALTER TABLE users ADD COLUMN source_disabled BOOLEAN NOT NULL DEFAULT FALSE;
CREATE UNIQUE INDEX users_external ON users (source, external_id) WHERE source IS NOT NULL;
