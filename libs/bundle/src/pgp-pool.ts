import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { nativeCfbPath } from './native-cfb';
import { CHUNK, Msg, WINDOW, threadSource } from './pgp-thread-program';

/*
 * The pool of OpenPGP threads, apart from runPgpThread (pgp-thread.ts) for
 * what it loads: nothing of openpgp on the calling thread. A command that
 * knows an OpenPGP job is coming (bundle inspect, import) starts a thread
 * through @airlock/bundle/warm before it loads anything else.
 */

/** Workers that finished a job cleanly wait here for the next (unreferenced: an idle pool keeps no process alive). */
const idle: Worker[] = [];
const waiting: ((w: Worker) => void)[] = [];
let live = 0;
/**
 * At most this many jobs run at once; the rest wait for a worker. One core
 * is left to the calling thread, which reads, hashes, writes and pushes
 * beside them. On two cores a second sealing thread made the export slower
 * and cost about 100 MiB of peak memory. A second opening thread made the
 * import of a GiB 10-20% faster with node:crypto's AES but took its peak
 * memory past 256 MiB (249-280 MiB); with the libcrypto opener
 * (native-cfb.ts) it gained nothing (6.75 s against 5.93 s for a GiB, 30.4
 * against 31.4-34.1 s for 4 GiB): the registry, taking in each blob, had
 * the other core. Again on a day the registry took a GiB at twice the CPU
 * (session 18, one after the other): 11.85 s and 236 MiB with two threads,
 * 8.94 s and 192 MiB with one.
 */
export const PGP_THREADS = Math.max(1, Math.min(availableParallelism() - 1, 4));

const newWorker = () =>
  new Worker(threadSource(), {
    eval: true,
    workerData: { window: WINDOW, chunk: CHUNK, openpgp: require.resolve('openpgp'), native: nativeCfbPath() },
    resourceLimits: { maxYoungGenerationSizeMb: 2 },
  });

/** How many threads wait in the pool for a job (for tests). */
export const idleThreads = (): number => idle.length;

export function acquire(): Promise<Worker> {
  const w = idle.pop();
  if (w) {
    for (const [ev, fn] of jobListeners.get(w) ?? []) w.off(ev, fn);
    w.ref();
    return Promise.resolve(w);
  }
  if (live < PGP_THREADS) {
    live++;
    return Promise.resolve(newWorker());
  }
  return new Promise((r) => waiting.push(r));
}

/** What a job listens to on its worker, removed when the job gives the worker back. */
export const jobListeners = new WeakMap<Worker, [string, Parameters<Worker['off']>[1]][]>();

/** A worker back from a job: to the next waiting job, or idle; one that failed or was stopped is ended and replaced. */
export function release(w: Worker, clean: boolean): void {
  for (const [ev, fn] of jobListeners.get(w) ?? []) w.off(ev, fn);
  jobListeners.delete(w);
  if (!clean) {
    void w.terminate();
    live--;
    const next = waiting.shift();
    if (next) {
      live++;
      next(newWorker());
    }
    return;
  }
  const next = waiting.shift();
  if (next) return next(w);
  const ignore = () => undefined;
  const gone = () => {
    const at = idle.indexOf(w);
    if (at >= 0) idle.splice(at, 1);
    live--;
  };
  w.on('error', ignore);
  w.once('exit', gone);
  jobListeners.set(w, [
    ['error', ignore],
    ['exit', gone],
  ]);
  w.unref();
  idle.push(w);
}

/**
 * Starts a thread and has it load openpgp before any job needs it, for a
 * command that knows an OpenPGP job comes once it has read its configuration
 * (opening a bundle's index): the two loads then go on side by side instead
 * of one after the other. Does nothing when a thread is already there.
 */
export function warmPgpThread(): void {
  if (live > 0) return;
  live++;
  const w = newWorker();
  w.postMessage({ t: 'warm' } satisfies Msg);
  release(w, true);
}
