// The queue on BullMQ and Redis: the API's producer and listener, and the worker. Apart from @airlock/promotion
// because bullmq and ioredis are slow and large to load, and the bundle, token, audit and policy
// commands never touch the queue.
export * from './bullmq-queue';
export * from './bullmq-worker';
