import type { MessageEvent } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { PromotionService, TERMINAL } from '@airlock/promotion';
import { pollingEvents } from '../events/polling-events';

/**
 * Server-sent events for one promotion until it is final: a `state` event
 * for every state change (from the audit trail, so none is skipped however
 * quickly the worker moved on), and a `promotion` event with its view each
 * time the view changes (state, step, bytes).
 */
export function promotionEvents(service: PromotionService, id: string): Observable<MessageEvent> {
  let seq = 0;
  return pollingEvents('promotion', () => {
    const v = service.view(id);
    const changes = service.stateChanges(id, seq);
    if (changes.length) seq = changes[changes.length - 1].seq;
    return {
      key: `${v.updatedAt}|${v.state}|${v.progress.bytesDone}`,
      data: v,
      done: (TERMINAL as readonly string[]).includes(v.state) || v.state === 'exported',
      before: changes.map((c) => ({ type: 'state', id: `state-${c.seq}`, data: c })),
    };
  });
}
