import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog, migrate, openDatabase } from '@airlock/audit';
import { TokenService } from './token-service';

describe('token service', () => {
  it('sees a revocation written by another process (connection) at the next request, despite its cache', () => {
    const dir = mkdtempSync(join(tmpdir(), 'airlock-tok-'));
    try {
      const api = openDatabase(join(dir, 'a.db'));
      migrate(api);
      const served = new TokenService(api, new AuditLog(api));
      const { id, token } = served.create('alice', ['requester']);
      expect(served.authenticate(token)?.user).toBe('alice');
      expect(served.authenticate(token)?.user).toBe('alice');
      expect(served.authenticate(token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A'))).toBeUndefined();
      const cli = openDatabase(join(dir, 'a.db'));
      expect(new TokenService(cli, new AuditLog(cli)).revoke({ id })).toBe(1);
      expect(served.authenticate(token)).toBeUndefined();
      // and a token created elsewhere is known at once
      const other = new TokenService(cli, new AuditLog(cli)).create('bob', ['approver']);
      expect(served.authenticate(other.token)?.user).toBe('bob');
      cli.close();
      api.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('forgets a token it revoked itself', () => {
    const dir = mkdtempSync(join(tmpdir(), 'airlock-tok-'));
    try {
      const db = openDatabase(join(dir, 'a.db'));
      migrate(db);
      const t = new TokenService(db, new AuditLog(db));
      const { token } = t.create('carol', ['approver']);
      expect(t.authenticate(token)?.user).toBe('carol');
      expect(t.revoke({ user: 'carol' })).toBe(1);
      expect(t.authenticate(token)).toBeUndefined();
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
