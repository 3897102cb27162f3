import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { Db, SQLITE_DRIVER_PATH } from '@airlock/database';
import { bodyFromFields } from './audit-log';
import { ChainReport, joinSegments, storedHead, verifyStoredChain } from './chain-verifier';
import { Segment, checkSegment } from './chain-segment';

/** Below this many events one thread is quicker than starting others (each loads the SQLite driver and opens the file). */
const PARALLEL_FROM = 200_000;

/** The threads' program: the segment check and the canonical body from their source, then one segment read through a read-only connection. */
const threadSource = (): string =>
  [bodyFromFields, checkSegment].map((f) => f.toString()).join('\n') +
  `
const { parentPort, workerData: w } = require('node:worker_threads');
const { hash } = require('node:crypto');
const Database = require(w.driver);
const db = new Database(w.path, { readonly: true, fileMustExist: true });
try {
  // chainHash (audit-log.ts), which names node:crypto from outside this source
  parentPort.postMessage(checkSegment(db, w.from, w.to, w.remember, (prev, body) => hash('sha256', prev + body), bodyFromFields));
} finally {
  db.close();
}`;

function segmentOnThread(path: string, from: number, to: number, remember: number[]): Promise<Segment> {
  return new Promise((resolve, reject) => {
    const w = new Worker(threadSource(), { eval: true, workerData: { driver: SQLITE_DRIVER_PATH, path, from, to, remember } });
    let got: Segment | undefined;
    w.once('message', (s: Segment) => (got = s));
    w.once('error', reject);
    w.once('exit', (code) => (got ? resolve(got) : reject(new Error(`a chain verification thread exited with ${code} before answering`))));
  });
}

/**
 * Walks the whole stored chain, a long one on several threads: each checks a
 * run of events (their hashes depend only on what each row stores), then the
 * links between runs are checked here. Events appended meanwhile are left to
 * the next verification. Same report as verifyStoredChain.
 */
export async function verifyStoredChainInParallel(
  db: Db,
  remember: Set<number> = new Set(),
  o: { threads?: number; parallelFrom?: number } = {},
): Promise<{ report: ChainReport; remembered: Map<number, string> }> {
  const threads = o.threads ?? availableParallelism();
  const n = storedHead(db);
  if (n < (o.parallelFrom ?? PARALLEL_FROM) || threads < 2 || db.memory) return verifyStoredChain(db, remember);
  const cuts = Array.from({ length: threads + 1 }, (_, i) => Math.round((n * i) / threads));
  const want = [...remember];
  const segments = await Promise.all(
    cuts.slice(1).map((to, i) => {
      const from = cuts[i] + 1;
      return segmentOnThread(
        db.name,
        from,
        to,
        want.filter((s) => s >= from && s <= to),
      );
    }),
  );
  return joinSegments(segments);
}
