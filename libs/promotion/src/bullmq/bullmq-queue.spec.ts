import { Job } from 'bullmq';
import IORedis from 'ioredis';
import { BullPromotionQueue } from './bullmq-queue';

/** What Redis holds for a job at each read: it fails between the first read and the second. */
function endsBetweenReads() {
  let reads = 0;
  const now = () =>
    reads++ === 0
      ? { state: 'active', failedReason: undefined }
      : { state: 'failed', failedReason: 'SIGNATURE_IDENTITY_MISMATCH: the signature is for another image' };
  return { now, reads: () => reads };
}

describe('the queue status the reconciler reads', () => {
  const connection = new IORedis('redis://127.0.0.1:1', { lazyConnect: true, maxRetriesPerRequest: 0 });
  const q = new BullPromotionQueue(connection);
  afterAll(() => connection.disconnect());
  afterEach(() => jest.restoreAllMocks());

  it('never reports a job failed without its reason when it fails between two reads (once recorded as INTERNAL "job failed")', async () => {
    const world = endsBetweenReads();
    jest.spyOn(q.queue, 'getJobState').mockImplementation(async () => world.now().state as never);
    jest.spyOn(Job, 'fromId').mockImplementation(async () => ({ failedReason: world.now().failedReason, returnvalue: undefined }) as never);
    // the first read sees it running: that is the answer, not a failure without a reason
    expect(await q.status('p', 1)).toEqual({ state: 'active' });
    // read again once it has failed: its own code
    expect(await q.status('p', 1)).toEqual({
      state: 'failed',
      code: 'SIGNATURE_IDENTITY_MISMATCH',
      message: 'the signature is for another image',
    });
  });

  it('reads a finished job after its state, so its result or reason is there', async () => {
    jest.spyOn(q.queue, 'getJobState').mockResolvedValue('completed');
    jest.spyOn(Job, 'fromId').mockResolvedValue({ returnvalue: { digest: 'sha256:x' } } as never);
    expect(await q.status('p', 1)).toEqual({ state: 'completed', result: { digest: 'sha256:x' } });
    jest.spyOn(q.queue, 'getJobState').mockResolvedValue('unknown');
    expect(await q.status('p', 1)).toEqual({ state: 'missing' });
    jest.spyOn(q.queue, 'getJobState').mockResolvedValue('waiting');
    expect(await q.status('p', 1)).toEqual({ state: 'pending' });
  });
});
