import type BetterSqlite3 from 'better-sqlite3';

/**
 * The SQLite driver for the runtime this process runs on. better-sqlite3 13
 * (Node-API, prebuilt for each platform, no compiler needed) on Node 22 and
 * later; 12, compiled against the runtime's headers at install, on Node 20,
 * which 13 does not support. 12 cannot serve Node 24: built against 24.19+
 * headers, its statements derive from node::ObjectWrap, whose destructor
 * aborts the process when the garbage collector frees a statement outside a
 * JavaScript context (nodejs/node#65446; seen here within seconds of a test).
 * Both lines have the same API, so one type describes them.
 */
function load(): typeof BetterSqlite3 {
  /* eslint-disable @typescript-eslint/no-require-imports -- the module is chosen at run time */
  return Number(process.versions.node.split('.')[0]) >= 22
    ? (require('better-sqlite3-napi') as typeof BetterSqlite3)
    : (require('better-sqlite3') as typeof BetterSqlite3);
  /* eslint-enable @typescript-eslint/no-require-imports */
}

export const SqliteDatabase = load();
