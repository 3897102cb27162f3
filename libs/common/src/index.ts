export * from './errors';
export * from './sensitive';
export * from './fault-injection';
