import type BetterSqlite3 from 'better-sqlite3';

/**
 * The SQLite driver for the runtime this process runs on. better-sqlite3 13
 * (Node-API, prebuilt for each platform, no compiler needed) on Node 22 and
 * later; 12, compiled against the runtime's headers at install, on Node 20,
 * which 13 does not support. 12 cannot serve Node 24: built against 24.19+
 * headers, its statements derive from node::ObjectWrap, whose destructor
 * aborts the process when the garbage collector frees a statement outside a
 * JavaScript context (nodejs/node#65446; seen here within seconds of a test).
 * Both lines have the same API, so one type describes them. Threads that
 * open the database load the same module, by this path.
 */
export const SQLITE_DRIVER_PATH = require.resolve(
  Number(process.versions.node.split('.')[0]) >= 22 ? 'better-sqlite3-napi' : 'better-sqlite3',
);

// eslint-disable-next-line @typescript-eslint/no-require-imports -- the module is chosen at run time
export const SqliteDatabase = require(SQLITE_DRIVER_PATH) as typeof BetterSqlite3;
