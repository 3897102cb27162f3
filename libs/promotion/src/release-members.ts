import { Db, statement } from '@airlock/database';

/** The release a promotion belongs to, as a bundle carries it across the gap. */
export interface ReleaseRef {
  id: string;
  name: string;
}

/** The release of a promotion, if it was requested as part of one. */
export function releaseOf(db: Db, promotionId: string): ReleaseRef | undefined {
  return statement(
    db,
    'SELECT r.id AS id, r.name AS name FROM release_members m JOIN releases r ON r.id = m.release_id WHERE m.promotion_id = ?',
  ).get(promotionId) as ReleaseRef | undefined;
}

/**
 * Records on the far side of the gap that an imported promotion belongs to
 * its release (created with the first of its images to arrive; the others
 * join it in the order they are imported). Inside the import's transaction.
 */
export function recordImportedMember(
  db: Db,
  release: ReleaseRef,
  promotionId: string,
  r: { from: string; to: string; reason: string; requester: string; requestedAt: string },
): void {
  statement(
    db,
    'INSERT OR IGNORE INTO releases (id, name, from_stage, to_stage, reason, requester, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  ).run(release.id, release.name, r.from, r.to, r.reason, r.requester, r.requestedAt);
  statement(
    db,
    'INSERT OR IGNORE INTO release_members (release_id, position, promotion_id) VALUES (?, (SELECT COALESCE(MAX(position) + 1, 0) FROM release_members WHERE release_id = ?), ?)',
  ).run(release.id, release.id, promotionId);
}

/** `{ release }` for a bundle's image record when the promotion belongs to one, `{}` otherwise (the field is optional). */
export function releaseField(db: Db, promotionId: string): { release?: ReleaseRef } {
  const r = releaseOf(db, promotionId);
  return r ? { release: { id: r.id, name: r.name } } : {};
}
