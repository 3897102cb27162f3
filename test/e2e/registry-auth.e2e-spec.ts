import { hashSync } from 'bcryptjs';
import { Sensitive } from '@airlock/common';
import { Registries, copyImage } from '@airlock/oci';
import { startRegistry, TestRegistry } from '../support/registry';
import { pushRandomImage } from '../support/images';
import { FaultProxy } from '../support/fault-proxy';
import { requireBearerTokens } from '../support/token-auth';
import { skopeoRawDigest } from '../support/skopeo';

const retry = { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 };

describe('registry authentication', () => {
  let open: TestRegistry;
  beforeAll(async () => {
    open = await startRegistry();
  });
  afterAll(async () => open?.stop());

  describe('basic auth (htpasswd on a real registry)', () => {
    let locked: TestRegistry;
    const basic = 'Basic ' + Buffer.from('alice:s3cret-pass').toString('base64');
    beforeAll(async () => {
      locked = await startRegistry({ htpasswd: `alice:${hashSync('s3cret-pass', 5)}\n` });
    });
    afterAll(async () => locked?.stop());

    it('copies into and out of a registry that needs credentials', async () => {
      const img = await pushRandomImage({ url: open.url, host: open.host }, 'auth/app', '1', { layers: [2 << 20, 50] });
      const creds = { username: 'alice', password: new Sensitive('s3cret-pass') };
      const regs = () => new Registries((h) => ({ insecure: true, retry, credentials: h === locked.host ? creds : undefined }));
      const res = await copyImage(img.reference, `${locked.host}/auth/app:1`, { registries: regs() });
      expect(res.digest).toBe(img.digest);
      const back = await copyImage(`${locked.host}/auth/app:1`, `${open.host}/auth/back:1`, { registries: regs() });
      expect(back.digest).toBe(img.digest);
      // a pushed image is readable with the same credentials by an independent client
      const pulled = await pushRandomImage({ url: locked.url, host: locked.host, authorization: basic }, 'auth/other', '1');
      expect(pulled.digest).toMatch(/^sha256:/);
    });

    it('fails with REGISTRY_UNAUTHORIZED without credentials or with wrong ones, never echoing the password', async () => {
      const img = await pushRandomImage({ url: open.url, host: open.host }, 'auth/none', '1');
      const none = await copyImage(img.reference, `${locked.host}/auth/none:1`, {
        registries: new Registries(() => ({ insecure: true, retry })),
      }).catch((e) => e);
      expect(none.code).toBe('REGISTRY_UNAUTHORIZED');
      const wrong = await copyImage(img.reference, `${locked.host}/auth/none:1`, {
        registries: new Registries((h) => ({
          insecure: true,
          retry,
          credentials: h === locked.host ? { username: 'alice', password: new Sensitive('not-it-xyz') } : undefined,
        })),
      }).catch((e) => e);
      expect(wrong.code).toBe('REGISTRY_UNAUTHORIZED');
      expect(JSON.stringify(wrong) + wrong.message + String(wrong.stack)).not.toContain('not-it-xyz');
    });
  });

  describe('bearer token flow', () => {
    let proxy: FaultProxy;
    let issued: { user: string; scopes: string[] }[];
    beforeAll(async () => {
      proxy = await new FaultProxy(open.url).start();
      issued = requireBearerTokens(proxy, { bob: 'tok-pass' }).issued;
    });
    afterAll(async () => proxy?.stop());

    it('asks the realm for pull/push scopes and a pull scope on the mount source', async () => {
      const img = await pushRandomImage({ url: open.url, host: open.host }, 'tok/src', '1', { layers: [2 << 20, 40] });
      const regs = new Registries(() => ({ insecure: true, retry, credentials: { username: 'bob', password: new Sensitive('tok-pass') } }));
      const res = await copyImage(`${proxy.host}/tok/src:1`, `${proxy.host}/tok/dst:1`, { registries: regs });
      expect(res).toMatchObject({ digest: img.digest, blobsMounted: 3 });
      expect(
        issued.some(
          (i) => i.user === 'bob' && i.scopes.includes('repository:tok/dst:pull,push') && i.scopes.includes('repository:tok/src:pull'),
        ),
      ).toBe(true);
      expect(await skopeoRawDigest(`${open.host}/tok/dst:1`)).toBe(img.digest);
    });

    it('pulls anonymously with a pull-only token, and is refused a push', async () => {
      const img = await pushRandomImage({ url: open.url, host: open.host }, 'tok/anon', '1');
      const anon = new Registries(() => ({ insecure: true, retry, credentials: undefined }));
      const err = await copyImage(`${proxy.host}/tok/anon:1`, `${proxy.host}/tok/anon2:1`, { registries: anon }).catch((e) => e);
      expect(err.code).toBe('REGISTRY_UNAUTHORIZED');
      const ok = await copyImage(`${proxy.host}/tok/anon:1`, `${open.host}/tok/anon3:1`, { registries: anon });
      expect(ok.digest).toBe(img.digest);
    });
  });
});
