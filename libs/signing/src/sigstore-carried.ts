import { JsonValue, StrictJsonError, parseStrictJsonBytes } from '@airlock/common';
import { SignatureError } from './errors';
import { FileLookasideStore } from './lookaside-store';
import { SigstoreSignatureStore } from './signature-store';
import { SigstoreSignature } from './sigstore-signature';

/**
 * Sigstore signatures carried in a bundle (docs/formats.md, "Bundles"): one
 * file per signature, `sigstore/<repository>@sha256=<hex>/signature-N`, laid
 * out as the lookaside is, each holding `{"payload":"<b64>","signature":"<b64>"}`
 * (keys sorted, no spaces): the layer of the tag form, without the registry.
 */
export function encodeCarriedSigstore(s: SigstoreSignature): Buffer {
  // the referrer form travels as its bundle: {"bundle":"<b64>"}
  if (s.bundle) return Buffer.from(JSON.stringify({ bundle: s.bundle.toString('base64') }));
  return Buffer.from(JSON.stringify({ payload: s.payload.toString('base64'), signature: s.signature }));
}

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Reads one carried signature strictly; anything else is a signature carrying its refusal (SIGNATURE_FORMAT). */
export function decodeCarriedSigstore(bytes: Buffer): SigstoreSignature {
  let doc: JsonValue;
  try {
    doc = parseStrictJsonBytes(bytes);
  } catch (e) {
    if (!(e instanceof StrictJsonError)) throw e;
    return {
      payload: Buffer.alloc(0),
      signature: '',
      problem: new SignatureError('SIGNATURE_FORMAT', `a carried sigstore signature is not valid JSON: ${e.message}`),
    };
  }
  const o = doc as Record<string, JsonValue>;
  const keys = typeof doc === 'object' && doc !== null && !Array.isArray(doc) ? Object.keys(o).sort().join(',') : '';
  if (keys === 'bundle' && typeof o.bundle === 'string' && B64.test(o.bundle))
    return { payload: Buffer.alloc(0), signature: '', bundle: Buffer.from(o.bundle, 'base64') };
  if (keys !== 'payload,signature' || typeof o.payload !== 'string' || typeof o.signature !== 'string' || !B64.test(o.payload)) {
    return {
      payload: Buffer.alloc(0),
      signature: '',
      problem: new SignatureError('SIGNATURE_FORMAT', 'a carried sigstore signature must be {"payload","signature"} or {"bundle"}, base64'),
    };
  }
  return { payload: Buffer.from(o.payload, 'base64'), signature: o.signature };
}

/** The sigstore signatures a bundle carried, staged in a folder. */
export class CarriedSigstoreStore implements SigstoreSignatureStore {
  private readonly files: FileLookasideStore;

  constructor(root: string) {
    this.files = new FileLookasideStore(root);
  }

  async list(repository: string, digest: string): Promise<SigstoreSignature[]> {
    return (await this.files.list(repository, digest)).map(decodeCarriedSigstore);
  }
}
