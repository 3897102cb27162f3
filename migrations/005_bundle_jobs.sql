-- Bundle exports as jobs: each claims its channel's next sequence when it is
-- planned (one active export per channel: the partial unique index), runs in
-- a worker (queue) or in the process that asked (the CLI), and is recorded
-- when it reports. `runner` is 'queue' or 'host:pid' of the process running it.
CREATE TABLE bundle_jobs (
  id            TEXT PRIMARY KEY,
  kind          TEXT NOT NULL,           -- export
  channel       TEXT NOT NULL,
  sequence      INTEGER NOT NULL,
  bundle_id     TEXT NOT NULL,
  state         TEXT NOT NULL,           -- queued | running | completed | failed
  runner        TEXT NOT NULL,
  requested_by  TEXT NOT NULL,
  request_id    TEXT,
  plan          TEXT NOT NULL,           -- JSON: the job's payload (no secret)
  bytes_done    INTEGER NOT NULL DEFAULT 0,
  bytes_total   INTEGER NOT NULL DEFAULT 0,
  result        TEXT,
  error_code    TEXT,
  error_message TEXT,
  created_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL,
  finished_at   TEXT
);
CREATE UNIQUE INDEX bundle_jobs_one_active ON bundle_jobs (channel, kind) WHERE state IN ('queued', 'running');
