-- Signed checkpoints of the audit chain: {size, head, time} signed as an
-- OpenPGP signed message that a person can check with gpg alone.
CREATE TABLE audit_checkpoints (
  id              INTEGER PRIMARY KEY,
  size            INTEGER NOT NULL,
  head            TEXT NOT NULL,
  ts              TEXT NOT NULL,
  key_fingerprint TEXT NOT NULL,
  signature       BLOB NOT NULL
);
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;
