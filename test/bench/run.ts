import { copyBench } from './copy.bench';
import { signingBench } from './signing.bench';
import { promotionBench } from './promotion.bench';
import { auditBench } from './audit.bench';
import { bundleBench } from './bundle.bench';
import { loadBench } from './load.bench';
import { startupBench } from './startup.bench';

const BENCHES: Record<string, () => Promise<void>> = {
  copy: copyBench,
  signing: signingBench,
  promotion: promotionBench,
  audit: auditBench,
  bundle: bundleBench,
  load: loadBench,
  startup: startupBench,
};

/** Runs the named benchmarks (all when none is named). */
export async function main(args: string[]): Promise<void> {
  const names = args.filter((a) => a && !a.startsWith('-'));
  const chosen = names.length ? names : Object.keys(BENCHES);
  for (const n of chosen) {
    const b = BENCHES[n];
    if (!b) throw new Error(`unknown benchmark ${n}; known: ${Object.keys(BENCHES).join(', ')}`);
    console.log(`# benchmark: ${n}`);
    await b();
  }
}
