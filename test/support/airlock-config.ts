import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { Sensitive } from '@airlock/common';
import { generateKeyPair, generateSigstoreKeyPair } from '@airlock/signing';

export interface StageSpec {
  name: string;
  registry: string;
  /** Receives from these stages, trusting their keys. */
  from?: { stage: string; mapping: { from: string; to: string }[]; trustedKeys?: string[] }[];
  transport?: 'registry' | 'bundle';
  approvals?: { required: number; roles?: string[] };
  withKey?: boolean;
  /** Also a sigstore key (keys/NAME-sigstore.key and .pub): the stage signs in both dialects. */
  sigstore?: boolean;
  /** Where the stage writes its sigstore signatures (default tag). */
  sigstoreAttach?: 'tag' | 'referrer' | 'both';
  /** A registry over TLS: the CA airlock trusts for it and, for one that asks, the client certificate (otherwise the registry is insecure plain HTTP). */
  registryTls?: { caFile: string; clientCert?: { certFile: string; keyFile: string } };
}

/** Writes a configuration with a fresh key per stage into `dir`; passphrases come from env vars it names. */
export async function writeConfig(
  dir: string,
  stages: StageSpec[],
  extra: Record<string, unknown> = {},
): Promise<{ path: string; env: Record<string, string>; fingerprints: Record<string, string> }> {
  mkdirSync(join(dir, 'keys'), { recursive: true });
  const env: Record<string, string> = {};
  const fingerprints: Record<string, string> = {};
  const docs = [];
  for (const s of stages) {
    const envName = `AIRLOCK_TEST_${s.name.toUpperCase().replace(/-/g, '_')}_PASSPHRASE`;
    let signing;
    if (s.withKey !== false) {
      env[envName] = `pass-${s.name}-${Math.random().toString(36).slice(2)}`;
      const k = await generateKeyPair({ name: `airlock ${s.name}`, passphrase: new Sensitive(env[envName]) });
      writeFileSync(join(dir, 'keys', `${s.name}.key`), k.privateArmored, { mode: 0o600 });
      writeFileSync(join(dir, 'keys', `${s.name}.pub`), k.publicArmored);
      fingerprints[s.name] = k.fingerprint;
      signing = { privateKey: `keys/${s.name}.key`, publicKey: `keys/${s.name}.pub`, passphrase: { env: envName } };
    }
    let sigstore;
    if (s.sigstore) {
      const envSig = `AIRLOCK_TEST_${s.name.toUpperCase().replace(/-/g, '_')}_SIGSTORE_PASSPHRASE`;
      env[envSig] = `sig-${s.name}-${Math.random().toString(36).slice(2)}`;
      const k = generateSigstoreKeyPair(new Sensitive(env[envSig]));
      writeFileSync(join(dir, 'keys', `${s.name}-sigstore.key`), k.privatePem, { mode: 0o600 });
      writeFileSync(join(dir, 'keys', `${s.name}-sigstore.pub`), k.publicPem);
      fingerprints[`${s.name}-sigstore`] = k.fingerprint;
      sigstore = {
        privateKey: `keys/${s.name}-sigstore.key`,
        publicKey: `keys/${s.name}-sigstore.pub`,
        passphrase: { env: envSig },
        ...(s.sigstoreAttach ? { attach: s.sigstoreAttach } : {}),
      };
    }
    docs.push({
      name: s.name,
      registry: s.registryTls ? { host: s.registry, ...s.registryTls } : { host: s.registry, insecure: true },
      ...(signing ? { signing } : {}),
      ...(sigstore ? { sigstore } : {}),
      lookaside: { dir: `sigstore/${s.name}` },
      transport: s.transport ?? 'registry',
      from: (s.from ?? []).map((f) => ({ stage: f.stage, trustedKeys: f.trustedKeys ?? [`keys/${f.stage}.pub`], mapping: f.mapping })),
      ...(s.approvals ? { approvals: s.approvals } : {}),
    });
  }
  const path = join(dir, 'airlock.yaml');
  writeFileSync(path, stringify({ ...extra, stages: docs }));
  for (const [k, v] of Object.entries(env)) process.env[k] = v;
  return { path, env, fingerprints };
}
