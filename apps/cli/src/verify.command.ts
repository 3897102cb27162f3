import { Command, CommandRunner, Option } from 'nest-commander';
import { AirlockError } from '@airlock/common';
import { Registries, formatReference, manifestDigests } from '@airlock/oci';
import { cliRegistryOptions } from './registry-options';
import type { IdentityRule, SignatureStore } from '@airlock/signing';
import { lazy } from './lazy';
import type { Key } from 'openpgp';
import { resolveImage } from './resolve-image';
import { EXIT } from './exit-codes';

const RULES = ['matchRepoDigestOrExact', 'matchExact', 'matchRepository'];

interface VerifyFlags {
  key?: string[];
  lookaside?: string;
  identityRule?: string;
  insecure?: boolean;
}

@Command({
  name: 'verify',
  arguments: '<ref>',
  description:
    'Verify the signatures of an image against pinned keys; exit 0 only when at least one signature (and one per platform manifest of an index) is accepted',
})
export class VerifyCommand extends CommandRunner {
  async run([reference]: string[], o: VerifyFlags): Promise<void> {
    if (!o.key?.length) throw new AirlockError('INVALID_ARGUMENT', 'at least one --key PUB is required (no key, no trust)');
    const { FileLookasideStore, HttpLookaside, readTrustedKeyFiles, evaluateSignatures } = lazy.signing();
    // each key file says its dialect: OpenPGP keys check simple signatures in the lookaside, sigstore keys the signatures in the registry
    const trust = await readTrustedKeyFiles(o.key, '--key');
    if (trust.openpgp.length && !o.lookaside)
      throw new AirlockError('INVALID_ARGUMENT', '--lookaside DIR|URL is required to check signatures by an OpenPGP key');
    const keys: Key[] = trust.openpgp;
    const store: SignatureStore = !o.lookaside
      ? { list: async () => [] }
      : /^https?:\/\//.test(o.lookaside)
        ? new HttpLookaside(o.lookaside)
        : new FileLookasideStore(o.lookaside);
    const rule = { type: o.identityRule ?? 'matchRepoDigestOrExact' } as IdentityRule;
    const image = await resolveImage(reference, !!o.insecure);
    const intended = formatReference({ ...image.ref, digest: image.ref.tag ? undefined : image.digest });
    const platforms = new Map(
      image.graph.manifests.map((m) => [m.digest, m.platform ? ` (${m.platform})` : m.digest === image.digest ? '' : ' (platform)']),
    );
    const regs = new Registries(cliRegistryOptions(o.insecure ? [image.ref.registry] : []));
    let evaluated: Awaited<ReturnType<typeof evaluateSignatures>>;
    try {
      const sigstoreStore = trust.sigstore.length
        ? new (lazy.promotion().RegistrySigstoreStore)(regs.client(image.ref.registry))
        : undefined;
      evaluated = await evaluateSignatures(manifestDigests(image.graph), {
        trustedKeys: keys,
        sigstoreKeys: trust.sigstore,
        sigstoreStore,
        identityRule: rule,
        reference: intended,
        repository: image.ref.repository,
        store,
        signer: 'the given keys',
      });
    } finally {
      await regs.close();
    }
    // the most specific refusal: a signature that exists but fails says why; SIGNATURE_REQUIRED only when there is none
    let refusal: { code: string; message: string } | undefined;
    for (const e of evaluated) {
      const label = `${e.digest}${platforms.get(e.digest) ?? ''}`;
      const where = [trust.openpgp.length ? 'the lookaside' : '', trust.sigstore.length ? 'the registry' : ''].filter(Boolean).join(' or ');
      if (!e.signatures.length) process.stdout.write(`${label}: SIGNATURE_REQUIRED: no signatures in ${where}\n`);
      for (const s of e.signatures) {
        const name = `${s.dialect === 'sigstore' ? 'sigstore' : 'signature'}-${s.n}`;
        if ('accepted' in s)
          process.stdout.write(`${label} ${name}: OK by ${s.accepted.keyFingerprint} as ${s.accepted.dockerReference}\n`);
        else process.stdout.write(`${label} ${name}: ${s.refusal.code}: ${s.refusal.message}\n`);
      }
      if (refusal || e.signatures.some((s) => 'accepted' in s)) continue;
      const first = e.signatures.find((s) => 'refusal' in s);
      refusal =
        first && 'refusal' in first
          ? {
              code: first.refusal.code,
              message: `${label} ${first.dialect === 'sigstore' ? 'sigstore' : 'signature'}-${first.n}: ${first.refusal.message}`,
            }
          : { code: 'SIGNATURE_REQUIRED', message: `no signature for ${formatReference(image.ref)} (${label}) in ${where}` };
    }
    if (refusal) {
      process.stderr.write(`airlock: ${refusal.code}: ${refusal.message}\n`);
      process.exitCode = EXIT.signature;
    }
  }

  @Option({ flags: '--key <pub>', description: 'trusted public key file, OpenPGP or sigstore (PEM), told apart by content (repeatable)' })
  parseKey(v: string, prev: string[] = []): string[] {
    return [...prev, v];
  }
  @Option({
    flags: '--lookaside <dirOrUrl>',
    description: 'lookaside folder or http(s) URL (for OpenPGP keys; sigstore signatures are read from the registry)',
  })
  parseLookaside(v: string): string {
    return v;
  }
  @Option({ flags: '--identity-rule <rule>', description: `${RULES.join(' | ')} (default matchRepoDigestOrExact)` })
  parseRule(v: string): string {
    if (!RULES.includes(v)) throw new AirlockError('INVALID_ARGUMENT', `--identity-rule must be one of ${RULES.join(', ')}`);
    return v;
  }
  @Option({ flags: '--insecure', description: 'allow plain HTTP or unverified TLS to the registry' })
  parseInsecure(): boolean {
    return true;
  }
}
