import type { ApiClient } from './api-client';
import { stateLine } from './promotion-text';
import type { Promotion, StateChange } from './api-client';

/**
 * Follows a promotion's server-sent events until the server ends the stream
 * (the promotion is final, or exported toward the gap): every state change as
 * a line (a JSON line each event with `json`), the copy's bytes by quarters;
 * or until it reaches the state `until`. Returns the last view.
 */
export async function followPromotion(
  client: ApiClient,
  id: string,
  o: { json: boolean; out: NodeJS.WritableStream; until?: string },
): Promise<Promotion> {
  let last: Promotion | undefined;
  let quarter = -1;
  await client.events(`/api/v1/promotions/${encodeURIComponent(id)}/events`, (e) => {
    if (o.json) o.out.write(JSON.stringify({ event: e.type, data: e.data }) + '\n');
    if (e.type === 'state') {
      if (!o.json) o.out.write(stateLine(e.data as StateChange));
      return;
    }
    if (e.type !== 'promotion') return;
    last = e.data as Promotion;
    if (o.until && last.state === o.until) return true;
    const { bytesDone, bytesTotal } = last.progress;
    if (!o.json && last.state === 'copying' && bytesTotal > 0) {
      const q = Math.floor((bytesDone / bytesTotal) * 4);
      if (q > quarter && q < 4) {
        quarter = q;
        o.out.write(`          copied ${(bytesDone / 2 ** 20).toFixed(1)} of ${(bytesTotal / 2 ** 20).toFixed(1)} MiB\n`);
      }
    }
  });
  return last ?? (await client.json<Promotion>('GET', `/api/v1/promotions/${encodeURIComponent(id)}`));
}
