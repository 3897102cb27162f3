import { createHash } from 'node:crypto';
import { Db, statement } from '@airlock/database';
import type { BundleManifest } from '@airlock/bundle';

/** A bundle as either side recorded it. */
export interface BundleRow {
  id: string;
  channel: string;
  direction: 'import' | 'export';
  sequence: number;
  created_at: string;
  expires_at: string;
  full: number;
  sender: string;
  content: string;
  volumes: string;
  images: string;
  bytes: number;
  receipt_at: string | null;
}

/** The bundle's identity for replays: SHA-256 of its bundle.json as read. */
export const bundleContent = (m: BundleManifest): string => createHash('sha256').update(JSON.stringify(m)).digest('hex');

/** SQL for bundles, channel sequences and the blobs each channel's far side confirmed. All values are bound parameters. */
export class BundleStore {
  constructor(readonly db: Db) {}

  byId(id: string, direction?: 'import' | 'export'): BundleRow | undefined {
    return (
      direction
        ? statement(this.db, 'SELECT * FROM bundles WHERE id = ? AND direction = ?').get(id, direction)
        : statement(this.db, 'SELECT * FROM bundles WHERE id = ?').get(id)
    ) as BundleRow | undefined;
  }

  bySequence(channel: string, direction: 'import' | 'export', sequence: number): BundleRow | undefined {
    return statement(this.db, 'SELECT * FROM bundles WHERE channel = ? AND direction = ? AND sequence = ?').get(
      channel,
      direction,
      sequence,
    ) as BundleRow | undefined;
  }

  /** The channel's last sequence in that direction (0 before the first bundle). */
  lastSequence(channel: string, direction: 'import' | 'export'): number {
    return (
      (
        statement(this.db, 'SELECT MAX(sequence) AS s FROM bundles WHERE channel = ? AND direction = ?').get(channel, direction) as {
          s: number | null;
        }
      ).s ?? 0
    );
  }

  /** Newest first. */
  list(limit = 500): BundleRow[] {
    return statement(this.db, 'SELECT * FROM bundles ORDER BY created_at DESC, sequence DESC LIMIT ?').all(limit) as BundleRow[];
  }

  record(direction: 'import' | 'export', m: BundleManifest, o: { volumes: unknown[]; bytes: number }): void {
    statement(
      this.db,
      'INSERT INTO bundles (id, channel, direction, sequence, created_at, expires_at, full, sender, content, volumes, images, bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ).run(
      m.id,
      m.channel,
      direction,
      m.sequence,
      m.created,
      m.expires,
      m.full ? 1 : 0,
      m.sender,
      bundleContent(m),
      JSON.stringify(o.volumes),
      JSON.stringify(m.images.map((i) => ({ promotionId: i.promotionId, digest: i.digest, target: i.target }))),
      o.bytes,
    );
  }

  /** The size of each channel's last bundle, per direction (metrics). */
  lastSizes(): { channel: string; direction: string; n: number }[] {
    return statement(
      this.db,
      'SELECT channel, direction, bytes AS n FROM bundles b WHERE sequence = (SELECT MAX(sequence) FROM bundles c WHERE c.channel = b.channel AND c.direction = b.direction)',
    ).all() as { channel: string; direction: string; n: number }[];
  }

  markReceipt(id: string): void {
    statement(this.db, 'UPDATE bundles SET receipt_at = ? WHERE id = ?').run(new Date().toISOString(), id);
  }

  /** Blobs the channel's far side confirmed by receipt (left out of the next bundles). */
  knownBlobs(channel: string): Set<string> {
    return new Set(
      (statement(this.db, 'SELECT digest FROM channel_blobs WHERE channel = ?').all(channel) as { digest: string }[]).map((r) => r.digest),
    );
  }

  addKnownBlobs(channel: string, digests: string[]): void {
    const ins = statement(this.db, 'INSERT OR IGNORE INTO channel_blobs (channel, digest) VALUES (?, ?)');
    for (const d of digests) ins.run(channel, d);
  }
}
