import type * as openpgp from 'openpgp';
import type { CfbOpen, CfbSealer } from './native-cfb';
import { packetLength, seipdOpener, seipdSealer } from './seipd';

/*
 * The OpenPGP threads' side: the program each thread runs, and the message
 * protocol it shares with the pool in pgp-thread.ts.
 */

/** What the thread does: sign and encrypt (or only sign) a stream, or decrypt (when encrypted) and verify one. */
export type PgpJob =
  | { op: 'seal'; signingKey: string; encryptTo: string[] }
  | { op: 'open'; decryptionKeys: string[]; trustedSenders: string[]; requireEncrypted: boolean }
  /** One entry of a format-2 bundle, `size` plain bytes: after `head` (the session key packets), one SEIPD v1 packet holding one literal packet, sealed with `key` (seipd.ts). */
  | { op: 'cfb-seal'; key: Uint8Array; head: Uint8Array; size: number }
  /** The same opened: `skip` bytes of session key packets, then exactly that SEIPD v1 packet; its plain data out, its MDC checked at the end. */
  | { op: 'cfb-open'; key: Uint8Array; skip: number }
  /** A locked private key (armored) unlocked with its passphrase (the S2K hashing is most of a command's key work); out: the unlocked key, armored. */
  | { op: 'unlock'; key: string; passphrase: string };

/** Messages between the two sides: data both ways in chunks of about CHUNK bytes, an ack per chunk taken (at most WINDOW in flight each way). */
export type Msg =
  | { t: 'job'; job: PgpJob }
  | { t: 'warm' }
  | { t: 'data'; chunk: Uint8Array }
  | { t: 'end' }
  | { t: 'ack' }
  | { t: 'done'; sender?: string }
  | { t: 'fail'; code: string; message: string };

export const WINDOW = 4;
export const CHUNK = 1 << 20;

/*
 * The helpers below serve both sides: the thread's source text is built from
 * them and threadMain (see threadSource), so each exists once. They name
 * nothing outside themselves, and coverage tools must leave them as written
 * (their counters do not exist in the thread).
 */

/**
 * The chunks of `src` gathered into pieces of at least `size` bytes (the
 * last may be smaller): the cost per chunk (a message, a web stream step) is
 * then paid rarely. A chunk of half that size or more goes on as it is,
 * after what was gathered before it: never copied, and its boundaries kept
 * (a sealed entry's cipher blocks stay aligned, see openEntry).
 */
/* istanbul ignore next */
export async function* gathered(src: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Buffer> {
  let parts: Uint8Array[] = [];
  let n = 0;
  for await (const chunk of src) {
    if (chunk.byteLength >= size / 2) {
      if (n) yield Buffer.concat(parts, n);
      parts = [];
      n = 0;
      yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      continue;
    }
    parts.push(chunk);
    n += chunk.byteLength;
    if (n < size) continue;
    yield Buffer.concat(parts, n);
    parts = [];
    n = 0;
  }
  if (n) yield Buffer.concat(parts, n);
}

/** What to transfer with a chunk: its buffer when the chunk is the whole of it (Buffer.concat at 1 MiB, never Node's shared pool), so it moves instead of being copied. */
/* istanbul ignore next */
export function transferList(c: Uint8Array): ArrayBuffer[] {
  return c.byteOffset === 0 && c.byteLength === c.buffer.byteLength ? [c.buffer as ArrayBuffer] : [];
}

/**
 * The thread's side. It runs from its own source text (a worker started with
 * `eval`), so it names nothing outside itself: openpgp comes by the path the
 * parent resolved. Outcomes travel as codes and one-line messages.
 */
/* istanbul ignore next */
function threadMain(h: { seipdSealer: typeof seipdSealer; seipdOpener: typeof seipdOpener }): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const threads = require('node:worker_threads') as typeof import('node:worker_threads');
  const parentPort = threads.parentPort;
  const workerData = threads.workerData as { openpgp: string; window: number; chunk: number; native?: string };
  // AES-256-CFB built against the system's libcrypto (native-cfb.ts), when there is one that loads; loaded by the first
  // entry sealed or opened (loading libcrypto costs about 10 ms, which a thread that only unlocks a key need not pay)
  type NativeAes = { cfbOpen?: CfbOpen; cfbSealer?: CfbSealer };
  let native: NativeAes | undefined;
  const nativeAes = (): NativeAes => {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      native ??= workerData.native ? (require(workerData.native) as NativeAes) : {};
    } catch {
      native = {};
    }
    return native;
  };
  // openpgp is loaded by the first job that needs it: a thread that only seals or opens entries (node:crypto) stays small
  let loaded: typeof openpgp | undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const lib = () => (loaded ??= require(workerData.openpgp) as typeof openpgp);
  const port = parentPort as import('node:worker_threads').MessagePort;
  // one job at a time, each with its own input; a worker that finished a job cleanly takes the next
  let queue: Uint8Array[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  let credit = 0;
  let more: (() => void) | undefined;
  let input!: ReadableStream<Uint8Array>;
  port.on('message', (m: Msg) => {
    // told early that an OpenPGP job is coming: load openpgp now, while the caller is busy starting up
    if (m.t === 'warm') return void lib();
    if (m.t === 'job') {
      queue = [];
      ended = false;
      credit = workerData.window;
      input = new ReadableStream<Uint8Array>({
        async pull(ctrl) {
          while (!queue.length && !ended) await new Promise<void>((r) => (wake = r));
          const c = queue.shift();
          if (c) {
            ctrl.enqueue(c);
            port.postMessage({ t: 'ack' });
          } else ctrl.close();
        },
      });
      run(m.job);
      return;
    }
    if (m.t === 'data') queue.push(m.chunk);
    else if (m.t === 'end') ended = true;
    else if (m.t === 'ack') {
      credit++;
      more?.();
    }
    wake?.();
  });
  const post = async (chunk: Uint8Array) => {
    while (credit <= 0) await new Promise<void>((r) => (more = r));
    credit--;
    port.postMessage({ t: 'data', chunk }, transferList(chunk));
  };
  const send = async (out: AsyncIterable<Uint8Array>) => {
    for await (const chunk of gathered(out, workerData.chunk)) await post(chunk);
    port.postMessage({ t: 'end' });
  };
  const fail = (code: string, message: string) => port.postMessage({ t: 'fail', code, message });
  // a worker runs many entries' jobs with the same keys: each is parsed once
  const keys = new Map<string, Promise<openpgp.Key>>();
  const privateKeys = new Map<string, Promise<openpgp.PrivateKey>>();
  const cached = <K>(m: Map<string, Promise<K>>, k: string, read: () => Promise<K>) =>
    m.get(k) ?? (m.set(k, read()), m.get(k) as Promise<K>);
  const readKeys = (armored: string[]) => Promise.all(armored.map((k) => cached(keys, k, () => lib().readKey({ armoredKey: k }))));
  const readPrivate = (armored: string[]) =>
    Promise.all(armored.map((k) => cached(privateKeys, k, () => lib().readPrivateKey({ armoredKey: k }))));

  async function seal(j: Extract<PgpJob, { op: 'seal' }>): Promise<void> {
    const [signingKey] = await readPrivate([j.signingKey]);
    const message = await lib().createMessage({ binary: input, format: 'binary' });
    const config = { preferredCompressionAlgorithm: lib().enums.compression.uncompressed };
    const signingKeyIDs = [signingKey.getKeyID()];
    const out: unknown = j.encryptTo.length
      ? await lib().encrypt({
          message,
          encryptionKeys: await readKeys(j.encryptTo),
          signingKeys: signingKey,
          signingKeyIDs,
          format: 'binary',
          config,
        })
      : await lib().sign({ message, signingKeys: signingKey, signingKeyIDs, format: 'binary', config });
    await send(out as unknown as AsyncIterable<Uint8Array>);
    port.postMessage({ t: 'done' });
  }

  /**
   * What may stand inside a bundle's message, checked before a byte of it is
   * passed on: one one-pass signature by a pinned sender key, then the
   * literal data. Compressed data is refused outright (airlock never writes
   * it, and it would let a few KiB expand to anything before the signature
   * at the end is checked); an unsigned message or one that names another
   * key is refused before anything reaches the staging folder.
   */
  function shapeProblem(
    packets: openpgp.PacketList<openpgp.AnyPacket>,
    trusted: openpgp.Key[],
  ): { code: string; message: string } | undefined {
    const tags = Array.from(packets, (p) => (p.constructor as unknown as { tag: openpgp.enums.packet }).tag);
    if (tags.includes(lib().enums.packet.compressedData))
      return {
        code: 'BUNDLE_COMPRESSED',
        message: 'the bundle holds OpenPGP compressed data, which airlock never writes; refusing it unread',
      };
    const ops = Array.from(packets).filter(
      (p) => (p.constructor as unknown as { tag: openpgp.enums.packet }).tag === lib().enums.packet.onePassSignature,
    ) as unknown as { issuerKeyID: openpgp.KeyID }[];
    if (ops.length !== 1 || tags[0] !== lib().enums.packet.onePassSignature || tags[1] !== lib().enums.packet.literalData)
      return {
        code: 'BUNDLE_UNTRUSTED_SENDER',
        message: `the bundle carries ${ops.length} one-pass signatures before its data; exactly one sender signature is required`,
      };
    const id = ops[0].issuerKeyID;
    if (!trusted.some((k) => k.getKeys(id).length > 0))
      return {
        code: 'BUNDLE_UNTRUSTED_SENDER',
        message: `the bundle is signed by key ${id.toHex().toUpperCase()}, which is not a pinned sender key for this channel`,
      };
    return undefined;
  }

  async function open(j: Extract<PgpJob, { op: 'open' }>): Promise<void> {
    const trusted = await readKeys(j.trustedSenders);
    let message: openpgp.Message<ReadableStream<Uint8Array>>;
    try {
      message = (await lib().readMessage({ binaryMessage: input })) as never;
    } catch (e) {
      return fail('BUNDLE_INVALID', `not an OpenPGP message: ${(e as Error).message}`);
    }
    const tags = [
      lib().enums.packet.publicKeyEncryptedSessionKey,
      lib().enums.packet.symEncryptedIntegrityProtectedData,
      lib().enums.packet.aeadEncryptedData,
    ];
    const encrypted = message.packets.some((p) => tags.includes((p.constructor as unknown as { tag: openpgp.enums.packet }).tag));
    if (j.requireEncrypted && !encrypted) return fail('BUNDLE_INVALID', 'this channel requires encrypted bundles; this one is not');
    let shape = encrypted ? undefined : shapeProblem(message.packets, trusted);
    if (shape) return fail(shape.code, shape.message);
    const refusedShape = () => shape as { code: string; message: string } | undefined;
    if (encrypted) {
      // the decrypted packets are checked as soon as they are known, before openpgp streams their data
      const decrypt = message.decrypt.bind(message);
      message.decrypt = async (...a: Parameters<typeof decrypt>) => {
        const inner = await decrypt(...a);
        shape = shapeProblem(inner.packets, trusted);
        if (shape) throw new Error(shape.message);
        return inner;
      };
    }
    let result: { data: unknown; signatures: { keyID: openpgp.KeyID; verified: Promise<true> }[] };
    try {
      result = encrypted
        ? ((await lib().decrypt({
            message: message as never,
            decryptionKeys: await readPrivate(j.decryptionKeys),
            verificationKeys: trusted,
            expectSigned: false,
            format: 'binary',
            config: { allowUnauthenticatedStream: true },
          })) as never)
        : ((await lib().verify({ message: message as never, verificationKeys: trusted, expectSigned: false, format: 'binary' })) as never);
    } catch (e) {
      const refused = refusedShape();
      if (refused) return fail(refused.code, refused.message);
      const msg = (e as Error).message;
      if (/decrypt|session key|private key/i.test(msg))
        return fail('BUNDLE_DECRYPT_FAILED', `cannot decrypt the bundle with this side's import key: ${msg}`);
      return fail('BUNDLE_INVALID', `cannot read the bundle: ${msg}`);
    }
    try {
      await send(result.data as AsyncIterable<Uint8Array>);
    } catch (e) {
      return fail('BUNDLE_CORRUPT', `the bundle failed its integrity check: ${(e as Error).message}`);
    }
    const sigs = result.signatures;
    if (sigs.length !== 1)
      return fail('BUNDLE_UNTRUSTED_SENDER', `the bundle carries ${sigs.length} signatures; exactly one sender signature is required`);
    try {
      await sigs[0].verified;
    } catch (e) {
      const msg = (e as Error).message;
      if (/could not find signing key/i.test(msg))
        return fail(
          'BUNDLE_UNTRUSTED_SENDER',
          `the bundle is signed by key ${sigs[0].keyID.toHex().toUpperCase()}, which is not a pinned sender key for this channel`,
        );
      return fail('BUNDLE_CORRUPT', `the bundle signature does not verify: ${msg}`);
    }
    const key = trusted.find((k) => k.getKeys(sigs[0].keyID).length > 0) as openpgp.Key;
    port.postMessage({ t: 'done', sender: key.getFingerprint().toUpperCase() });
  }

  /** Reads the job's input as Buffers. */
  async function* chunks(): AsyncGenerator<Buffer> {
    const reader = input.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    }
  }

  async function cfbSealJob(j: Extract<PgpJob, { op: 'cfb-seal' }>): Promise<void> {
    // the chunks were moved here and are this thread's: with libcrypto, encrypted where they lie and moved back
    const sealer = h.seipdSealer(Buffer.from(j.key), Buffer.from(j.head), j.size, { cfbSealer: nativeAes().cfbSealer });
    async function* out(): AsyncGenerator<Buffer> {
      yield sealer.head;
      for await (const c of chunks()) yield sealer.update(c);
      yield sealer.final();
    }
    try {
      await send(out());
    } catch (e) {
      return fail('BUNDLE_DIGEST_MISMATCH', (e as Error).message);
    }
    port.postMessage({ t: 'done' });
  }

  async function cfbOpenJob(j: Extract<PgpJob, { op: 'cfb-open' }>): Promise<void> {
    // the chunks were moved here and are this thread's: decrypted where they lie, and moved back
    const opener = h.seipdOpener(Buffer.from(j.key), j.skip, { inPlace: true, cfbOpen: nativeAes().cfbOpen });
    async function* out(): AsyncGenerator<Buffer> {
      for await (const c of chunks()) yield opener.update(c);
      opener.final();
    }
    try {
      await send(out());
    } catch (e) {
      const m = (e as Error).message;
      return fail(
        m.startsWith('BUNDLE_') ? m.slice(0, m.indexOf(':')) : 'BUNDLE_INVALID',
        m.startsWith('BUNDLE_') ? m.slice(m.indexOf(':') + 2) : m,
      );
    }
    port.postMessage({ t: 'done' });
  }

  async function unlock(j: Extract<PgpJob, { op: 'unlock' }>): Promise<void> {
    let unlocked: openpgp.PrivateKey;
    try {
      unlocked = await lib().decryptKey({ privateKey: await lib().readPrivateKey({ armoredKey: j.key }), passphrase: j.passphrase });
    } catch (e) {
      return fail('KEY_PASSPHRASE', (e as Error).message);
    }
    const armoredKey = Buffer.from(unlocked.armor());
    await send(
      (async function* () {
        yield armoredKey;
      })(),
    );
    port.postMessage({ t: 'done' });
  }

  function run(job: PgpJob): void {
    const jobs = { seal, open, unlock, 'cfb-seal': cfbSealJob, 'cfb-open': cfbOpenJob } as Record<
      PgpJob['op'],
      (j: PgpJob) => Promise<void>
    >;
    jobs[job.op](job).catch((e: Error) =>
      fail(job.op === 'seal' || job.op === 'cfb-seal' ? 'BUNDLE_WRITE_FAILED' : 'BUNDLE_INVALID', e.message),
    );
  }
}

/** The thread's program: the shared helpers, then threadMain run. */
export const threadSource = (): string =>
  [gathered, transferList, packetLength, seipdSealer, seipdOpener].map((f) => f.toString()).join('\n') +
  `\n(${threadMain.toString()})({ seipdSealer, seipdOpener })`;
