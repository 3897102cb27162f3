import type { request as Request } from 'undici';
import { SignatureError } from './errors';
import { signaturePath } from './lookaside-path';
import { SignatureStore } from './signature-store';

/** undici's index (fetch, WebSocket, caches) loads on the first lookaside read over HTTP, not with every command that links this file. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const undiciRequest = (): typeof Request => (require('undici') as { request: typeof Request }).request;

const MAX_SIGNATURES = 256;
const MAX_SIGNATURE_BYTES = 1 << 20;

/**
 * Reads a lookaside served over HTTP(S) by others, as containers/image does:
 * signature-1, -2, ... until the first 404; any other status is an error.
 */
export class HttpLookaside implements SignatureStore {
  constructor(
    readonly baseUrl: string,
    private readonly opts: { timeoutMs?: number } = {},
  ) {
    if (!/^https?:\/\//.test(baseUrl)) throw new SignatureError('LOOKASIDE_INVALID', `lookaside URL must be http(s): ${baseUrl}`);
  }

  async list(repository: string, digest: string): Promise<Buffer[]> {
    const out: Buffer[] = [];
    const base = this.baseUrl.replace(/\/+$/, '');
    for (let n = 1; n <= MAX_SIGNATURES; n++) {
      const url = `${base}/${signaturePath(repository, digest, n)}`;
      let res;
      try {
        res = await undiciRequest()(url, {
          method: 'GET',
          headersTimeout: this.opts.timeoutMs ?? 30_000,
          bodyTimeout: this.opts.timeoutMs ?? 30_000,
        });
      } catch (e) {
        throw new SignatureError('LOOKASIDE_UNAVAILABLE', `cannot reach lookaside ${url}: ${(e as Error).message}`);
      }
      if (res.statusCode === 404) {
        await res.body.dump();
        break;
      }
      if (res.statusCode !== 200) {
        await res.body.dump();
        throw new SignatureError('LOOKASIDE_UNAVAILABLE', `lookaside ${url} answered ${res.statusCode}`);
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const c of res.body) {
        size += (c as Buffer).length;
        if (size > MAX_SIGNATURE_BYTES) {
          res.body.destroy();
          throw new SignatureError('SIGNATURE_FORMAT', `signature at ${url} is larger than 1 MiB`);
        }
        chunks.push(c as Buffer);
      }
      out.push(Buffer.concat(chunks));
    }
    return out;
  }
}
