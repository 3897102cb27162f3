import { Readable } from 'node:stream';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import * as openpgp from 'openpgp';
import { BundleError } from './errors';
import { nativeCfbPath } from './native-cfb';
import { CHUNK, Msg, PgpJob, WINDOW, gathered, threadSource, transferList } from './pgp-thread-program';

export type { PgpJob } from './pgp-thread-program';

/** Armored form of keys for the thread (a private key goes as it is held: unlocked). */
export const armored = (keys: (openpgp.Key | openpgp.PrivateKey)[]) => keys.map((k) => k.armor());

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
 * the other core.
 */
export const PGP_THREADS = Math.max(1, Math.min(availableParallelism() - 1, 4));

const newWorker = () =>
  new Worker(threadSource(), {
    eval: true,
    workerData: { window: WINDOW, chunk: CHUNK, openpgp: require.resolve('openpgp'), native: nativeCfbPath() },
    resourceLimits: { maxYoungGenerationSizeMb: 2 },
  });

function acquire(): Promise<Worker> {
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
const jobListeners = new WeakMap<Worker, [string, Parameters<Worker['off']>[1]][]>();

/** A worker back from a job: to the next waiting job, or idle; one that failed or was stopped is ended and replaced. */
function release(w: Worker, clean: boolean): void {
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

/**
 * Runs an OpenPGP job on a thread of a small pool, so that hashing and
 * encryption go on beside the reading, extracting and writing of the calling
 * thread (and, for the entries of a format-2 bundle, several at once).
 * Chunks of about 1 MiB travel a few at a time each way, moved rather than
 * copied when they own their buffer (never one of Node's shared pool).
 * `output` ends after the job's last byte; `done` settles with the job's
 * outcome (for `open`, the sender's fingerprint) or rejects with its code.
 * Input errors and `destroy()` of `output` stop the job and end its thread.
 * A thread's young generation is small: what frees a spent chunk's memory
 * is a collection, and with few JavaScript objects per MiB a large one
 * seldom comes.
 */
export function runPgpThread(job: PgpJob, input: Readable): { output: Readable; done: Promise<{ sender?: string }> } {
  let worker: Worker | undefined;
  let released = false;
  const finish = (clean: boolean) => {
    if (!worker || released) return;
    released = true;
    release(worker, clean);
  };
  let inFlight = 0;
  let resumeInput: (() => void) | undefined;
  let outcome: { sender?: string } | undefined;
  let failure: Error | undefined;
  let settle!: (v: { sender?: string }) => void;
  let reject!: (e: Error) => void;
  const done = new Promise<{ sender?: string }>((res, rej) => {
    settle = res;
    reject = rej;
  });
  done.catch(() => undefined); // the caller reads it after the output; a failure seen there is not unhandled
  // a chunk is acknowledged once the consumer has room for it: that is what lets the thread send the next
  let unacked = 0;
  let ended = false;
  let stopped = false;
  const output = new Readable({
    highWaterMark: 2 << 20,
    read() {
      for (; unacked > 0; unacked--) worker?.postMessage({ t: 'ack' });
    },
    destroy(err, cb) {
      // after its last byte the output goes away by itself, while the thread still checks the signature: only a failure stops it
      if (err || !ended) {
        stopped = true;
        input.destroy();
        finish(false);
      }
      cb(err);
    },
  });
  const stop = (e: Error) => {
    failure ??= e;
    reject(e);
    output.destroy(e);
  };
  const start = (w: Worker) => {
    worker = w;
    if (stopped) return finish(false);
    const onMessage = (m: Msg) => {
      if (m.t === 'data') {
        if (output.push(Buffer.from(m.chunk.buffer, m.chunk.byteOffset, m.chunk.byteLength))) w.postMessage({ t: 'ack' });
        else unacked++;
      } else if (m.t === 'ack') {
        inFlight--;
        resumeInput?.();
      } else if (m.t === 'end') {
        ended = true;
        output.push(null);
      } else if (m.t === 'done') {
        outcome = { sender: m.sender };
        settle(outcome);
        // a thread that ran a whole-message job is ended (its heap is large); one that sealed entries or unlocked a key is kept
        finish(job.op === 'cfb-seal' || job.op === 'cfb-open' || job.op === 'unlock');
      } else if (m.t === 'fail') {
        stop(new BundleError(m.code as never, m.message));
        finish(false);
      }
    };
    const onError = (e: Error) => stop(e);
    const onExit = () => {
      if (!outcome && !failure) stop(new Error('the OpenPGP thread stopped before it finished'));
    };
    w.on('message', onMessage);
    w.on('error', onError);
    w.on('exit', onExit);
    jobListeners.set(w, [
      ['message', onMessage],
      ['error', onError],
      ['exit', onExit],
    ] as never);
    w.postMessage({ t: 'job', job });
    const post = async (chunk: Buffer) => {
      while (inFlight >= WINDOW) await new Promise<void>((r) => (resumeInput = r));
      inFlight++;
      w.postMessage({ t: 'data', chunk }, transferList(chunk));
    };
    (async () => {
      for await (const chunk of gathered(input, CHUNK)) await post(chunk);
      w.postMessage({ t: 'end' });
    })().catch((e: Error) => {
      stop(e);
      finish(false);
    });
  };
  void acquire().then(start);
  return { output, done };
}

/**
 * Unlocks a private key on a thread of the pool (openpgp.decryptKey, whose
 * S2K hashing costs 100-150 ms here): a command can go on reading its
 * volumes meanwhile. The key comes back unlocked, as decryptKey gives it.
 */
export async function decryptKeyOnThread(key: openpgp.PrivateKey, passphrase: string): Promise<openpgp.PrivateKey> {
  const { output, done } = runPgpThread({ op: 'unlock', key: key.armor(), passphrase }, Readable.from([]));
  const parts: Buffer[] = [];
  for await (const c of output) parts.push(c as Buffer);
  await done;
  return openpgp.readPrivateKey({ armoredKey: Buffer.concat(parts).toString('utf8') });
}
