export * from './stage-catalog';
export * from './policy-files';
