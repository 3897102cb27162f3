export * from './canonical-json';
export * from './audit-log';
export * from './chain-verifier';
export * from './checkpoints';
export * from './audit-query';
export * from './audit-export';
export * from './audit-verify';
