export * from './database';
export * from './statements';
export * from './group-commit';
export * from './sqlite-driver';
export * from './wal-sync';
export * from './read-cache';
