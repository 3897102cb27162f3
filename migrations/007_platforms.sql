-- Platforms chosen from a multi-platform image: a promotion that carries
-- only some platforms of an index lands a subset index, whose digest
-- (target_digest) differs from the verified source digest (digest). Both are
-- NULL for a promotion that carries the image as it is.
ALTER TABLE promotions ADD COLUMN platforms TEXT;
ALTER TABLE promotions ADD COLUMN target_digest TEXT;
