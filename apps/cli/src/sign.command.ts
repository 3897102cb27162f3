import { Command, CommandRunner, Option } from 'nest-commander';
import { AirlockError } from '@airlock/common';
import { formatReference, manifestDigests, parseReference } from '@airlock/oci';
import { lazy } from './lazy';
import { readPassphrase } from './passphrase';
import { resolveImage } from './resolve-image';

interface SignFlags {
  key?: string;
  lookaside?: string;
  identity?: string;
  insecure?: boolean;
  passphraseEnv?: string;
}

@Command({
  name: 'sign',
  arguments: '<ref>',
  description: 'Sign an image (by the digest the registry serves now) into a lookaside folder; an index is signed together with each platform manifest',
})
export class SignCommand extends CommandRunner {
  async run([reference]: string[], o: SignFlags): Promise<void> {
    if (!o.key) throw new AirlockError('INVALID_ARGUMENT', '--key FILE (the private key) is required');
    if (!o.lookaside) throw new AirlockError('INVALID_ARGUMENT', '--lookaside DIR is required');
    const { FileLookasideStore, readPrivateKeyFile, sign, fingerprintOf } = lazy.signing();
    const key = await readPrivateKeyFile(o.key, () => readPassphrase(o.passphraseEnv ?? 'AIRLOCK_KEY_PASSPHRASE', 'key passphrase: '), '--key');
    const image = await resolveImage(reference, !!o.insecure);
    const identity = o.identity ? formatReference(parseReference(o.identity)) : formatReference({ ...image.ref, digest: undefined });
    const store = new FileLookasideStore(o.lookaside);
    for (const digest of manifestDigests(image.graph)) {
      const sig = await sign(digest, identity, key);
      const n = await store.add(image.ref.repository, digest, sig);
      process.stdout.write(`${digest} signature-${n} ${identity} ${fingerprintOf(key)}\n`);
    }
  }

  @Option({ flags: '--key <file>', description: 'private key file (passphrase from --passphrase-env or a prompt)' })
  parseKey(v: string): string {
    return v;
  }
  @Option({ flags: '--lookaside <dir>', description: 'lookaside folder to add the signature to' })
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
