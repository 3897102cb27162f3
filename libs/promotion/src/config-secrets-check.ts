import { AirlockError, isAirlockError } from '@airlock/common';
import { LoadedConfig, SecretRef, readSecret } from '@airlock/common/config';
import { readCaFile, readClientCertificate } from '@airlock/oci';
import { createPublicKey } from 'node:crypto';
import {
  fingerprintOf,
  readPrivateKeyFile,
  readPublicKeyFiles,
  readSigstorePrivateKeyFile,
  readSigstorePublicKeyFile,
  readTrustedKeyFiles,
  sigstoreFingerprint,
} from '@airlock/signing';

/** One thing in a configuration that a process would fail on, with the field that names it. */
export interface ConfigProblem {
  field: string;
  code: string;
  message: string;
}

interface SigningKeyRef {
  privateKey: string;
  publicKey?: string;
  passphrase: SecretRef;
}

/**
 * Reads every key file and secret that `serve`, `api`, `worker` and the
 * bundle commands would read, unlocks each private key once (and checks that
 * its configured public key is its own), and returns every problem with the
 * field that names it, not only the first. It writes nothing and reaches no
 * registry, so it runs the same on either side of the air gap.
 */
export async function checkKeysAndSecrets(loaded: LoadedConfig, env: NodeJS.ProcessEnv = process.env): Promise<ConfigProblem[]> {
  const { config, resolvePath } = loaded;
  const problems: ConfigProblem[] = [];
  const attempt = async (field: string, f: () => unknown): Promise<void> => {
    try {
      await f();
    } catch (e) {
      if (!isAirlockError(e)) throw e;
      problems.push({ field, code: e.code, message: e.message.startsWith(field) ? e.message : `${field}: ${e.message}` });
    }
  };
  // a key pair of either dialect: its passphrase read, its private key unlocked once (fingerprint kept), its public key its own
  const unlocked = new Map<string, Promise<string>>();
  type Dialect = {
    privateFp(path: string, passphrase: () => ReturnType<typeof readSecret>, what: string): Promise<string>;
    publicFp(path: string, what: string): Promise<string>;
  };
  const keyPair = async (field: string, k: SigningKeyRef, d: Dialect): Promise<void> => {
    await attempt(`${field}.passphrase`, () => readSecret(k.passphrase, `${field}.passphrase`, resolvePath, env));
    if (problems.some((p) => p.field === `${field}.passphrase`)) return;
    const path = resolvePath(k.privateKey);
    const cacheKey = `${path}\0${JSON.stringify(k.passphrase)}`;
    let fp = unlocked.get(cacheKey);
    if (!fp) {
      fp = d.privateFp(path, () => readSecret(k.passphrase, `${field}.passphrase`, resolvePath, env), `${field}.privateKey`);
      unlocked.set(cacheKey, fp);
    }
    let privateFp: string | undefined;
    await attempt(`${field}.privateKey`, async () => (privateFp = await fp));
    const publicKey = k.publicKey;
    if (!publicKey) return;
    await attempt(`${field}.publicKey`, async () => {
      const publicFp = await d.publicFp(resolvePath(publicKey), `${field}.publicKey`);
      if (privateFp && publicFp !== privateFp)
        problems.push({
          field: `${field}.publicKey`,
          code: 'KEY_INVALID',
          message: `${field}.publicKey: ${publicKey} is key ${publicFp}, not the private key's own (${privateFp})`,
        });
    });
  };
  const openpgpKeys: Dialect = {
    privateFp: async (path, passphrase, what) => fingerprintOf(await readPrivateKeyFile(path, passphrase, what)),
    publicFp: async (path, what) => fingerprintOf((await readPublicKeyFiles([path], what))[0]),
  };
  const sigstoreKeys: Dialect = {
    privateFp: async (path, passphrase, what) =>
      sigstoreFingerprint(createPublicKey(await readSigstorePrivateKeyFile(path, passphrase, what))),
    publicFp: async (path, what) => readSigstorePublicKeyFile(path, what).fingerprint,
  };
  const signingKey = (field: string, k: SigningKeyRef) => keyPair(field, k, openpgpKeys);
  const sigstoreKey = (field: string, k: SigningKeyRef) => keyPair(field, k, sigstoreKeys);
  // pinned keys of either dialect, told apart by content as the stages read them
  const trustedKeys = (field: string, files: string[]) =>
    Promise.all(files.map((f, i) => attempt(`${field}[${i}]`, () => readTrustedKeyFiles([resolvePath(f)], `${field}[${i}]`))));
  const publicKeys = (field: string, files: string[]) =>
    Promise.all(files.map((f, i) => attempt(`${field}[${i}]`, () => readPublicKeyFiles([resolvePath(f)], `${field}[${i}]`))));

  for (const [i, s] of config.stages.entries()) {
    const at = `stages[${i}]`;
    if (s.signing) await signingKey(`${at}.signing`, s.signing);
    if (s.sigstore) await sigstoreKey(`${at}.sigstore`, s.sigstore);
    for (const [j, f] of s.from.entries()) await trustedKeys(`${at}.from[${j}].trustedKeys`, f.trustedKeys);
    const r = s.registry;
    if (r.password)
      await attempt(`${at}.registry.password`, () => readSecret(r.password as SecretRef, `${at}.registry.password`, resolvePath, env));
    if (r.caFile)
      await attempt(`${at}.registry.caFile`, () => wrap(`${at}.registry.caFile`, () => readCaFile(resolvePath(r.caFile as string))));
    if (r.clientCert) {
      const c = r.clientCert;
      await attempt(`${at}.registry.clientCert`, () =>
        wrap(`${at}.registry.clientCert`, () => readClientCertificate(resolvePath(c.certFile), resolvePath(c.keyFile))),
      );
    }
  }
  const stageIndex = (name: string) => config.stages.findIndex((s) => s.name === name);
  for (const [i, c] of config.channels.entries()) {
    const at = `channels[${i}]`;
    const lowSide = config.stages[stageIndex(c.to)]?.transport === 'bundle';
    if (lowSide) {
      if (c.sender) await signingKey(`${at}.sender`, c.sender);
      else if (!config.stages[stageIndex(c.from)]?.signing)
        problems.push({
          field: `${at}.sender`,
          code: 'KEY_MISSING',
          message: `${at}.sender: no sender key, and stage ${c.from} (the default) has no signing key`,
        });
      if (c.encrypt && !c.recipients.length)
        problems.push({
          field: `${at}.recipients`,
          code: 'KEY_MISSING',
          message: `${at}.recipients: the channel encrypts but names no recipient key of the high side`,
        });
      await publicKeys(`${at}.recipients`, c.recipients);
    } else {
      if (c.importKey) await signingKey(`${at}.importKey`, c.importKey);
      else if (!config.stages[stageIndex(c.to)]?.signing)
        problems.push({
          field: `${at}.importKey`,
          code: 'KEY_MISSING',
          message: `${at}.importKey: no import key, and stage ${c.to} (the default) has no signing key`,
        });
      if (!c.trustedSenders.length)
        problems.push({
          field: `${at}.trustedSenders`,
          code: 'KEY_MISSING',
          message: `${at}.trustedSenders: the high side of a channel pins at least one sender key`,
        });
      await publicKeys(`${at}.trustedSenders`, c.trustedSenders);
    }
  }
  return problems;
}

/** TLS file readers throw plain errors: name the field and make it a configuration problem. */
function wrap(field: string, f: () => unknown): unknown {
  try {
    return f();
  } catch (e) {
    if (isAirlockError(e)) throw e;
    throw new AirlockError('CONFIG_INVALID', `${field}: ${(e as Error).message}`);
  }
}
