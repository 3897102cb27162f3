export * from './errors';
export * from './sensitive';
export * from './config/config-schema';
export * from './config/load-config';
export * from './config/config-reference';
export * from './fault-injection';
