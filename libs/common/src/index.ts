export * from './errors';
export * from './sensitive';
export * from './fault-injection';
export * from './with-timeout';
export * from './strict-json';
export * from './process-alive';
export * from './logger';
