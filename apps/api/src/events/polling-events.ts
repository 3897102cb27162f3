import type { MessageEvent } from '@nestjs/common';
import { Observable } from 'rxjs';

/**
 * Server-sent events read from the database: `read` each `everyMs`, an event
 * whenever its key changes, and the end of the stream once it says `done`.
 * Any API process can serve them, whichever one recorded the change.
 */
export function pollingEvents(
  type: string,
  read: () => { key: string; data: object; done: boolean },
  everyMs = 300,
): Observable<MessageEvent> {
  return new Observable<MessageEvent>((sub) => {
    let last = '';
    const tick = () => {
      try {
        const r = read();
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
