import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { AirlockError, processAlive } from '@airlock/common';
import type { Db } from '@airlock/database';

interface LockRow {
  host: string;
  pid: number;
  token: string;
  acquired_at: string;
}

/**
 * Holds a channel's import for one run, across every process that opens the
 * same database: the row is claimed in one IMMEDIATE transaction, so of two
 * runs at once exactly one gets it and the other is told BUNDLE_IMPORT_BUSY
 * before it has written anything. A row left by a process that died (kill
 * -9, a power cut) on this host is taken over. (Exports claim their channel
 * as a bundle job: bundle-export.ts.)
 */
export class ChannelLock {
  private constructor(
    private readonly db: Db,
    readonly channel: string,
    private readonly direction: 'import',
    private readonly token: string,
  ) {}

  static acquire(db: Db, channel: string, direction: 'import'): ChannelLock {
    const token = randomUUID();
    const host = hostname();
    db.transaction(() => {
      const held = db
        .prepare('SELECT host, pid, token, acquired_at FROM channel_locks WHERE channel = ? AND direction = ?')
        .get(channel, direction) as LockRow | undefined;
      if (held && !(held.host === host && !processAlive(held.pid))) {
        throw new AirlockError(
          'BUNDLE_IMPORT_BUSY',
          `another ${direction} of channel ${channel} is running (process ${held.pid} on ${held.host}, since ${held.acquired_at}); try again when it has finished`,
        );
      }
      db.prepare('INSERT OR REPLACE INTO channel_locks (channel, direction, host, pid, token, acquired_at) VALUES (?, ?, ?, ?, ?, ?)').run(
        channel,
        direction,
        host,
        process.pid,
        token,
        new Date().toISOString(),
      );
    }).immediate();
    return new ChannelLock(db, channel, direction, token);
  }

  release(): void {
    this.db
      .prepare('DELETE FROM channel_locks WHERE channel = ? AND direction = ? AND token = ?')
      .run(this.channel, this.direction, this.token);
  }
}
