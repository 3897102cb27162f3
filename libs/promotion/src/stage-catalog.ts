import { AirlockError } from '@airlock/common';
import { LoadedConfig, StageConfig, readSecret } from '@airlock/common/config';
import {
  FileLookasideStore,
  KeyUnlocker,
  SigstorePublicKey,
  StageTrust,
  TrustedKeys,
  fingerprintOf,
  readPrivateKeyFile,
  readPublicKeyFiles,
  readSigstorePrivateKeyFile,
  readSigstorePublicKeyFile,
  readTrustedKeyFiles,
} from '@airlock/signing';
import type { KeyObject } from 'node:crypto';
import type { Key, PrivateKey } from 'openpgp';
import type { ImageSigner } from './image-pipeline';
import { readCaFile, readClientCertificate, registryTls, type RegistryOptionsResolver, type RegistryTls } from '@airlock/oci';

/** One stage as the rest of airlock sees it: config plus what was loaded for it. */
export interface Stage {
  config: StageConfig;
  name: string;
  registry: string;
  lookaside: FileLookasideStore;
  lookasideUrl: string;
  /** The stage public key, when the stage has a key (and armored, for policy files). */
  publicKey?: Key;
  publicKeyArmored?: string;
  publicKeyFingerprint?: string;
  /** The stage sigstore public key, when the stage signs in that dialect too. */
  sigstoreKey?: SigstorePublicKey;
  /** CAs trusted for the stage registry besides the system's, and its client certificate (registry.caFile and clientCert, or certs.d/<host>/). */
  registryTls: RegistryTls;
}

/**
 * The configured stages with their lookaside stores and public keys. Private
 * keys are unlocked only on request (by whoever signs), never kept here.
 */
export class StageCatalog {
  private readonly stages = new Map<string, Stage>();
  private readonly trustCache = new Map<string, Promise<TrustedKeys>>();
  private readonly keyCache = new Map<string, Promise<PrivateKey>>();
  private readonly sigstoreKeyCache = new Map<string, Promise<KeyObject>>();

  private constructor(readonly loaded: LoadedConfig) {}

  /** Builds the catalog, reading every stage's public key (a bad key stops the boot with its stage named). */
  static async create(loaded: LoadedConfig): Promise<StageCatalog> {
    const cat = new StageCatalog(loaded);
    const { config } = loaded;
    const base = (config.server.publicUrl ?? `http://${config.server.host}:${config.server.port}`).replace(/\/+$/, '');
    for (const s of config.stages) {
      let publicKey: Key | undefined;
      let publicKeyArmored: string | undefined;
      let publicKeyFingerprint: string | undefined;
      if (s.signing) {
        const [key] = await readPublicKeyFiles([loaded.resolvePath(s.signing.publicKey)], `stage ${s.name} public key`);
        publicKey = key;
        publicKeyArmored = key.armor();
        publicKeyFingerprint = fingerprintOf(key);
      }
      const sigstoreKey = s.sigstore
        ? readSigstorePublicKeyFile(loaded.resolvePath(s.sigstore.publicKey), `stage ${s.name} sigstore public key`)
        : undefined;
      let tlsFiles: RegistryTls;
      try {
        const r = s.registry;
        const found = r.caFile && r.clientCert ? { ca: [] } : registryTls(r.host);
        tlsFiles = {
          ca: r.caFile ? readCaFile(loaded.resolvePath(r.caFile)) : found.ca,
          clientCert: r.clientCert
            ? readClientCertificate(loaded.resolvePath(r.clientCert.certFile), loaded.resolvePath(r.clientCert.keyFile))
            : found.clientCert,
        };
      } catch (e) {
        throw new AirlockError('CONFIG_INVALID', `stage ${s.name}: registry TLS files: ${(e as Error).message}`);
      }
      cat.stages.set(s.name, {
        config: s,
        name: s.name,
        registry: s.registry.host,
        lookaside: new FileLookasideStore(loaded.resolvePath(s.lookaside.dir)),
        lookasideUrl: s.lookaside.publicUrl ?? `${base}/sigstore/${s.name}`,
        publicKey,
        publicKeyArmored,
        publicKeyFingerprint,
        sigstoreKey,
        registryTls: tlsFiles,
      });
    }
    return cat;
  }

  /** How to reach each stage's registry (insecure flag, credentials from env or file); other hosts get defaults. */
  registryOptions(): RegistryOptionsResolver {
    return (host) => {
      const s = this.list().find((x) => x.registry === host);
      if (!s) return {};
      const r = s.config.registry;
      const password = r.password ? readSecret(r.password, `stage ${s.name} registry password`, this.loaded.resolvePath) : undefined;
      return {
        insecure: r.insecure,
        ...s.registryTls,
        credentials: r.username && password ? { username: r.username, password } : undefined,
      };
    };
  }

  /** The stage whose key signs audit checkpoints. */
  auditStage(): Stage {
    const named = this.loaded.config.audit.stage;
    const s = named ? this.get(named) : this.list().find((x) => x.config.signing);
    if (!s?.config.signing) throw new AirlockError('KEY_MISSING', 'no stage key is configured to sign audit checkpoints (audit.stage)');
    return s;
  }

  list(): Stage[] {
    return [...this.stages.values()];
  }

  /** The stage named `name`, or STAGE_UNKNOWN. */
  get(name: string): Stage {
    const s = this.stages.get(name);
    if (!s)
      throw new AirlockError(
        'STAGE_UNKNOWN',
        `no stage named ${JSON.stringify(String(name).slice(0, 40))}; known: ${[...this.stages.keys()].join(', ')}`,
      );
    return s;
  }

  /** What clusters need to trust a stage; a stage with no key is an error, never an open policy. */
  trust(name: string): StageTrust {
    const s = this.get(name);
    if (!s.publicKeyArmored && !s.sigstoreKey)
      throw new AirlockError(
        'KEY_MISSING',
        `stage ${name} has no signing key configured; refusing to write a policy that would accept anything`,
      );
    return {
      stage: s.name,
      registry: s.registry,
      scopes: s.config.scopes,
      publicKeyArmored: s.publicKeyArmored,
      sigstorePublicKeyPem: s.sigstoreKey?.pem,
      lookasideUrl: s.lookasideUrl,
      mirrors: s.config.mirrors,
    };
  }

  /** OpenPGP public keys trusted for images arriving at `target` from `source` (simple signing). */
  async trustedKeysFor(target: string, source: string): Promise<Key[]> {
    return (await this.trustFor(target, source)).openpgp;
  }

  /** Every key trusted for images arriving at `target` from `source`, of both dialects. */
  trustFor(target: string, source: string): Promise<TrustedKeys> {
    const k = `${target}<${source}`;
    let p = this.trustCache.get(k);
    if (!p) {
      p = this.readTrustedKeys(target, source);
      p.catch(() => this.trustCache.delete(k));
      this.trustCache.set(k, p);
    }
    return p;
  }

  private async readTrustedKeys(target: string, source: string): Promise<TrustedKeys> {
    const t = this.get(target);
    const arrival = t.config.from.find((f) => f.stage === source);
    if (!arrival) throw new AirlockError('PROMOTION_ROUTE_UNKNOWN', `stage ${target} does not accept images from ${source}`);
    return readTrustedKeyFiles(
      arrival.trustedKeys.map((p) => this.loaded.resolvePath(p)),
      `stage ${target} trusted key for ${source}`,
    );
  }

  /**
   * The stage as the signer of what it receives, in each dialect it has a
   * key for: its public keys (to find its own signatures), its private keys
   * unlocked on first use, its lookaside (simple signing; sigstore
   * signatures go to the registry).
   */
  signer(name: string): ImageSigner {
    const s = this.get(name);
    if (!s.publicKey && !s.sigstoreKey) throw new AirlockError('KEY_MISSING', `stage ${name} has no signing key configured`);
    return {
      publicKeys: s.publicKey ? [s.publicKey] : [],
      key: () => this.signingKey(name),
      publishTo: s.lookaside,
      ...(s.sigstoreKey
        ? { sigstore: { publicKey: s.sigstoreKey, key: () => this.sigstoreSigningKey(name), attach: s.config.sigstore?.attach ?? 'tag' } }
        : {}),
    };
  }

  /** The stage sigstore private key, unlocked once per process (scrypt costs about 100 ms). */
  async sigstoreSigningKey(name: string): Promise<KeyObject> {
    let p = this.sigstoreKeyCache.get(name);
    if (!p) {
      const s = this.get(name);
      const k = s.config.sigstore;
      if (!k) throw new AirlockError('KEY_MISSING', `stage ${name} has no sigstore key configured`);
      p = readSigstorePrivateKeyFile(
        this.loaded.resolvePath(k.privateKey),
        () => readSecret(k.passphrase, `stage ${name} sigstore key passphrase`, this.loaded.resolvePath),
        `stage ${name} sigstore private key`,
      );
      p.catch(() => this.sigstoreKeyCache.delete(name));
      this.sigstoreKeyCache.set(name, p);
    }
    return p;
  }

  /**
   * The stage private key, unlocked once per process (passphrase from env or
   * file; unlocking costs the S2K work factor, so it is not repeated per
   * image). It stays in this process's memory only.
   */
  async signingKey(name: string, unlock?: KeyUnlocker): Promise<PrivateKey> {
    let p = this.keyCache.get(name);
    if (!p) {
      p = this.unlockKey(name, unlock);
      p.catch(() => this.keyCache.delete(name));
      this.keyCache.set(name, p);
    }
    return p;
  }

  private async unlockKey(name: string, unlock?: KeyUnlocker): Promise<PrivateKey> {
    const s = this.get(name);
    if (!s.config.signing) throw new AirlockError('KEY_MISSING', `stage ${name} has no signing key configured`);
    const signing = s.config.signing;
    return readPrivateKeyFile(
      this.loaded.resolvePath(signing.privateKey),
      () => readSecret(signing.passphrase, `stage ${name} key passphrase`, this.loaded.resolvePath),
      `stage ${name} private key`,
      unlock,
    );
  }
}
