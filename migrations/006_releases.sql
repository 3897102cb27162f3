-- Releases: a named set of images promoted together from one stage to the
-- next. Each image is a promotion of its own (approved, run and audited as
-- one); release_members ties them to their release, in the order requested.
-- A release's state is derived from its promotions, never stored.
CREATE TABLE releases (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  from_stage  TEXT NOT NULL,
  to_stage    TEXT NOT NULL,
  reason      TEXT NOT NULL DEFAULT '',
  requester   TEXT NOT NULL,
  created_at  TEXT NOT NULL
);
CREATE INDEX releases_created ON releases (created_at);

CREATE TABLE release_members (
  release_id    TEXT NOT NULL REFERENCES releases (id),
  position      INTEGER NOT NULL,
  promotion_id  TEXT NOT NULL UNIQUE REFERENCES promotions (id),
  PRIMARY KEY (release_id, position)
);
