-- Housekeeping deletes a refresh family only when no authorization code still names it
-- (a replayed code revokes its family); without this index each check read every code.
CREATE INDEX authorization_codes_family ON authorization_codes (family_id);
