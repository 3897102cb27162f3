import { createPublicKey, sign as cryptoSign } from 'node:crypto';
import { bundleFromJSON, bundleToJSON } from '@sigstore/bundle';
import { DSSEBundleBuilder } from '@sigstore/sign';
import { Verifier, toSignedEntity, toTrustMaterial } from '@sigstore/verify';
import { Sensitive } from '@airlock/common';
import {
  COSIGN_SIGN_PREDICATE,
  IN_TOTO_PAYLOAD_TYPE,
  SIGSTORE_BUNDLE_MEDIA_TYPE,
  buildSigstoreBundle,
  sigstoreKeyHint,
  verifySigstoreBundle,
} from './sigstore-bundle';
import { generateSigstoreKeyPair, readSigstorePrivateKey, readSigstorePublicKey } from './sigstore-key';

/**
 * The referrer form against software we did not write: sigstore-js, the
 * reference implementation of the bundle format (its 4.x signer and 3.x
 * verifier, the lines that run on Node 20).
 */
const DIGEST = 'sha256:' + '5e'.repeat(32);
const REPO = 'qa.example:5000/team/app';
const code = (c: string) => expect.objectContaining({ code: c });

function keys() {
  const pass = new Sensitive('p');
  const g = generateSigstoreKeyPair(pass);
  return { key: readSigstorePrivateKey(g.privatePem, pass), pub: readSigstorePublicKey(g.publicPem), pem: g.publicPem };
}

/** sigstore-js's verifier, trusting one public key by its hint, with no transparency log, SCT or timestamp required (an air gap has none). */
function sigstoreJsVerify(bundleJson: Buffer, k: ReturnType<typeof keys>) {
  const bundle = bundleFromJSON(JSON.parse(bundleJson.toString()));
  const root = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [],
    certificateAuthorities: [],
    ctlogs: [],
    timestampAuthorities: [],
  };
  const trust = toTrustMaterial(root, (hint: string) => {
    if (hint !== sigstoreKeyHint(k.pub.key)) throw new Error(`unknown key hint ${hint}`);
    return { publicKey: createPublicKey(k.pem), validFor: () => true };
  });
  return new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 }).verify(toSignedEntity(bundle));
}

describe('sigstore bundles (the referrer form), both ways with sigstore-js', () => {
  it("sigstore-js verifies airlock's bundle with the stage key, and refuses it altered", () => {
    const k = keys();
    const b = buildSigstoreBundle(DIGEST, REPO, k.key, k.pub.key);
    const doc = JSON.parse(b.toString());
    expect(doc.mediaType).toBe(SIGSTORE_BUNDLE_MEDIA_TYPE);
    expect(() => sigstoreJsVerify(b, k)).not.toThrow();
    const statement = JSON.parse(Buffer.from(doc.dsseEnvelope.payload, 'base64').toString());
    expect(statement).toEqual({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: REPO, digest: { sha256: DIGEST.slice(7) } }],
      predicateType: COSIGN_SIGN_PREDICATE,
      predicate: {},
    });
    doc.dsseEnvelope.payload = Buffer.from(
      JSON.stringify({ ...statement, subject: [{ name: REPO, digest: { sha256: 'ff'.repeat(32) } }] }),
    ).toString('base64');
    expect(() => sigstoreJsVerify(Buffer.from(JSON.stringify(doc)), k)).toThrow();
    expect(verifySigstoreBundle(b, { trustedKeys: [k.pub], manifestDigest: DIGEST, reference: `${REPO}:1` }).keyFingerprint).toBe(
      k.pub.fingerprint,
    );
  });

  it('airlock accepts a bundle sigstore-js made with a key-based signer, and refuses each altered or foreign variant with its code', async () => {
    const k = keys();
    const signer = {
      sign: async (data: Buffer) => ({
        signature: cryptoSign('sha256', data, k.key),
        key: { $case: 'publicKey' as const, publicKey: k.pem, hint: sigstoreKeyHint(k.pub.key) },
      }),
    };
    const statement = (digest: string, predicateType = COSIGN_SIGN_PREDICATE) =>
      Buffer.from(
        JSON.stringify({
          _type: 'https://in-toto.io/Statement/v1',
          subject: [{ name: REPO, digest: { sha256: digest.slice(7) } }],
          predicateType,
          predicate: {},
        }),
      );
    const make = async (data: Buffer) =>
      Buffer.from(
        JSON.stringify(bundleToJSON(await new DSSEBundleBuilder({ signer, witnesses: [] }).create({ data, type: IN_TOTO_PAYLOAD_TYPE }))),
      );
    const good = await make(statement(DIGEST));
    const o = { trustedKeys: [k.pub], manifestDigest: DIGEST, reference: `${REPO}:1` };
    expect(verifySigstoreBundle(good, o)).toMatchObject({
      dockerReference: REPO,
      manifestDigest: DIGEST,
      keyFingerprint: k.pub.fingerprint,
      dialect: 'sigstore',
    });
    expect(() => verifySigstoreBundle(good, { ...o, trustedKeys: [keys().pub] })).toThrow(code('SIGNATURE_UNTRUSTED_KEY'));
    expect(() => verifySigstoreBundle(good, { ...o, manifestDigest: 'sha256:' + '00'.repeat(32) })).toThrow(
      code('SIGNATURE_DIGEST_MISMATCH'),
    );
    expect(() => verifySigstoreBundle(good, { ...o, reference: 'qa.example:5000/team/other:1' })).toThrow(
      code('SIGNATURE_IDENTITY_MISMATCH'),
    );
    const provenance = await make(statement(DIGEST, 'https://slsa.dev/provenance/v1'));
    expect(() => verifySigstoreBundle(provenance, o)).toThrow(code('SIGNATURE_PAYLOAD_INVALID'));
    const keyless = JSON.parse(good.toString());
    keyless.verificationMaterial = { certificate: { rawBytes: 'MIIB' }, tlogEntries: [] };
    expect(() => verifySigstoreBundle(Buffer.from(JSON.stringify(keyless)), o)).toThrow(code('SIGNATURE_KEYLESS_UNSUPPORTED'));
    const message = JSON.parse(good.toString());
    delete message.dsseEnvelope;
    message.messageSignature = { messageDigest: { algorithm: 'SHA2_256', digest: 'AA==' }, signature: 'AA==' };
    expect(() => verifySigstoreBundle(Buffer.from(JSON.stringify(message)), o)).toThrow(code('SIGNATURE_FORMAT'));
    const dup = good.toString().replace('"mediaType"', '"mediaType":"x","mediaType"');
    expect(() => verifySigstoreBundle(Buffer.from(dup), o)).toThrow(code('SIGNATURE_FORMAT'));
  });
});
