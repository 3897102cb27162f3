import { readFileSync } from 'node:fs';
import { Command, CommandRunner, Option } from 'nest-commander';
import { AirlockError, isAirlockError } from '@airlock/common';
import { formatReference } from '@airlock/oci';
import type { IdentityRule, LookasideReader } from '@airlock/signing';
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
    const { FileLookasideStore, HttpLookaside, readPublicKeys, verify } = lazy.signing();
    const keys: Key[] = [];
    for (const f of o.key) {
      try {
        keys.push(...(await readPublicKeys(readFileSync(f))));
      } catch (e) {
        if (isAirlockError(e)) throw e;
        throw new AirlockError('KEY_MISSING', `cannot read key ${f}: ${(e as NodeJS.ErrnoException).code}`);
      }
    }
    const reader: LookasideReader = /^https?:\/\//.test(o.lookaside) ? new HttpLookaside(o.lookaside) : new FileLookasideStore(o.lookaside);
    const rule = { type: o.identityRule ?? 'matchRepoDigestOrExact' } as IdentityRule;
    const image = await resolveImage(reference, !!o.insecure);
    const intended = formatReference({ ...image.ref, digest: image.ref.tag ? undefined : image.digest });
    let allOk = true;
    for (const target of [{ digest: image.digest, label: '' }, ...image.platforms.map((p) => ({ digest: p.digest, label: ` (${p.platform ?? 'platform'})` }))]) {
      const sigs = await reader.list(image.ref.repository, target.digest);
      let accepted = 0;
      if (!sigs.length) process.stdout.write(`${target.digest}${target.label}: SIGNATURE_REQUIRED: no signatures in the lookaside\n`);
      for (const [i, sig] of sigs.entries()) {
        try {
          const v = await verify(sig, { trustedKeys: keys, manifestDigest: target.digest, reference: intended, identityRule: rule });
          accepted++;
          process.stdout.write(`${target.digest}${target.label} signature-${i + 1}: OK by ${v.keyFingerprint} as ${v.dockerReference}\n`);
        } catch (e) {
          const code = isAirlockError(e) ? e.code : 'INTERNAL';
          process.stdout.write(`${target.digest}${target.label} signature-${i + 1}: ${code}: ${(e as Error).message}\n`);
        }
      }
      if (!accepted) allOk = false;
    }
    if (!allOk) {
      process.stderr.write(`airlock: SIGNATURE_REQUIRED: no accepted signature for ${formatReference(image.ref)} (${image.digest})\n`);
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
