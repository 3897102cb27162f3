import { readFileSync, writeFileSync } from 'node:fs';
import type { Pipeline } from './pipeline';

/**
 * Two pipelines on either side of a gap: the high side's `qa` stage takes
 * the low side's QA registry as its own, in its host and in every mapping
 * written with `QAHOST`, so the identities the low side signs match there
 * (the high side never reaches that registry). Rewrites the configuration
 * only: a caller whose API runs restarts it.
 */
export function nameLowQa(high: Pipeline, lowQaHost: string): void {
  const cfg = readFileSync(high.config.path, 'utf8').replace(/QAHOST/g, lowQaHost);
  writeFileSync(
    high.config.path,
    cfg.replace(new RegExp(`(name: qa\\n\\s+registry:\\n\\s+host: )${high.registries.qa.host.replace(/\./g, '\\.')}`), `$1${lowQaHost}`),
  );
}
