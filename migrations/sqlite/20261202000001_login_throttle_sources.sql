-- Failures against addresses and known sources leak away (one every ADDRESS_DECAY seconds
-- since leak_from), and a source that signed a user in is known for a while: "k:<address>
-- <name>" and "d:<hash of device cookie and name>" rows (see src/throttle/mod.rs).
ALTER TABLE login_throttle ADD COLUMN leak_from BIGINT NOT NULL DEFAULT 0;
ALTER TABLE login_throttle ADD COLUMN known_until BIGINT NOT NULL DEFAULT 0;
UPDATE login_throttle SET leak_from = last;
