import type { Dispatcher } from 'undici';

export const USER_AGENT = 'airlock/0.1';

/** Reads and discards a body so the connection can be reused. */
export async function drain(res: Dispatcher.ResponseData): Promise<void> {
  try {
    await res.body.dump({ limit: 1 << 20 });
  } catch {
    /* connection will be dropped instead */
  }
}
