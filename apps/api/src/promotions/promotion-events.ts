import type { MessageEvent } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { PromotionService, TERMINAL } from '@airlock/promotion';
import { pollingEvents } from '../events/polling-events';

/** Server-sent events for one promotion: its view each time it changes (state, step, bytes), until it is final. */
export function promotionEvents(service: PromotionService, id: string): Observable<MessageEvent> {
  return pollingEvents('promotion', () => {
    const v = service.view(id);
    return {
      key: `${v.updatedAt}|${v.state}|${v.progress.bytesDone}`,
      data: v,
      done: (TERMINAL as readonly string[]).includes(v.state) || v.state === 'exported',
    };
  });
}
