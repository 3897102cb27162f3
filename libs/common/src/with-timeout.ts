/**
 * `p`, or a rejection with `message` when it has not settled after `ms`.
 * The timer goes as soon as `p` settles, so a probe that answered in time
 * leaves nothing behind to hold the process open.
 */
export function withTimeout<T>(p: Promise<T>, ms: number, message = `no answer in ${ms} ms`): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
