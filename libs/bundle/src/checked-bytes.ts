import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { BundleError } from './errors';

/**
 * Checks bytes against the size and SHA-256 a bundle says they have, as they
 * pass: more than `size` fails at once; at the end, the size and the digest
 * (before the stream ends, so a consumer never sees a whole wrong entry).
 * `what` names them in the message, e.g. "oci/blobs/sha256/… (e/000003.pgp in volume 2)".
 * Without `sha256`, only the size (for a consumer that checks the digest itself).
 */
export function checkedBytes(what: string, size: number, sha256: string | undefined, onBytes?: (n: number) => void): Transform {
  const h = sha256 === undefined ? undefined : createHash('sha256');
  let n = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      n += chunk.length;
      if (n > size) return cb(new BundleError('BUNDLE_DIGEST_MISMATCH', `${what} holds more than its ${size} bytes`));
      h?.update(chunk);
      onBytes?.(chunk.length);
      cb(null, chunk);
    },
    flush(cb) {
      const got = h?.digest('hex');
      if (n !== size || got !== sha256)
        return cb(
          new BundleError(
            'BUNDLE_DIGEST_MISMATCH',
            `${what} does not match its size and SHA-256 (${n} bytes${got ? `, sha256 ${got}` : ''})`,
          ),
        );
      cb();
    },
  });
}
