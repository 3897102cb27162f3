import type { Dispatcher } from 'undici';

export const USER_AGENT = 'airlock/0.1';

/** Drops a response body not read to its end: undici reports that as an 'error' event, which must not end the process. */
export function discard(body: NodeJS.ReadableStream & { destroy(): void }): void {
  body.on('error', () => undefined);
  body.destroy();
}

/** Reads and discards a body so the connection can be reused. */
export async function drain(res: Dispatcher.ResponseData): Promise<void> {
  try {
    await res.body.dump({ limit: 1 << 20 });
  } catch {
    /* connection will be dropped instead */
  }
}
