import { request } from 'undici';
import { Registries, RegistryRepository, attachmentTag, lookupAttachments } from '@airlock/oci';
import { startRegistry, TestRegistry } from '../support/registry';
import { pushRandomImage, PushedImage } from '../support/images';
import { FaultProxy } from '../support/fault-proxy';

const insecure = () => ({ insecure: true, retry: { attempts: 2, baseDelayMs: 20, maxDelayMs: 100 } });

describe('what is attached to an image, looked up in a real registry', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry();
  });
  afterAll(async () => {
    await reg?.stop();
  });

  /** Puts the image's manifest under another tag of its repository (for a lookup, a tag is there or not). */
  async function putTag(repo: string, img: PushedImage, tag: string): Promise<void> {
    const r = await request(`${reg.url}/v2/${repo}/manifests/${tag}`, {
      method: 'PUT',
      headers: { 'content-type': img.mediaType },
      body: img.manifest,
    });
    await r.body.dump();
    expect(r.statusCode).toBe(201);
  }

  it('asks one tag listing while the repository has few tags, a HEAD per tag once it has many, and answers the same', async () => {
    const img = await pushRandomImage({ url: reg.url, host: reg.host }, 'team/attached', '1');
    await putTag('team/attached', img, attachmentTag(img.digest, 'sig'));
    const proxy = await new FaultProxy(reg.url).start();
    // what the lookups asked (the client's first ping of /v2/ aside)
    const asked = () =>
      proxy.log
        .filter((l) => l.path !== '/v2/')
        .map((l) => `${l.method} ${l.path.replace(/\?.*$/, '').replace(img.digest.slice(7), 'HEX')}`)
        .sort();
    try {
      const regs = new Registries(insecure);
      const repo = new RegistryRepository(regs.client(proxy.host), 'team/attached');

      const few = await lookupAttachments(repo, img.digest);
      expect(few.present).toEqual([true, false, false]); // .sig, .att, .sbom
      expect(few.referrers).toEqual({ descs: [], api: false });
      // the listing, and the referrers API (which this registry lacks, remembered); no HEADs, no GET of the fallback tag
      expect(asked()).toEqual([`GET /v2/team/attached/referrers/sha256:HEX`, 'GET /v2/team/attached/tags/list']);

      for (let i = 0; i < 100; i++) await putTag('team/attached', img, `build-${i}`);
      await putTag('team/attached', img, attachmentTag(img.digest, 'sbom'));
      proxy.reset();
      const many = await lookupAttachments(repo, img.digest);
      expect(many.present).toEqual([true, false, true]);
      // the listing (103 tags: too many), then each tag
      expect(asked()).toEqual([
        'GET /v2/team/attached/tags/list',
        'HEAD /v2/team/attached/manifests/sha256-HEX',
        'HEAD /v2/team/attached/manifests/sha256-HEX.att',
        'HEAD /v2/team/attached/manifests/sha256-HEX.sbom',
        'HEAD /v2/team/attached/manifests/sha256-HEX.sig',
      ]);

      proxy.reset();
      const again = await lookupAttachments(repo, img.digest);
      expect(again.present).toEqual([true, false, true]);
      // a repository known to hold many tags is not listed again for a while
      expect(asked().filter((a) => a.includes('tags/list'))).toEqual([]);
      expect(asked()).toHaveLength(4);
    } finally {
      await proxy.stop();
    }
  });
});
