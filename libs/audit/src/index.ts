export * from './database';
export * from './canonical-json';
export * from './audit-log';
