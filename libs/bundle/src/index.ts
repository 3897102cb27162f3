export * from './errors';
export * from './bundle-manifest';
export * from './volume-writer';
export * from './bundle-writer';
export * from './bundle-reader';
export * from './tar-reader';
