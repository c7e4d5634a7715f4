-- Failed password checks per user name ("u:<name>") and per client address ("a:<ip>"),
-- shared by every instance on the database so that spreading an attack over instances
-- gains nothing (see src/throttle.rs).
CREATE TABLE login_throttle (
    key             TEXT    PRIMARY KEY,
    failures        BIGINT  NOT NULL,
    locked_until    BIGINT  NOT NULL DEFAULT 0,
    last            BIGINT  NOT NULL
);
CREATE INDEX login_throttle_last ON login_throttle (last);
