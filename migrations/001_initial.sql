-- airlock schema: promotions and their approvals and steps, API tokens, and
-- the append-only, hash-chained audit log. Forward only: change by adding
-- a new NNN_name.sql, never by editing this one.

CREATE TABLE promotions (
  id                 TEXT PRIMARY KEY,
  image              TEXT NOT NULL,      -- as the requester wrote it
  source_ref         TEXT NOT NULL,      -- normalized, with tag
  target_ref         TEXT NOT NULL,      -- normalized destination, with tag
  digest             TEXT NOT NULL,      -- resolved once, at request time
  media_type         TEXT NOT NULL,
  from_stage         TEXT NOT NULL,
  to_stage           TEXT NOT NULL,
  reason             TEXT NOT NULL DEFAULT '',
  requester          TEXT NOT NULL,
  state              TEXT NOT NULL,
  approvals_required INTEGER NOT NULL,
  attempt            INTEGER NOT NULL DEFAULT 0,
  error_code         TEXT,
  error_message      TEXT,
  bytes_done         INTEGER NOT NULL DEFAULT 0,
  bytes_total        INTEGER NOT NULL DEFAULT 0,
  result             TEXT,               -- JSON: what the last run did
  created_at         TEXT NOT NULL,
  updated_at         TEXT NOT NULL,
  finished_at        TEXT
);
CREATE INDEX promotions_state ON promotions (state, id);
CREATE INDEX promotions_digest ON promotions (digest);
CREATE INDEX promotions_requester ON promotions (requester, id);

CREATE TABLE approvals (
  promotion_id TEXT NOT NULL REFERENCES promotions (id),
  approver     TEXT NOT NULL,
  role         TEXT NOT NULL,
  comment      TEXT NOT NULL DEFAULT '',
  created_at   TEXT NOT NULL,
  PRIMARY KEY (promotion_id, approver)
);

CREATE TABLE steps (
  promotion_id TEXT NOT NULL REFERENCES promotions (id),
  attempt      INTEGER NOT NULL,
  name         TEXT NOT NULL,
  state        TEXT NOT NULL,            -- running, done, failed
  started_at   TEXT NOT NULL,
  finished_at  TEXT,
  detail       TEXT,
  PRIMARY KEY (promotion_id, attempt, name)
);

CREATE TABLE tokens (
  id          TEXT PRIMARY KEY,
  user        TEXT NOT NULL,
  roles       TEXT NOT NULL,             -- JSON array
  secret_hash TEXT NOT NULL,             -- SHA-256 of the secret part, hex
  created_at  TEXT NOT NULL,
  revoked_at  TEXT
);

CREATE TABLE audit_events (
  seq          INTEGER PRIMARY KEY,
  ts           TEXT NOT NULL,
  actor        TEXT NOT NULL,
  role         TEXT,
  action       TEXT NOT NULL,
  promotion_id TEXT,
  stage        TEXT,
  image        TEXT,
  digest       TEXT,
  request_id   TEXT,
  details      TEXT NOT NULL,
  prev_hash    TEXT NOT NULL,
  hash         TEXT NOT NULL
);
CREATE INDEX audit_promotion ON audit_events (promotion_id, seq);
CREATE INDEX audit_digest ON audit_events (digest, seq);
CREATE INDEX audit_actor ON audit_events (actor, seq);
CREATE INDEX audit_ts ON audit_events (ts, seq);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
