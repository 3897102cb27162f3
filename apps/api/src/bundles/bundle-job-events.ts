import type { MessageEvent } from '@nestjs/common';
import { Observable } from 'rxjs';
import { BundleExporter } from '@airlock/promotion';

/**
 * Server-sent events for one bundle job: its view each time it changes
 * (state, bytes), then the stream ends once the job is completed or failed.
 * Read from the database, so any API process can serve it.
 */
export function bundleJobEvents(exporter: BundleExporter, id: string, everyMs = 300): Observable<MessageEvent> {
  return new Observable<MessageEvent>((sub) => {
    let last = '';
    const tick = () => {
      try {
        const v = exporter.view(id);
        const key = `${v.state}|${v.bytesDone}|${v.bytesTotal}`;
        if (key !== last) {
          last = key;
          sub.next({ type: 'bundle-job', id: key, data: v });
        }
        if (v.state === 'completed' || v.state === 'failed') sub.complete();
      } catch (e) {
        sub.error(e);
      }
    };
    tick();
    const t = setInterval(tick, everyMs);
    return () => clearInterval(t);
  });
}
