// The configuration file: its schema, loader and reference. Apart from @airlock/common because zod and yaml
// cost a tenth of a second to load, and commands such as `airlock copy` never read a configuration.
export * from './config-schema';
export * from './load-config';
export * from './config-reference';
