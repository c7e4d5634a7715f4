-- The user's generation (security stamp) a refresh family was granted under. A rotation
-- succeeds only while it equals the user's current generation, in the same statement: a
-- family created in the moment a password change or disable ran (after its sweep of the
-- user's families) is dead at its first refresh, not live forever.
ALTER TABLE refresh_families ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
-- families granted before this column existed carry their user's generation of today (a
-- family older than the user's last password change was revoked by that change)
UPDATE refresh_families SET generation = COALESCE(
    (SELECT users.generation FROM users WHERE users.id = refresh_families.user_id), 0);
