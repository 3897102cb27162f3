import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { AirlockError } from '@airlock/common';
import { AuditLog } from '@airlock/audit';
import { Db, statement } from '@airlock/database';
import { Principal, ROLES, Role } from './roles';

/** A token as listed (never its secret). */
export interface TokenInfo {
  id: string;
  user: string;
  roles: Role[];
  createdAt: string;
  revokedAt: string | null;
}

type TokenRow = { id: string; user: string; roles: string; secret_hash: string; revoked_at: string | null };

const TOKEN_RE = /^al_([a-f0-9]{16})_([A-Za-z0-9_-]{43})$/;
const sha256 = (s: string) => createHash('sha256').update(s).digest();

/**
 * Bearer tokens: `al_<id>_<secret>`, shown once, stored as the SHA-256 of
 * the secret and compared in constant time after a lookup by id.
 */
export class TokenService {
  private readonly cache = new Map<string, TokenRow | null>();
  private cacheVersion = -1;

  constructor(
    private readonly db: Db,
    private readonly audit: AuditLog,
  ) {}

  /** Creates a token; the returned `token` is the only time the secret exists outside the caller. */
  create(user: string, roles: string[], actor = 'cli'): { id: string; token: string } {
    if (!/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/.test(user))
      throw new AirlockError('INVALID_ARGUMENT', 'user must be 1-64 characters of letters, digits, . _ @ -');
    if (!roles.length) throw new AirlockError('INVALID_ARGUMENT', `give at least one role (${ROLES.join(', ')})`);
    for (const r of roles)
      if (!(ROLES as readonly string[]).includes(r))
        throw new AirlockError('INVALID_ARGUMENT', `unknown role ${JSON.stringify(r)}; roles are ${ROLES.join(', ')}`);
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const uniq = [...new Set(roles)];
    this.db
      .transaction(() => {
        statement(this.db, 'INSERT INTO tokens (id, user, roles, secret_hash, created_at) VALUES (?, ?, ?, ?, ?)').run(
          id,
          user,
          JSON.stringify(uniq),
          sha256(secret).toString('hex'),
          new Date().toISOString(),
        );
        this.audit.append({ actor, action: 'token.created', details: { tokenId: id, user, roles: uniq } });
      })
      .immediate();
    return { id, token: `al_${id}_${secret}` };
  }

  /** The principal behind a bearer token, or undefined when it is unknown, malformed or revoked. */
  authenticate(token: string | undefined): Principal | undefined {
    if (!token) return undefined;
    const m = TOKEN_RE.exec(token);
    if (!m) return undefined;
    const row = this.row(m[1]);
    const want = row ? Buffer.from(row.secret_hash, 'hex') : Buffer.alloc(32);
    const ok = timingSafeEqual(want, sha256(m[2]));
    if (!row || !ok || row.revoked_at) return undefined;
    return { user: row.user, roles: JSON.parse(row.roles) as Role[], tokenId: row.id };
  }

  /**
   * The stored row of a token id, from a cache that lasts while no other
   * connection has written the database (PRAGMA data_version moves when the
   * CLI creates or revokes a token) and this service has revoked nothing.
   */
  private row(id: string): TokenRow | undefined {
    const version = (statement(this.db, 'PRAGMA data_version').get() as { data_version: number }).data_version;
    if (version !== this.cacheVersion || this.cache.size > 10_000) {
      this.cache.clear();
      this.cacheVersion = version;
    }
    let row = this.cache.get(id);
    if (row === undefined)
      this.cache.set(
        id,
        (row =
          (statement(this.db, 'SELECT id, user, roles, secret_hash, revoked_at FROM tokens WHERE id = ?').get(id) as
            TokenRow | undefined) ?? null),
      );
    return row ?? undefined;
  }

  /** Revokes a token by id, or every token of a user; returns how many were revoked. */
  revoke(o: { id?: string; user?: string }, actor = 'cli'): number {
    if (!o.id && !o.user) throw new AirlockError('INVALID_ARGUMENT', 'give a token id or --user');
    return this.db
      .transaction(() => {
        const now = new Date().toISOString();
        const r = o.id
          ? statement(this.db, 'UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(now, o.id)
          : statement(this.db, 'UPDATE tokens SET revoked_at = ? WHERE user = ? AND revoked_at IS NULL').run(now, o.user);
        this.cache.clear();
        if (r.changes)
          this.audit.append({ actor, action: 'token.revoked', details: { tokenId: o.id ?? null, user: o.user ?? null, count: r.changes } });
        return r.changes;
      })
      .immediate();
  }

  list(): TokenInfo[] {
    return (
      statement(this.db, 'SELECT id, user, roles, created_at, revoked_at FROM tokens ORDER BY created_at, id').all() as {
        id: string;
        user: string;
        roles: string;
        created_at: string;
        revoked_at: string | null;
      }[]
    ).map((r) => ({
      id: r.id,
      user: r.user,
      roles: JSON.parse(r.roles) as Role[],
      createdAt: r.created_at,
      revokedAt: r.revoked_at,
    }));
  }
}
