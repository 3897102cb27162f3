export * from './errors';
export * from './sensitive';
