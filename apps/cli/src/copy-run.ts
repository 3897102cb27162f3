import { readFileSync } from 'node:fs';
import { AirlockError } from '@airlock/common';
import { CopyEngine, CopyResult, Limiter, Registries, RegistryRepository, copyAttachments, parseReference } from '@airlock/oci';
import { parseCopyList, CopyPair } from './copy-list';
import { cliRegistryOptions } from './registry-options';
import { ProgressReporter } from './progress';
import { EXIT, errorLine } from './exit-codes';
import type { CopyFlags } from './copy-options';

/** `airlock copy`: one SRC DST pair or a --list of them, copied by digest; exit 7 when some of a list failed. */
export async function runCopy(params: string[], flags: CopyFlags): Promise<void> {
  let pairs: CopyPair[];
  if (flags.list) {
    if (params.length) throw new AirlockError('INVALID_ARGUMENT', 'give either SRC DST or --list FILE, not both');
    let text: string;
    try {
      text = readFileSync(flags.list, 'utf8');
    } catch (e) {
      throw new AirlockError('INVALID_ARGUMENT', `cannot read copy list ${flags.list}: ${(e as Error).message}`);
    }
    pairs = parseCopyList(text);
  } else {
    if (params.length !== 2)
      throw new AirlockError('INVALID_ARGUMENT', 'usage: airlock copy [options] SRC DST (or --list FILE); see airlock copy --help');
    pairs = [{ src: params[0], dst: params[1], line: 0 }];
  }
  const refs = pairs.map((p) => ({ ...p, srcRef: parseReference(p.src), dstRef: parseReference(p.dst, { defaultTag: false }) }));
  const insecure = new Set<string>();
  const certDirs = new Map<string, string>();
  for (const r of refs) {
    if (flags.srcInsecure) insecure.add(r.srcRef.registry);
    if (flags.destInsecure) insecure.add(r.dstRef.registry);
    if (flags.srcCertDir) certDirs.set(r.srcRef.registry, flags.srcCertDir);
    if (flags.destCertDir) certDirs.set(r.dstRef.registry, flags.destCertDir);
  }
  const concurrency = flags.concurrency ?? 4;
  const registries = new Registries(
    cliRegistryOptions(insecure, { connections: Math.max(16, concurrency * 2), ...(flags.quiet ? { onRetry: undefined } : {}) }, certDirs),
  );
  const engine = new CopyEngine(registries, { concurrency });
  const progress = new ProgressReporter(pairs.length === 1 ? 'copying' : `copying ${pairs.length} images`, process.stderr, flags.quiet);
  const totals = new Map<number, { done: number; total: number }>();
  const onProgress = (i: number) => (p: { bytesDone: number; bytesTotal: number }) => {
    totals.set(i, { done: p.bytesDone, total: p.bytesTotal });
    let d = 0;
    let t = 0;
    for (const v of totals.values()) {
      d += v.done;
      t += v.total;
    }
    progress.update(d, t);
  };
  const images = new Limiter(Math.max(1, Math.min(8, concurrency * 2)));
  const failures: string[] = [];
  const results: CopyResult[] = [];
  try {
    await Promise.all(
      refs.map((r, i) =>
        images.run(async () => {
          try {
            const copied = await engine.copyImage(r.srcRef, r.dstRef, { onProgress: onProgress(i) });
            // what cosign attached to the image travels with it, unless --no-attachments
            const attachments =
              flags.attachments === false
                ? []
                : await copyAttachments(
                    engine,
                    new RegistryRepository(registries.client(r.srcRef.registry), r.srcRef.repository),
                    new RegistryRepository(registries.client(r.dstRef.registry), r.dstRef.repository),
                    copied.digest,
                  );
            const res = { ...copied, attachments };
            results.push(res);
            progress.stop();
            process.stdout.write(flags.json ? JSON.stringify(res) + '\n' : `${res.digest} ${res.destination.replace(/@sha256:.*$/, '')}\n`);
          } catch (e) {
            if (pairs.length === 1) throw e;
            progress.stop();
            failures.push(`line ${r.line}: ${errorLine(e).replace(/^airlock: /, '')}`);
          }
        }),
      ),
    );
  } finally {
    progress.stop();
    await engine.close();
  }
  if (failures.length) {
    for (const f of failures) process.stderr.write(`airlock: copy failed: ${f}\n`);
    process.stderr.write(`airlock: ${results.length} of ${pairs.length} images copied\n`);
    process.exitCode = EXIT.partial;
  }
}
