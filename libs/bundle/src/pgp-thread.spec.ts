import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as openpgp from 'openpgp';
import { armored, runPgpThread } from './pgp-thread';
import { idleThreads } from './pgp-pool';

async function key(name: string) {
  const { privateKey } = await openpgp.generateKey({
    type: 'ecc',
    curve: 'ed25519Legacy',
    userIDs: [{ name }],
    format: 'object',
    config: { v6Keys: false },
  });
  return privateKey;
}

/** `total` random bytes in pieces of 64 KiB, with their SHA-256. */
function source(total: number): { stream: Readable; sha256: string } {
  const h = createHash('sha256');
  const parts: Buffer[] = [];
  for (let n = 0; n < total; n += 65536) parts.push(randomBytes(Math.min(65536, total - n)));
  for (const p of parts) h.update(p);
  return { stream: Readable.from(parts), sha256: h.digest('hex') };
}

/** A consumer that takes its time, keeping the hash of what it got and the most the producer ever had buffered. */
function slowSink(watch: Readable): { sink: Writable; sha256: () => string; maxBuffered: () => number } {
  const h = createHash('sha256');
  let max = 0;
  const sink = new Writable({
    highWaterMark: 1 << 20,
    write(c: Buffer, _e, cb) {
      h.update(c);
      max = Math.max(max, watch.readableLength);
      setTimeout(cb, 50);
    },
  });
  return { sink, sha256: () => h.digest('hex'), maxBuffered: () => max };
}

describe('OpenPGP on its own thread', () => {
  let sender: openpgp.PrivateKey;
  let importer: openpgp.PrivateKey;
  beforeAll(async () => {
    [sender, importer] = await Promise.all([key('sender'), key('importer')]);
  });

  it('seals and opens 32 MiB intact through a slow consumer, holding only a few chunks at a time', async () => {
    const src = source(32 << 20);
    const sealed = runPgpThread({ op: 'seal', signingKey: sender.armor(), encryptTo: armored([importer.toPublic()]) }, src.stream);
    const parts: Buffer[] = [];
    const slowSeal = slowSink(sealed.output);
    await pipeline(
      sealed.output,
      new Writable({
        write(c: Buffer, e, cb) {
          parts.push(c);
          slowSeal.sink.write(c, e, cb);
        },
      }),
    );
    await sealed.done;
    // the output's 2 MiB mark plus the chunks already on their way (at most 4, each gathered to 1-2 MiB)
    expect(slowSeal.maxBuffered()).toBeLessThan(10 << 20);

    const opened = runPgpThread(
      { op: 'open', decryptionKeys: armored([importer]), trustedSenders: armored([sender.toPublic()]), requireEncrypted: true },
      Readable.from(parts),
    );
    const slow = slowSink(opened.output);
    await pipeline(opened.output, slow.sink);
    expect(await opened.done).toEqual({ sender: sender.getFingerprint().toUpperCase() });
    expect(slow.sha256()).toBe(src.sha256);
    expect(slow.maxBuffered()).toBeLessThan(10 << 20);
  });

  it('reports a refusal by its code, and stops the thread when the reader goes away', async () => {
    const junk = runPgpThread(
      { op: 'open', decryptionKeys: armored([importer]), trustedSenders: armored([sender.toPublic()]), requireEncrypted: true },
      Readable.from([randomBytes(4096)]),
    );
    await expect(pipeline(junk.output, new Writable({ write: (_c, _e, cb) => cb() }))).rejects.toThrow();
    await expect(junk.done).rejects.toMatchObject({ code: 'BUNDLE_INVALID' });

    const endless = new Readable({ read: () => undefined });
    endless.push(randomBytes(4 << 20));
    const sealed = runPgpThread({ op: 'seal', signingKey: sender.armor(), encryptTo: [] }, endless);
    await new Promise((r) => sealed.output.once('readable', r));
    sealed.output.on('error', () => undefined);
    sealed.output.destroy(new Error('reader left'));
    await expect(sealed.done).rejects.toThrow();
    expect(endless.destroyed).toBe(true);
  });

  it('gives a thread back to the pool after a small whole message (an index), and ends one that sealed a large one', async () => {
    const all = async (t: ReturnType<typeof runPgpThread>) => {
      const parts: Buffer[] = [];
      for await (const c of t.output) parts.push(c as Buffer);
      await t.done;
      return Buffer.concat(parts);
    };
    const keys = { signingKey: sender.armor(), encryptTo: armored([importer.toPublic()]) };
    const index = await all(runPgpThread({ op: 'seal', ...keys }, Readable.from([randomBytes(4096)])));
    const idle = idleThreads();
    expect(idle).toBeGreaterThanOrEqual(1);
    const opened = runPgpThread(
      { op: 'open', decryptionKeys: armored([importer]), trustedSenders: armored([sender.toPublic()]), requireEncrypted: true },
      Readable.from([index]),
    );
    expect((await all(opened)).length).toBe(4096);
    expect(idleThreads()).toBe(idle);
    // more than 1 MiB through openpgp.js: that thread's heap is large, it ends
    await all(runPgpThread({ op: 'seal', ...keys }, source(2 << 20).stream));
    expect(idleThreads()).toBe(idle - 1);
  });
});
