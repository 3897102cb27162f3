import type { MessageEvent } from '@nestjs/common';
import { Observable } from 'rxjs';
import { PromotionService, TERMINAL } from '@airlock/promotion';

/**
 * Server-sent events for one promotion: its view each time it changes
 * (state, step, bytes), then the stream ends once the promotion is final.
 * Read from the database, so any API process can serve it.
 */
export function promotionEvents(service: PromotionService, id: string, everyMs = 300): Observable<MessageEvent> {
  return new Observable<MessageEvent>((sub) => {
    let last = '';
    const tick = () => {
      try {
        const v = service.view(id);
        const key = `${v.updatedAt}|${v.state}|${v.progress.bytesDone}`;
        if (key !== last) {
          last = key;
          sub.next({ type: 'promotion', id: key, data: v });
        }
        if ((TERMINAL as readonly string[]).includes(v.state) || v.state === 'exported') sub.complete();
      } catch (e) {
        sub.error(e);
      }
    };
    tick();
    const t = setInterval(tick, everyMs);
    return () => clearInterval(t);
  });
}
