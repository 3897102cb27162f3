import { AirlockError } from '@airlock/common';
import { JobStatus, PromotionQueue } from './promotion-queue';

/**
 * The queue of a process that runs no promotions (the CLI's bundle and
 * receipt commands): any attempt to enqueue is an error, never a silent drop.
 */
export class NoQueue implements PromotionQueue {
  private refuse(): never {
    throw new AirlockError('QUEUE_UNAVAILABLE', 'this command does not run promotions; use airlock serve');
  }
  async enqueue(): Promise<void> {
    this.refuse();
  }
  async remove(): Promise<boolean> {
    this.refuse();
  }
  async status(): Promise<JobStatus> {
    this.refuse();
  }
  async unsettled(): Promise<string[]> {
    this.refuse();
  }
  async enqueueExport(): Promise<void> {
    this.refuse();
  }
  async exportStatus(): Promise<JobStatus<never>> {
    this.refuse();
  }
}
