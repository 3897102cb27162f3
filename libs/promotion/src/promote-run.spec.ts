import { sha256Digest } from '@airlock/oci';
import { carriedManifest } from './promote-run';
import { promoteJobSchema } from './queues';

describe('the manifest a promote job carries', () => {
  const bytes = Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}');
  const job = {
    promotionId: '00000000-0000-4000-8000-000000000001',
    attempt: 1,
    fromStage: 'dev',
    toStage: 'qa',
    source: 'dev.example/team/app:1',
    digest: sha256Digest(bytes),
    target: 'qa.example/team/app:1',
  };
  const mediaType = 'application/vnd.oci.image.manifest.v1+json';

  it('is used when its bytes are the ones the digest names', () => {
    const carried = promoteJobSchema.parse({ ...job, manifest: { mediaType, bytes: bytes.toString('base64') } });
    expect(carriedManifest(carried)).toEqual({ bytes, mediaType, digest: job.digest });
  });

  it('is ignored (the worker fetches the manifest) when altered or absent', () => {
    const altered = Buffer.from(bytes.toString().replace('"layers":[]', '"layers":[{}]'));
    expect(carriedManifest(promoteJobSchema.parse({ ...job, manifest: { mediaType, bytes: altered.toString('base64') } }))).toBeUndefined();
    expect(carriedManifest(promoteJobSchema.parse(job))).toBeUndefined();
  });

  it('is refused by the job schema above 64 KiB and with fields of its own', () => {
    const big = Buffer.alloc(64 * 1024 + 3).toString('base64');
    expect(promoteJobSchema.safeParse({ ...job, manifest: { mediaType, bytes: big } }).success).toBe(false);
    expect(promoteJobSchema.safeParse({ ...job, manifest: { mediaType, bytes: '', extra: 1 } }).success).toBe(false);
  });
});
