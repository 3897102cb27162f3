import { AirlockError } from '@airlock/common';
import type { LoadedConfig } from '@airlock/common/config';
import { lazy } from './lazy';
import { count } from './plural';

/**
 * Reads every key file and secret a configuration names and unlocks each
 * private key once (libs/promotion config-secrets-check.ts); each problem goes
 * to standard error on its own line, field first, and the lot is one
 * CONFIG_INVALID error. `config check` runs it, and so do `serve`, `api` and
 * `worker` before they start anything: a missing passphrase file, a wrong
 * passphrase or a missing key stops the process at boot, not at the first
 * promotion that needs it.
 */
export async function requireKeysAndSecrets(loaded: LoadedConfig, consequence: string): Promise<void> {
  const problems = await lazy.promotion().checkKeysAndSecrets(loaded);
  if (!problems.length) return;
  for (const p of problems) process.stderr.write(`${p.message} (${p.code})\n`);
  throw new AirlockError(
    'CONFIG_INVALID',
    `${loaded.path}: ${count(problems.length, 'problem')} with keys and secrets (listed above)${consequence}`,
    {
      problems,
    },
  );
}
