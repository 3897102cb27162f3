import type { MessageEvent } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { BundleExporter } from '@airlock/promotion';
import { pollingEvents } from '../events/polling-events';

/** Server-sent events for one bundle job: its view each time it changes (state, bytes), until it completes or fails. */
export function bundleJobEvents(exporter: BundleExporter, id: string): Observable<MessageEvent> {
  return pollingEvents('bundle-job', () => {
    const v = exporter.view(id);
    return { key: `${v.state}|${v.bytesDone}|${v.bytesTotal}`, data: v, done: v.state === 'completed' || v.state === 'failed' };
  });
}
