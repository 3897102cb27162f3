import { AuditLog } from '@airlock/audit';
import { Db } from '@airlock/database';
import { PromotionStore, PromotionRow } from './promotion-store';
import { RUNNING, TERMINAL, nextState, stepEvent } from './promotion-lifecycle';
import { PromotionQueue } from './promotion-queue';
import { PromoteResult, StepProgress } from './queues';
import { PromotionService } from './promotion.service';

const SYSTEM = { principal: { user: 'airlock', roles: ['admin' as const] } };

/**
 * Records what workers report through the queue, exactly once: a report for
 * another attempt, a repeated report, or one that would move a promotion
 * backwards changes nothing (BullMQ may deliver twice; SQLite is the truth).
 */
export class PromotionProgress {
  private readonly store: PromotionStore;

  constructor(
    private readonly db: Db,
    private readonly audit: AuditLog,
    private readonly service: PromotionService,
    private readonly queue: PromotionQueue,
  ) {
    this.store = new PromotionStore(db);
  }

  private current(id: string, attempt: number): PromotionRow | undefined {
    const p = this.store.get(id);
    return p && p.attempt === attempt ? p : undefined;
  }

  onProgress(id: string, attempt: number, pr: StepProgress): void {
    this.db
      .transaction(() => {
        const p = this.current(id, attempt);
        if (!p || TERMINAL.includes(p.state)) return;
        if (pr.bytesTotal !== undefined) this.store.update(id, { bytes_done: pr.bytesDone ?? 0, bytes_total: pr.bytesTotal });
        if (pr.finished && this.store.step(id, attempt, pr.finished.step, 'done', pr.finished.detail)) {
          this.audit.append({
            actor: 'airlock',
            role: 'worker',
            action: 'step.finished',
            promotionId: id,
            stage: p.to_stage,
            image: p.target_ref,
            digest: p.digest,
            details: { step: pr.finished.step, attempt, ...(pr.finished.detail ?? {}) },
          });
        }
        const changed = this.store.step(id, attempt, pr.step, pr.status, pr.detail);
        if (changed) {
          this.audit.append({
            actor: 'airlock',
            role: 'worker',
            action: `step.${pr.status === 'started' ? 'started' : 'finished'}`,
            promotionId: id,
            stage: p.to_stage,
            image: p.target_ref,
            digest: p.digest,
            details: { step: pr.step, attempt, ...(pr.detail ?? {}) },
          });
        }
        const event = stepEvent(pr.step, pr.status);
        const cur = this.store.get(id) as PromotionRow;
        if (event && nextState(cur.state, event)) this.service.transition(SYSTEM, cur, event);
      })
      .immediate();
  }

  onCompleted(id: string, attempt: number, result: PromoteResult): void {
    if (result.awaitingExport) {
      this.db
        .transaction(() => {
          const p = this.current(id, attempt);
          if (!p || !nextState(p.state, 'await-export')) return;
          if (this.store.step(id, attempt, 'verify', 'done', { keys: result.sourceSignatureKeys })) {
            this.audit.append({
              actor: 'airlock',
              role: 'worker',
              action: 'step.finished',
              promotionId: id,
              stage: p.to_stage,
              image: p.target_ref,
              digest: p.digest,
              details: { step: 'verify', attempt, keys: result.sourceSignatureKeys },
            });
          }
          this.service.transition(
            SYSTEM,
            this.store.get(id) as PromotionRow,
            'await-export',
            { result: JSON.stringify(result) },
            { waitingFor: 'the next bundle of its channel' },
          );
        })
        .immediate();
      return;
    }
    this.db
      .transaction(() => {
        const p = this.current(id, attempt);
        if (!p || !nextState(p.state, 'complete')) return;
        let cur = this.store.get(id) as PromotionRow;
        if (this.store.step(id, attempt, 'publish', 'done', { signatures: result.signatures })) {
          this.audit.append({
            actor: 'airlock',
            role: 'worker',
            action: 'step.finished',
            promotionId: id,
            stage: cur.to_stage,
            image: cur.target_ref,
            digest: cur.digest,
            details: { step: 'publish', attempt, signatures: result.signatures },
          });
        }
        if (nextState(cur.state, 'publish')) cur = this.service.transition(SYSTEM, cur, 'publish');
        this.service.transition(
          SYSTEM,
          cur,
          'complete',
          { result: JSON.stringify(result), bytes_done: result.bytesMoved, error_code: null, error_message: null },
          {
            bytesMoved: result.bytesMoved,
            blobsCopied: result.blobsCopied,
            blobsSkipped: result.blobsSkipped,
            blobsMounted: result.blobsMounted,
            signatures: result.signatures,
            sourceSignatureKeys: result.sourceSignatureKeys,
          },
        );
      })
      .immediate();
  }

  onFailed(id: string, attempt: number, code: string, message: string): void {
    this.db
      .transaction(() => {
        const p = this.current(id, attempt);
        if (!p || !nextState(p.state, 'fail')) return;
        const running = this.store.steps(id).find((s) => s.attempt === attempt && s.state === 'running');
        if (running) this.store.step(id, attempt, running.name, 'failed', { code });
        this.service.transition(
          SYSTEM,
          p,
          'fail',
          { error_code: code, error_message: message.slice(0, 2000) },
          { code, message: message.slice(0, 500), step: running?.name ?? null },
        );
      })
      .immediate();
  }

  /**
   * For every promotion whose state says work is pending, asks the queue:
   * finished jobs are recorded, missing ones (Redis wiped or restarted
   * empty) are enqueued again. The queue is asked about all of them at once
   * (a backlog of thousands waiting is a few round trips, not one each);
   * only the few it does not hold waiting or running are read one by one.
   * Returns what it did.
   */
  async reconcile(): Promise<{ requeued: string[]; recorded: string[] }> {
    const requeued: string[] = [];
    const recorded: string[] = [];
    for (const p of this.store.inStates(['approved'])) {
      // approved but never queued (crash between the two): queue it now (the queue misses its job below)
      this.db
        .transaction(() => {
          const cur = this.store.get(p.id) as PromotionRow;
          if (nextState(cur.state, 'enqueue')) this.service.transition(SYSTEM, cur, 'enqueue', { attempt: cur.attempt + 1 });
        })
        .immediate();
    }
    let unsettled: string[];
    try {
      unsettled = await this.queue.unsettled(this.store.inStates(RUNNING).map((p) => ({ promotionId: p.id, attempt: p.attempt })));
    } catch {
      return { requeued, recorded };
    }
    for (const id of unsettled) {
      const cur = this.store.get(id) as PromotionRow;
      if (!RUNNING.includes(cur.state)) continue;
      let st;
      try {
        st = await this.queue.status(cur.id, cur.attempt);
      } catch {
        return { requeued, recorded };
      }
      if (st.state === 'missing') {
        this.audit.append({
          actor: 'airlock',
          role: 'reconciler',
          action: 'promotion.requeued',
          promotionId: cur.id,
          stage: cur.to_stage,
          image: cur.target_ref,
          digest: cur.digest,
          details: { attempt: cur.attempt, state: cur.state },
        });
        await this.service.enqueue(cur);
        requeued.push(cur.id);
      } else if (st.state === 'completed') {
        this.onCompleted(cur.id, cur.attempt, st.result);
        recorded.push(cur.id);
      } else if (st.state === 'failed') {
        this.onFailed(cur.id, cur.attempt, st.code, st.message);
        recorded.push(cur.id);
      }
    }
    return { requeued, recorded };
  }
}
