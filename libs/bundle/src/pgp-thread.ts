import { Readable } from 'node:stream';
import type { Worker } from 'node:worker_threads';
import * as openpgp from 'openpgp';
import { BundleError } from './errors';
import { acquire, jobListeners, release } from './pgp-pool';
import { CHUNK, Msg, PgpJob, WINDOW, gathered, transferList } from './pgp-thread-program';

export type { PgpJob } from './pgp-thread-program';
export { PGP_THREADS, warmPgpThread } from './pgp-pool';

/** Armored form of keys for the thread (a private key goes as it is held: unlocked). */
export const armored = (keys: (openpgp.Key | openpgp.PrivateKey)[]) => keys.map((k) => k.armor());

/** A thread that ran a whole-message job of at most this many bytes goes back to the pool. */
const KEPT_AFTER_MESSAGE = 1 << 20;

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
  let sent = 0;
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
        // a thread that ran a large whole-message job is ended (its heap is large); one that sealed or opened entries,
        // unlocked a key or opened a small message (a format-2 index) is kept: a new thread costs 60-100 ms to start
        finish(job.op === 'cfb-seal' || job.op === 'cfb-open' || job.op === 'unlock' || sent <= KEPT_AFTER_MESSAGE);
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
      sent += chunk.length;
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
