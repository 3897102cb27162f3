import { Command, CommandRunner, Option } from 'nest-commander';
import { AirlockError } from '@airlock/common';
import { formatReference, manifestDigests } from '@airlock/oci';
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
  description: 'Verify the signatures of an image against pinned keys; exit 0 only when at least one signature (and one per platform manifest of an index) is accepted',
})
export class VerifyCommand extends CommandRunner {
  async run([reference]: string[], o: VerifyFlags): Promise<void> {
    if (!o.key?.length) throw new AirlockError('INVALID_ARGUMENT', 'at least one --key PUB is required (no key, no trust)');
    if (!o.lookaside) throw new AirlockError('INVALID_ARGUMENT', '--lookaside DIR|URL is required');
    const { FileLookasideStore, HttpLookaside, readPublicKeyFiles, evaluateSignatures } = lazy.signing();
    const keys: Key[] = await readPublicKeyFiles(o.key, '--key');
    const store: SignatureStore = /^https?:\/\//.test(o.lookaside) ? new HttpLookaside(o.lookaside) : new FileLookasideStore(o.lookaside);
    const rule = { type: o.identityRule ?? 'matchRepoDigestOrExact' } as IdentityRule;
    const image = await resolveImage(reference, !!o.insecure);
    const intended = formatReference({ ...image.ref, digest: image.ref.tag ? undefined : image.digest });
    const platforms = new Map(image.graph.manifests.map((m) => [m.digest, m.platform ? ` (${m.platform})` : m.digest === image.digest ? '' : ' (platform)']));
    const evaluated = await evaluateSignatures(manifestDigests(image.graph), { trustedKeys: keys, identityRule: rule, reference: intended, repository: image.ref.repository, store, signer: 'the given keys' });
    // the most specific refusal: a signature that exists but fails says why; SIGNATURE_REQUIRED only when there is none
    let refusal: { code: string; message: string } | undefined;
    for (const e of evaluated) {
      const label = `${e.digest}${platforms.get(e.digest) ?? ''}`;
      if (!e.signatures.length) process.stdout.write(`${label}: SIGNATURE_REQUIRED: no signatures in the lookaside\n`);
      for (const s of e.signatures) {
        if ('accepted' in s) process.stdout.write(`${label} signature-${s.n}: OK by ${s.accepted.keyFingerprint} as ${s.accepted.dockerReference}\n`);
        else process.stdout.write(`${label} signature-${s.n}: ${s.refusal.code}: ${s.refusal.message}\n`);
      }
      if (refusal || e.signatures.some((s) => 'accepted' in s)) continue;
      const first = e.signatures.find((s) => 'refusal' in s);
      refusal = first && 'refusal' in first ? { code: first.refusal.code, message: `${label} signature-${first.n}: ${first.refusal.message}` } : { code: 'SIGNATURE_REQUIRED', message: `no signature for ${formatReference(image.ref)} (${label}) in the lookaside` };
    }
    if (refusal) {
      process.stderr.write(`airlock: ${refusal.code}: ${refusal.message}\n`);
      process.exitCode = EXIT.signature;
    }
  }

  @Option({ flags: '--key <pub>', description: 'trusted public key file (repeatable)' })
  parseKey(v: string, prev: string[] = []): string[] {
    return [...prev, v];
  }
  @Option({ flags: '--lookaside <dirOrUrl>', description: 'lookaside folder or http(s) URL' })
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
