#!/usr/bin/env node
'use strict';
// Entry of the `airlock` command: runs the compiled CLI, resolving the
// @airlock/* library aliases to their compiled folders.
const path = require('node:path');
const fs = require('node:fs');
const Module = require('node:module');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');
if (!fs.existsSync(path.join(dist, 'apps/cli/src/main.js'))) {
  process.stderr.write('airlock: not built yet; run "npm install" (or "npm run build") in ' + root + '\n');
  process.exit(1);
}
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  const m = /^@airlock\/(common|oci|signing|bundle|audit|promotion)$/.exec(request);
  if (m) request = path.join(dist, 'libs', m[1], 'src', 'index.js');
  return resolve.call(this, request, ...rest);
};
require(path.join(dist, 'apps/cli/src/main.js')).main().catch((e) => {
  process.stderr.write('airlock: INTERNAL: ' + (e && e.message) + '\n');
  process.exitCode = 1;
});
