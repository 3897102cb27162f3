import type { MessageEvent } from '@nestjs/common';
import { Observable } from 'rxjs';

/** What one read found: the events it brings before the view (if any), the view with the key that tells a change, and whether it is final. */
export interface PolledView {
  key: string;
  data: object;
  done: boolean;
  before?: MessageEvent[];
}

/**
 * Server-sent events read from the database: `read` each `everyMs`, its
 * `before` events each time, the view whenever its key changes, and the end
 * of the stream once it says `done`. Any API process can serve them,
 * whichever one recorded the change.
 */
export function pollingEvents(type: string, read: () => PolledView, everyMs = 300): Observable<MessageEvent> {
  return new Observable<MessageEvent>((sub) => {
    let last = '';
    const tick = () => {
      try {
        const r = read();
        for (const e of r.before ?? []) sub.next(e);
        if (r.key !== last) {
          last = r.key;
          sub.next({ type, id: r.key, data: r.data });
        }
        if (r.done) sub.complete();
      } catch (e) {
        sub.error(e);
      }
    };
    tick();
    const t = setInterval(tick, everyMs);
    return () => clearInterval(t);
  });
}
