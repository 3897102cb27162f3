-- One import of a channel at a time, across processes (the API and any CLI on
-- the same database): the holder's row is taken in an IMMEDIATE transaction
-- and removed when it is done; a row whose process is gone is taken over.
CREATE TABLE channel_locks (
  channel     TEXT NOT NULL,
  direction   TEXT NOT NULL,           -- import | export
  host        TEXT NOT NULL,
  pid         INTEGER NOT NULL,
  token       TEXT NOT NULL,
  acquired_at TEXT NOT NULL,
  PRIMARY KEY (channel, direction)
);
