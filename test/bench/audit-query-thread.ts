import { parentPort, workerData } from 'node:worker_threads';
import { queryEvents } from '@airlock/audit';
import { openDatabase } from '@airlock/database';

/**
 * An auditor beside the appender: on its own read-only connection, one
 * filtered query (by digest, by actor, by time range in turn) every
 * `everyMs`, each timed, until told to stop; then the times, by kind.
 */
const { path, digests, actors, start, everyMs } = workerData as {
  path: string;
  digests: string[];
  actors: string[];
  start: number;
  everyMs: number;
};
const db = openDatabase(path, { readonly: true });
const times: Record<'digest' | 'actor' | 'time', number[]> = { digest: [], actor: [], time: [] };
let k = 0;
let stopped = false;
parentPort!.on('message', () => (stopped = true));
const head = () => (db.prepare('SELECT COALESCE(MAX(seq), 0) AS n FROM audit_events').get() as { n: number }).n;
const tick = () => {
  if (stopped) {
    db.close();
    parentPort!.postMessage(times);
    return;
  }
  const n = head();
  if (n > 10_000) {
    const t0 = process.hrtime.bigint();
    const kind = (['digest', 'actor', 'time'] as const)[k % 3];
    if (kind === 'digest') queryEvents(db, { digest: digests[k % digests.length] }, { limit: 100 });
    else if (kind === 'actor') queryEvents(db, { actor: actors[k % actors.length] }, { limit: 100 });
    else {
      // an hour somewhere in what is stored so far (one event per second)
      const s = start + ((k * 7919) % (n - 3600)) * 1000;
      queryEvents(db, { since: new Date(s).toISOString(), until: new Date(s + 3600_000).toISOString() }, { limit: 100 });
    }
    times[kind].push(Number(process.hrtime.bigint() - t0) / 1e6);
    k++;
  }
  setTimeout(tick, everyMs);
};
parentPort!.postMessage('ready');
tick();
