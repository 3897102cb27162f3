import { Command, CommandRunner, Option } from 'nest-commander';
import { AirlockError } from '@airlock/common';
import { Registries, formatReference, manifestDigests, parseReference } from '@airlock/oci';
import { cliRegistryOptions } from './registry-options';
import { lazy } from './lazy';
import { readPassphrase } from './passphrase';
import { resolveImage } from './resolve-image';

interface SignFlags {
  key?: string;
  attach?: 'tag' | 'referrer' | 'both';
  lookaside?: string;
  identity?: string;
  insecure?: boolean;
  passphraseEnv?: string;
}

@Command({
  name: 'sign',
  arguments: '<ref>',
  description:
    'Sign an image (by the digest the registry serves now): with an OpenPGP key into a lookaside folder, with a sigstore key into the registry (the cosign tag form); an index is signed together with each platform manifest',
})
export class SignCommand extends CommandRunner {
  async run([reference]: string[], o: SignFlags): Promise<void> {
    if (!o.key) throw new AirlockError('INVALID_ARGUMENT', '--key FILE (the private key) is required');
    const { readFileSync } = await import('node:fs');
    let head: Buffer;
    try {
      head = readFileSync(o.key);
    } catch (e) {
      throw new AirlockError('KEY_MISSING', `--key: cannot read ${o.key}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    if (lazy.signing().isSigstoreKeyFile(head)) return this.signSigstore(reference, o);
    if (!o.lookaside) throw new AirlockError('INVALID_ARGUMENT', '--lookaside DIR is required');
    const { FileLookasideStore, readPrivateKeyFile, sign, fingerprintOf } = lazy.signing();
    const key = await readPrivateKeyFile(
      o.key,
      () => readPassphrase(o.passphraseEnv ?? 'AIRLOCK_KEY_PASSPHRASE', 'key passphrase: '),
      '--key',
    );
    const image = await resolveImage(reference, !!o.insecure);
    const identity = o.identity ? formatReference(parseReference(o.identity)) : formatReference({ ...image.ref, digest: undefined });
    const store = new FileLookasideStore(o.lookaside);
    for (const digest of manifestDigests(image.graph)) {
      const sig = await sign(digest, identity, key);
      const n = await store.add(image.ref.repository, digest, sig);
      process.stdout.write(`${digest} signature-${n} ${identity} ${fingerprintOf(key)}\n`);
    }
  }

  /** As `cosign sign --key` does, without a transparency log: one layer per manifest in `sha256-<hex>.sig`, the identity the repository. */
  private async signSigstore(reference: string, o: SignFlags): Promise<void> {
    if (o.lookaside)
      throw new AirlockError('INVALID_ARGUMENT', '--lookaside is for OpenPGP keys: sigstore signatures go into the registry');
    const { readSigstorePrivateKeyFile, signSigstore, sigstoreFingerprint, buildSigstoreBundle } = lazy.signing();
    const key = await readSigstorePrivateKeyFile(
      o.key as string,
      () => readPassphrase(o.passphraseEnv ?? 'AIRLOCK_KEY_PASSPHRASE', 'key passphrase: '),
      '--key',
    );
    const image = await resolveImage(reference, !!o.insecure);
    const repository = o.identity
      ? formatReference({ ...parseReference(o.identity), tag: undefined, digest: undefined })
      : formatReference({ ...image.ref, tag: undefined, digest: undefined });
    const { createPublicKey } = await import('node:crypto');
    const publicKey = createPublicKey(key);
    const fingerprint = sigstoreFingerprint(publicKey);
    const forms = o.attach === 'both' ? ['tag', 'referrer'] : [o.attach ?? 'tag'];
    const regs = new Registries(cliRegistryOptions(o.insecure ? [image.ref.registry] : []));
    try {
      const store = new (lazy.promotion().RegistrySigstoreStore)(regs.client(image.ref.registry));
      for (const form of forms) {
        for (const digest of manifestDigests(image.graph)) {
          if (form === 'tag') {
            const r = await store.add(image.ref.repository, digest, signSigstore(digest, repository, key));
            process.stdout.write(`${digest} sigstore-${r.n} ${repository} ${fingerprint}\n`);
          } else {
            const r = await store.addReferrer(image.ref.repository, digest, buildSigstoreBundle(digest, repository, key, publicKey));
            process.stdout.write(`${digest} referrer-${r.n} ${repository} ${fingerprint}\n`);
          }
        }
      }
    } finally {
      await regs.close();
    }
  }

  @Option({
    flags: '--key <file>',
    description: 'private key file, OpenPGP or sigstore (told apart by content; passphrase from --passphrase-env or a prompt)',
  })
  parseKey(v: string): string {
    return v;
  }
  @Option({
    flags: '--attach <form>',
    description:
      'sigstore keys: tag (default, sha256-<hex>.sig, cosign 1.x/2.x), referrer (a sigstore bundle as an OCI 1.1 referrer, cosign 3) or both',
  })
  parseAttach(v: string): 'tag' | 'referrer' | 'both' {
    if (!['tag', 'referrer', 'both'].includes(v)) throw new AirlockError('INVALID_ARGUMENT', '--attach must be tag, referrer or both');
    return v as 'tag' | 'referrer' | 'both';
  }
  @Option({ flags: '--lookaside <dir>', description: 'lookaside folder to add the signature to (OpenPGP keys)' })
  parseLookaside(v: string): string {
    return v;
  }
  @Option({ flags: '--identity <ref>', description: 'identity to sign (default: REF itself, with its tag)' })
  parseIdentity(v: string): string {
    return v;
  }
  @Option({ flags: '--insecure', description: 'allow plain HTTP or unverified TLS to the registry' })
  parseInsecure(): boolean {
    return true;
  }
  @Option({ flags: '--passphrase-env <var>', description: 'environment variable holding the passphrase (default AIRLOCK_KEY_PASSPHRASE)' })
  parsePassphraseEnv(v: string): string {
    return v;
  }
}
