import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { Sensitive } from '@airlock/common';
import { RegistryClient } from '@airlock/oci';
import {
  FileLookasideStore,
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
import { RegistrySigstoreStore } from '@airlock/promotion';
import { LocalService, pickPort, startRedisServer, startRegistryServer } from './local-services';
import { pushSampleImage } from './sample-image';

/** Redis and one registry per stage for a sandbox folder; stop() ends them. */
export interface SandboxServices {
  redisUrl: string;
  hosts: Record<string, string>;
  stop(): Promise<void>;
}

/** Starts redis-server and a registry per stage under `dir` (data persists there), on preferred ports when free. */
export async function startServices(dir: string, stages: { name: string; port: number }[], redisPort = 6390): Promise<SandboxServices> {
  const services: LocalService[] = [];
  const stop = () => Promise.all(services.map((s) => s.stop())).then(() => undefined);
  try {
    const rp = await pickPort(redisPort);
    services.push(await startRedisServer(join(dir, 'redis'), rp));
    const hosts: Record<string, string> = {};
    for (const s of stages) {
      const port = await pickPort(s.port);
      services.push(await startRegistryServer(s.name, join(dir, 'registries', s.name), port));
      hosts[s.name] = `127.0.0.1:${port}`;
    }
    return { redisUrl: `redis://127.0.0.1:${rp}`, hosts, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Generates a stage key once; its passphrase lives in a file beside it (mode 600). */
export async function ensureKey(dir: string, name: string): Promise<void> {
  const pass = join(dir, 'secrets', `${name}.pass`);
  if (existsSync(join(dir, 'keys', `${name}.key`)) && existsSync(pass)) return;
  mkdirSync(join(dir, 'keys'), { recursive: true });
  mkdirSync(join(dir, 'secrets'), { recursive: true, mode: 0o700 });
  const secret = randomBytes(24).toString('base64url');
  const k = await generateKeyPair({ name: `airlock sandbox ${name}`, passphrase: new Sensitive(secret) });
  writeFileSync(pass, secret, { mode: 0o600 });
  writeFileSync(join(dir, 'keys', `${name}.key`), k.privateArmored, { mode: 0o600 });
  writeFileSync(join(dir, 'keys', `${name}.pub`), k.publicArmored);
}

/** Generates a stage's sigstore (cosign) key once: keys/NAME-cosign.key (encrypted as cosign writes it) and .pub, its passphrase in secrets/. */
export function ensureSigstoreKey(dir: string, name: string): void {
  const pass = join(dir, 'secrets', `${name}-cosign.pass`);
  if (existsSync(join(dir, 'keys', `${name}-cosign.key`)) && existsSync(pass)) return;
  mkdirSync(join(dir, 'keys'), { recursive: true });
  mkdirSync(join(dir, 'secrets'), { recursive: true, mode: 0o700 });
  const secret = randomBytes(24).toString('base64url');
  const k = generateSigstoreKeyPair(new Sensitive(secret));
  writeFileSync(pass, secret, { mode: 0o600 });
  writeFileSync(join(dir, 'keys', `${name}-cosign.key`), k.privatePem, { mode: 0o600 });
  writeFileSync(join(dir, 'keys', `${name}-cosign.pub`), k.publicPem);
}

/** A stage entry of a sandbox configuration (key and passphrase files from ensureKey, and from ensureSigstoreKey with `sigstore`). */
export function stageEntry(name: string, host: string, extra: object = {}, withKey = true, sigstore = false): object {
  return {
    name,
    registry: { host, insecure: true },
    ...(withKey
      ? { signing: { privateKey: `keys/${name}.key`, publicKey: `keys/${name}.pub`, passphrase: { file: `secrets/${name}.pass` } } }
      : {}),
    ...(sigstore
      ? {
          sigstore: {
            privateKey: `keys/${name}-cosign.key`,
            publicKey: `keys/${name}-cosign.pub`,
            passphrase: { file: `secrets/${name}-cosign.pass` },
          },
        }
      : {}),
    lookaside: { dir: `sigstore/${name}` },
    ...extra,
  };
}

/** Writes a sandbox configuration file and returns its path. */
export function writeSandboxConfig(dir: string, config: object): string {
  const path = join(dir, 'airlock.yaml');
  writeFileSync(path, `# Written by airlock on every start (ports may change); keys and data persist.\n${stringify(config)}`);
  return path;
}

/**
 * Pushes the sample image into a stage registry (once) and signs it with
 * that stage's key: once per address, since the signature names the
 * registry's host and port, and a start finds other ports when the
 * preferred ones are taken.
 */
export async function ensureSignedSample(
  dir: string,
  stage: string,
  host: string,
  repo = 'team/hello',
  tag = '1.0',
): Promise<{ ref: string; digest: string }> {
  const c = new RegistryClient(host, { insecure: true });
  try {
    const ref = `${host}/${repo}:${tag}`;
    const present = await c.headManifest(repo, tag);
    const digest = present?.digest ?? (await pushSampleImage(c, repo, tag, new Date().toISOString()));
    const store = new FileLookasideStore(join(dir, 'sigstore', stage));
    const trustedKeys = await readPublicKeys(readFileSync(join(dir, 'keys', `${stage}.pub`)));
    const holds = (sig: Buffer) =>
      verify(sig, { trustedKeys, manifestDigest: digest, reference: ref }).then(
        () => true,
        () => false,
      );
    if (!(await Promise.all((await store.list(repo, digest)).map(holds))).includes(true)) {
      const key = await readPrivateKey(
        readFileSync(join(dir, 'keys', `${stage}.key`)),
        new Sensitive(readFileSync(join(dir, 'secrets', `${stage}.pass`), 'utf8')),
      );
      await store.add(repo, digest, await sign(digest, ref, key));
    }
    // and as CI signs with cosign, when the stage has a sigstore key: in the registry, the tag form
    if (existsSync(join(dir, 'keys', `${stage}-cosign.key`))) {
      const tags = new RegistrySigstoreStore(c);
      const pub = readSigstorePublicKey(readFileSync(join(dir, 'keys', `${stage}-cosign.pub`)));
      const repository = `${host}/${repo}`;
      const ours = (await tags.list(repo, digest)).some((s) => {
        try {
          return !!verifySigstore(s, { trustedKeys: [pub], manifestDigest: digest, reference: ref });
        } catch {
          return false;
        }
      });
      if (!ours) {
        const key = readSigstorePrivateKey(
          readFileSync(join(dir, 'keys', `${stage}-cosign.key`)),
          new Sensitive(readFileSync(join(dir, 'secrets', `${stage}-cosign.pass`), 'utf8')),
        );
        await tags.add(repo, digest, signSigstore(digest, repository, key));
      }
    }
    return { ref, digest };
  } finally {
    await c.close();
  }
}
