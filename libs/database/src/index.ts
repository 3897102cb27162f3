export * from './database';
export * from './statements';
export * from './group-commit';
