-- Transfer bundles across the air gap: what each side exported or imported,
-- the sequence of each channel, and the blobs receipts say the far side has.
CREATE TABLE bundles (
  id          TEXT PRIMARY KEY,
  channel     TEXT NOT NULL,
  direction   TEXT NOT NULL,           -- export | import
  sequence    INTEGER NOT NULL,
  created_at  TEXT NOT NULL,
  expires_at  TEXT NOT NULL,
  full        INTEGER NOT NULL,
  sender      TEXT NOT NULL,
  content     TEXT NOT NULL,           -- SHA-256 of bundle.json: same sequence, other content is a replay
  volumes     TEXT NOT NULL,           -- JSON
  images      TEXT NOT NULL,           -- JSON
  bytes       INTEGER NOT NULL,
  receipt_at  TEXT,
  UNIQUE (channel, direction, sequence)
);

CREATE TABLE channel_blobs (
  channel TEXT NOT NULL,
  digest  TEXT NOT NULL,
  PRIMARY KEY (channel, digest)
);
