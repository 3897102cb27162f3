import { randomBytes } from 'node:crypto';
import { IncomingMessage, ServerResponse } from 'node:http';
import { FaultProxy } from './fault-proxy';

/**
 * Emulates the registry token flow (distribution's "token" auth) in front of
 * a real registry: /v2/ answers 401 with a Bearer challenge, a realm on the
 * same proxy issues opaque tokens for the scopes asked (checking Basic
 * credentials), and every request must carry a token whose scopes cover it.
 */
export function requireBearerTokens(proxy: FaultProxy, users: Record<string, string>): { issued: { user: string; scopes: string[] }[] } {
  const tokens = new Map<string, { user: string; scopes: Set<string> }>();
  const issued: { user: string; scopes: string[] }[] = [];
  const challenge = (res: ServerResponse, scope?: string) => {
    res.writeHead(401, {
      'www-authenticate': `Bearer realm="${proxy.url}/token",service="test-registry"${scope ? `,scope="${scope}"` : ''}`,
      'content-type': 'application/json',
    });
    res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
    return true;
  };
  proxy.gate = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', proxy.url);
    if (url.pathname === '/token') {
      const auth = req.headers.authorization ?? '';
      let user = 'anonymous';
      if (auth.startsWith('Basic ')) {
        const [u, p] = Buffer.from(auth.slice(6), 'base64').toString().split(':');
        if (users[u] !== p) {
          res.writeHead(401).end();
          return true;
        }
        user = u;
      }
      const scopes = url.searchParams.getAll('scope');
      const granted = new Set<string>();
      for (const s of scopes) {
        const [, repo, actions] = s.split(':');
        for (const a of actions.split(',')) if (user !== 'anonymous' || a === 'pull') granted.add(`${repo}:${a}`);
      }
      const token = randomBytes(16).toString('hex');
      tokens.set(token, { user, scopes: granted });
      issued.push({ user, scopes });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, expires_in: 300 }));
      return true;
    }
    const t = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    const grant = tokens.get(t);
    const m = /^\/v2\/(.+?)\/(manifests|blobs|tags)\//.exec(url.pathname);
    if (!m) return grant ? false : challenge(res);
    const repo = m[1];
    const action = req.method === 'GET' || req.method === 'HEAD' ? 'pull' : 'push';
    const need = [`${repo}:${action}`];
    const from = url.searchParams.get('from');
    if (from) need.push(`${from}:pull`);
    if (!grant || !need.every((n) => grant.scopes.has(n))) {
      return challenge(res, `repository:${repo}:${action === 'push' ? 'pull,push' : 'pull'}`);
    }
    return false;
  };
  return { issued };
}
