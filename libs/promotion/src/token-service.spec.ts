import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog } from '@airlock/audit';
import { Db, migrate, openDatabase } from '@airlock/database';
import { TokenService } from './token-service';

describe('token service', () => {
  let dir: string;
  let open: Db[];
  const connect = () => {
    const db = openDatabase(join(dir, 'a.db'));
    migrate(db);
    open.push(db);
    return new TokenService(db, new AuditLog(db));
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'airlock-tok-'));
    open = [];
  });
  afterEach(() => {
    for (const db of open) db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sees a revocation written by another process (connection) at the next request, despite its cache', () => {
    const served = connect();
    const { id, token } = served.create('alice', ['requester']);
    expect(served.authenticate(token)?.user).toBe('alice');
    expect(served.authenticate(token)?.user).toBe('alice');
    expect(served.authenticate(token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A'))).toBeUndefined();
    const cli = connect();
    expect(cli.revoke({ id })).toBe(1);
    expect(served.authenticate(token)).toBeUndefined();
    // and a token created elsewhere is known at once
    const other = cli.create('bob', ['approver']);
    expect(served.authenticate(other.token)?.user).toBe('bob');
  });

  it('forgets a token it revoked itself', () => {
    const t = connect();
    const { token } = t.create('carol', ['approver']);
    expect(t.authenticate(token)?.user).toBe('carol');
    expect(t.revoke({ user: 'carol' })).toBe(1);
    expect(t.authenticate(token)).toBeUndefined();
  });
});
