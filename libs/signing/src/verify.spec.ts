import * as openpgp from 'openpgp';
import { Sensitive } from '@airlock/common';
import { generateKeyPair, readPrivateKey, readPublicKeys, fingerprintOf } from './keys';
import { sign } from './sign';
import { verify, VerifyOptions } from './verify';
import { buildPayload } from './payload';
import { splitPackets } from './test-packets';

const IDX = 'sha256:' + '11'.repeat(32);
const PLATFORM = 'sha256:' + '22'.repeat(32);
const REF = 'qa.example:5000/team/app:1.4';
const pw = new Sensitive('correct horse');

async function keyPair(opts: Partial<Parameters<typeof generateKeyPair>[0]> = {}) {
  const g = await generateKeyPair({ name: 'test stage', passphrase: pw, ...opts });
  return { priv: await readPrivateKey(g.privateArmored, pw), pub: (await readPublicKeys(g.publicArmored))[0], g };
}

/** Signs arbitrary payload bytes the same way sign() does, for malformed-payload cases. */
async function signRaw(
  payload: Uint8Array,
  key: openpgp.PrivateKey,
  extra: Partial<Parameters<typeof openpgp.sign>[0]> = {},
): Promise<Uint8Array> {
  const message = await openpgp.createMessage({ binary: payload });
  return (await openpgp.sign({
    message,
    signingKeys: key,
    signingKeyIDs: [key.getKeyID()],
    format: 'binary',
    ...extra,
  } as never)) as Uint8Array;
}

function payloadOf(over: Record<string, unknown> = {}): Buffer {
  return buildPayload({ dockerReference: REF, manifestDigest: IDX, creator: 'test', timestamp: 1, ...over });
}

describe('verify: the rules of containers/image', () => {
  let k: Awaited<ReturnType<typeof keyPair>>;
  let other: Awaited<ReturnType<typeof keyPair>>;
  let opts: VerifyOptions;
  beforeAll(async () => {
    [k, other] = await Promise.all([keyPair(), keyPair()]);
    opts = { trustedKeys: [k.pub], manifestDigest: IDX, reference: REF };
  });
  const code = async (sig: Uint8Array | string, o: Partial<VerifyOptions> = {}) => {
    try {
      await verify(typeof sig === 'string' ? Buffer.from(sig) : sig, { ...opts, ...o });
      return 'OK';
    } catch (e) {
      return (e as { code?: string }).code ?? String(e);
    }
  };

  it('accepts a signature made by sign(), and says what it proved', async () => {
    const sig = await sign(IDX, REF, k.priv);
    const v = await verify(sig, opts);
    expect(v).toMatchObject({
      dockerReference: REF,
      manifestDigest: IDX,
      keyFingerprint: fingerprintOf(k.pub),
      signedByFingerprint: fingerprintOf(k.pub),
    });
    expect(v.creator).toMatch(/^airlock /);
    expect(fingerprintOf(k.pub)).toMatch(/^[0-9A-F]{40}$/);
  });

  it('signs with the primary key, not a subkey', async () => {
    const sig = await sign(IDX, REF, k.priv);
    const msg = await openpgp.readMessage({ binaryMessage: sig });
    expect(msg.getSigningKeyIDs()[0].toHex()).toBe(k.pub.getKeyID().toHex());
  });

  it('accepts RSA-3072 keys', async () => {
    const rsa = await keyPair({ type: 'rsa3072' });
    expect((await verify(await sign(IDX, REF, rsa.priv), { ...opts, trustedKeys: [rsa.pub] })).keyFingerprint).toBe(rsa.g.fingerprint);
  }, 60_000);

  it('fails closed with no trusted keys', async () => {
    expect(await code(await sign(IDX, REF, k.priv), { trustedKeys: [] })).toBe('SIGNATURE_UNTRUSTED_KEY');
  });

  it('refuses a valid signature by a key that is not pinned', async () => {
    expect(await code(await sign(IDX, REF, other.priv))).toBe('SIGNATURE_UNTRUSTED_KEY');
  });

  it('refuses messages that are not signed messages', async () => {
    const payload = payloadOf();
    const literalOnly = await (await openpgp.createMessage({ binary: payload })).write();
    const encrypted = await openpgp.encrypt({
      message: await openpgp.createMessage({ binary: payload }),
      passwords: ['x'],
      format: 'binary',
    });
    const encryptedAndSigned = await openpgp.encrypt({
      message: await openpgp.createMessage({ binary: payload }),
      passwords: ['x'],
      signingKeys: k.priv,
      format: 'binary',
    });
    const cleartext = await openpgp.sign({
      message: await openpgp.createCleartextMessage({ text: payload.toString() }),
      signingKeys: k.priv,
    });
    const detached = await openpgp.sign({
      message: await openpgp.createMessage({ binary: payload }),
      signingKeys: k.priv,
      detached: true,
      format: 'binary',
    });
    const armored = await openpgp.sign({
      message: await openpgp.createMessage({ binary: payload }),
      signingKeys: k.priv,
      format: 'armored',
    });
    for (const [name, m] of Object.entries({
      literalOnly,
      encrypted,
      encryptedAndSigned,
      cleartext,
      detached,
      armored,
      empty: new Uint8Array(),
      garbage: Buffer.from('\x99\x01garbage'),
    })) {
      expect([name, await code(m as Uint8Array)]).toEqual([name, 'SIGNATURE_FORMAT']);
    }
  });

  it('refuses two literal packets (the CVE-2025-47934 class)', async () => {
    const sig = Buffer.from(await sign(IDX, REF, k.priv));
    const parts = splitPackets(sig);
    expect(parts.map((p) => p.tag)).toEqual([4, 11, 2]);
    const evil = Buffer.from(await (await openpgp.createMessage({ binary: payloadOf({ manifestDigest: PLATFORM }) })).write());
    expect(await code(Buffer.concat([parts[0].bytes, evil, parts[1].bytes, parts[2].bytes]))).toBe('SIGNATURE_FORMAT');
    expect(await code(Buffer.concat([parts[0].bytes, parts[1].bytes, evil, parts[2].bytes]))).toBe('SIGNATURE_FORMAT');
  });

  it('refuses a flipped payload byte', async () => {
    const sig = Buffer.from(await sign(IDX, REF, k.priv));
    const i = sig.indexOf(Buffer.from('atomic container signature'));
    sig[i] ^= 0x01;
    expect(await code(sig)).toBe('SIGNATURE_INVALID');
  });

  it('accepts a signature by a valid subkey of a pinned key, and refuses it once the subkey is revoked', async () => {
    const { privateKey } = await openpgp.generateKey({
      type: 'ecc',
      curve: 'ed25519Legacy',
      userIDs: [{ name: 'subkeyed' }],
      subkeys: [{ sign: true }],
      format: 'object',
      config: { v6Keys: false },
    });
    const subId = privateKey.subkeys[0].getKeyID();
    const sig = await signRaw(payloadOf(), privateKey, { signingKeyIDs: [subId] });
    expect((await openpgp.readMessage({ binaryMessage: sig })).getSigningKeyIDs()[0].toHex()).toBe(subId.toHex());
    const pub = privateKey.toPublic();
    const v = await verify(sig, { ...opts, trustedKeys: [pub] });
    expect(v.keyFingerprint).toBe(fingerprintOf(pub));
    expect(v.signedByFingerprint).toBe(privateKey.subkeys[0].getFingerprint().toUpperCase());
    const revokedSub = await privateKey.subkeys[0].revoke(privateKey.keyPacket as openpgp.SecretKeyPacket);
    const holder = (privateKey as unknown as { clone(): openpgp.PrivateKey }).clone();
    holder.subkeys[0] = revokedSub;
    const revokedPub = holder.toPublic();
    expect(await code(sig, { trustedKeys: [revokedPub] })).toBe('SIGNATURE_KEY_REVOKED');
  });

  it('refuses a signature by a key that has since expired', async () => {
    const past = new Date(Date.now() - 3600_000);
    const { privateKey } = await openpgp.generateKey({
      type: 'ecc',
      curve: 'ed25519Legacy',
      userIDs: [{ name: 'short-lived' }],
      keyExpirationTime: 60,
      date: past,
      format: 'object',
      config: { v6Keys: false },
    });
    const sig = await signRaw(payloadOf(), privateKey, { date: new Date(past.getTime() + 10_000) });
    expect(await code(sig, { trustedKeys: [privateKey.toPublic()] })).toBe('SIGNATURE_EXPIRED');
    // it was fine while the key lived
    expect(await code(sig, { trustedKeys: [privateKey.toPublic()], now: new Date(past.getTime() + 20_000) })).toBe('OK');
  });

  it.each([
    ['critical.type wrong', () => Buffer.from(payloadOf().toString().replace('atomic container signature', 'atomic container signatur'))],
    ['unknown key in critical', () => Buffer.from(payloadOf().toString().replace('"type":', '"extra":1,"type":'))],
    ['duplicate JSON key', () => Buffer.from(payloadOf().toString().replace('"optional":{', '"optional":{},"optional":{'))],
    ['trailing data', () => Buffer.concat([payloadOf(), Buffer.from('\n{}')])],
    [
      'missing optional',
      () =>
        Buffer.from(
          payloadOf()
            .toString()
            .replace(/,"optional":\{.*\}\}$/, '}'),
        ),
    ],
    ['malformed digest sha256:../x', () => Buffer.from(payloadOf().toString().replace(IDX, 'sha256:../x'))],
    ['digest of the wrong length', () => Buffer.from(payloadOf().toString().replace(IDX, IDX.slice(0, 40)))],
  ])('refuses %s (after the signature checked out) with SIGNATURE_PAYLOAD_INVALID', async (_n, make) => {
    expect(await code(await signRaw(make(), k.priv))).toBe('SIGNATURE_PAYLOAD_INVALID');
  });

  it('refuses a digest mismatch, and an index signature used for a platform manifest and the reverse', async () => {
    const forIndex = await sign(IDX, REF, k.priv);
    const forPlatform = await sign(PLATFORM, REF, k.priv);
    expect(await code(forIndex, { manifestDigest: PLATFORM })).toBe('SIGNATURE_DIGEST_MISMATCH');
    expect(await code(forPlatform, { manifestDigest: IDX })).toBe('SIGNATURE_DIGEST_MISMATCH');
    expect(await code(forPlatform, { manifestDigest: PLATFORM })).toBe('OK');
  });

  it('refuses identity mismatches: other repository, other tag, other registry', async () => {
    const sig = await sign(IDX, REF, k.priv);
    expect(await code(sig, { reference: 'qa.example:5000/team/other:1.4' })).toBe('SIGNATURE_IDENTITY_MISMATCH');
    expect(await code(sig, { reference: 'qa.example:5000/team/app:1.5' })).toBe('SIGNATURE_IDENTITY_MISMATCH');
    expect(await code(sig, { reference: 'dev.example:5000/team/app:1.4' })).toBe('SIGNATURE_IDENTITY_MISMATCH');
    expect(await code(sig, { reference: `qa.example:5000/team/app@${IDX}` })).toBe('OK');
    expect(await code(sig, { reference: 'qa.example:5000/team/app:1.4', identityRule: { type: 'matchExact' } })).toBe('OK');
  });

  it('matches a short docker.io name against its normalized form', async () => {
    const sig = await sign(IDX, 'busybox:1.36', k.priv);
    expect(await code(sig, { reference: 'docker.io/library/busybox:1.36' })).toBe('OK');
    expect(await code(sig, { reference: 'docker.io/busybox:1.37' })).toBe('SIGNATURE_IDENTITY_MISMATCH');
  });

  it('never reads the JSON of a signature that does not verify', async () => {
    // unpinned key with a garbage payload: the key is what is reported, not the payload
    expect(await code(await signRaw(Buffer.from('{{{not json'), other.priv))).toBe('SIGNATURE_UNTRUSTED_KEY');
    const bad = Buffer.from(await signRaw(Buffer.from('{{{not json'), k.priv));
    // the whole payload, not '{{{': the literal packet's 4-byte date just before it is not signed, and when its last byte
    // was '{' (one second in 256) the flip landed there and the signature still verified
    bad[bad.indexOf(Buffer.from('{{{not json'))] ^= 1;
    expect(await code(bad)).toBe('SIGNATURE_INVALID');
  });
});
