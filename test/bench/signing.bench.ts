import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { Sensitive } from '@airlock/common';
import {
  KeyType,
  buildCosignPayload,
  buildSigstoreBundle,
  verifySigstoreBundle,
  generateKeyPair,
  generateSigstoreKeyPair,
  readPrivateKey,
  readPublicKeys,
  readSigstorePrivateKey,
  readSigstorePublicKey,
  sign,
  signSigstore,
  verify,
  verifySigstore,
} from '@airlock/signing';
import { GpgHome } from '../support/gpg';
import { measureProcess, table, timeIt } from './harness';

const N = Number(process.env.BENCH_SIGNATURES ?? 300);
const SKOPEO_N = Number(process.env.BENCH_SKOPEO_SIGNATURES ?? 20);

/**
 * Signatures per second, signed and verified, in one airlock process vs a
 * loop of skopeo standalone-sign / standalone-verify (a process and a gpg
 * agent round trip per image), for ed25519 and RSA-3072 keys.
 */
export async function signingBench(): Promise<void> {
  const gpg = new GpgHome();
  const rows: (string | number)[][] = [];
  try {
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { digest: 'sha256:' + randomBytes(32).toString('hex'), size: 1 },
        layers: [],
      }),
    );
    const digest = 'sha256:' + createHash('sha256').update(manifest).digest('hex');
    const mfile = join(gpg.dir, 'manifest.json');
    writeFileSync(mfile, manifest);
    const ref = 'qa.example:5000/team/app:1.4';
    for (const [type, gpgAlgo] of [
      ['ed25519', 'ed25519'],
      ['rsa3072', 'rsa3072'],
    ] as [KeyType, string][]) {
      const pass = new Sensitive('bench');
      const k = await generateKeyPair({ name: `bench ${type}`, type, passphrase: pass });
      const priv = await readPrivateKey(k.privateArmored, pass);
      const pub = await readPublicKeys(k.publicArmored);
      const sigs: Uint8Array[] = [];
      const signS = await timeIt(async () => {
        for (let i = 0; i < N; i++) sigs.push(await sign(digest, ref, priv));
      });
      const verifyS = await timeIt(async () => {
        for (const s of sigs) await verify(s, { trustedKeys: pub, manifestDigest: digest, reference: ref });
      });
      const fpr = await gpg.generate(`skopeo bench ${type}`, gpgAlgo);
      const out = join(gpg.dir, `sig-${type}`);
      let skSign = 0;
      for (let i = 0; i < SKOPEO_N; i++)
        skSign += (await measureProcess('skopeo', ['standalone-sign', mfile, ref, fpr, '-o', out], gpg.env)).seconds;
      let skVerify = 0;
      for (let i = 0; i < SKOPEO_N; i++)
        skVerify += (await measureProcess('skopeo', ['standalone-verify', mfile, ref, fpr, out], gpg.env)).seconds;
      const aSign = N / signS;
      const aVerify = N / verifyS;
      const sSign = SKOPEO_N / skSign;
      const sVerify = SKOPEO_N / skVerify;
      rows.push([`${type} sign`, aSign, sSign, aSign / sSign]);
      rows.push([`${type} verify`, aVerify, sVerify, aVerify / sVerify]);
    }
    // the sigstore dialect: ECDSA P-256 over the cosign payload, beside openssl dgst per signature (no cosign binary installs here; Debian's skopeo has sigstore disabled)
    {
      const pass = new Sensitive('bench');
      const g = generateSigstoreKeyPair(pass);
      const key = readSigstorePrivateKey(g.privatePem, pass);
      const pub = readSigstorePublicKey(g.publicPem);
      const repo = 'qa.example:5000/team/app';
      const sigs: ReturnType<typeof signSigstore>[] = [];
      const signS = await timeIt(async () => {
        for (let i = 0; i < N; i++) sigs.push(signSigstore(digest, repo, key));
      });
      const verifyS = await timeIt(async () => {
        for (const x of sigs) verifySigstore(x, { trustedKeys: [pub], manifestDigest: digest, reference: ref });
      });
      const keyFile = join(gpg.dir, 'cosign-bench.key');
      const pubFile = join(gpg.dir, 'cosign-bench.pub');
      const payloadFile = join(gpg.dir, 'payload.json');
      writeFileSync(keyFile, key.export({ format: 'pem', type: 'pkcs8' }));
      writeFileSync(pubFile, g.publicPem);
      writeFileSync(payloadFile, buildCosignPayload(digest, repo));
      const sigFile = join(gpg.dir, 'payload.sig');
      let oSign = 0;
      for (let i = 0; i < SKOPEO_N; i++)
        oSign += (await measureProcess('openssl', ['dgst', '-sha256', '-sign', keyFile, '-out', sigFile, payloadFile])).seconds;
      let oVerify = 0;
      for (let i = 0; i < SKOPEO_N; i++)
        oVerify += (await measureProcess('openssl', ['dgst', '-sha256', '-verify', pubFile, '-signature', sigFile, payloadFile])).seconds;
      rows.push(['sigstore P-256 sign (tag form)', N / signS, SKOPEO_N / oSign, N / signS / (SKOPEO_N / oSign)]);
      rows.push(['sigstore P-256 verify (tag form)', N / verifyS, SKOPEO_N / oVerify, N / verifyS / (SKOPEO_N / oVerify)]);
      // the referrer form: a sigstore bundle (DSSE over an in-toto statement); openssl's rate is the same per-signature work
      const bundles: Buffer[] = [];
      const bSignS = await timeIt(async () => {
        for (let i = 0; i < N; i++) bundles.push(buildSigstoreBundle(digest, repo, key, pub.key));
      });
      const bVerifyS = await timeIt(async () => {
        for (const b of bundles) verifySigstoreBundle(b, { trustedKeys: [pub], manifestDigest: digest, reference: ref });
      });
      rows.push(['sigstore P-256 sign (referrer form: bundle)', N / bSignS, SKOPEO_N / oSign, N / bSignS / (SKOPEO_N / oSign)]);
      rows.push(['sigstore P-256 verify (referrer form: bundle)', N / bVerifyS, SKOPEO_N / oVerify, N / bVerifyS / (SKOPEO_N / oVerify)]);
    }
    table(
      `signatures per second (airlock: ${N} in one process; skopeo: ${SKOPEO_N} standalone-sign/-verify runs; for sigstore, openssl dgst runs)`,
      ['operation', 'airlock /s', 'skopeo /s', 'ratio'],
      rows,
    );
  } finally {
    gpg.close();
  }
}
