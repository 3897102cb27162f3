/* eslint-disable @typescript-eslint/no-require-imports */
/**
 * Heavy libraries load when a command runs, not when the CLI starts, so
 * `airlock copy` does not pay for the API, the queue, SQLite or OpenPGP.
 */
export const lazy = {
  promotion: () => require('@airlock/promotion') as typeof import('@airlock/promotion'),
  database: () => require('@airlock/database') as typeof import('@airlock/database'),
  audit: () => require('@airlock/audit') as typeof import('@airlock/audit'),
  signing: () => require('@airlock/signing') as typeof import('@airlock/signing'),
  openpgp: () => require('openpgp') as typeof import('openpgp'),
  api: () => require('../../api/src/main') as typeof import('../../api/src/main'),
  worker: () => require('../../worker/src/main') as typeof import('../../worker/src/main'),
  sandbox: () => require('./sandbox/sandbox-env') as typeof import('./sandbox/sandbox-env'),
  twoSides: () => require('./sandbox/two-sides') as typeof import('./sandbox/two-sides'),
  bundle: () => require('@airlock/bundle') as typeof import('@airlock/bundle'),
  bundleWarm: () => require('@airlock/bundle/warm') as typeof import('@airlock/bundle/warm'),
  copyRun: () => require('./copy-run') as typeof import('./copy-run'),
  undici: () => require('undici') as typeof import('undici'),
  config: () => require('@airlock/common/config') as typeof import('@airlock/common/config'),
};
