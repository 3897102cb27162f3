#!/usr/bin/env node
'use strict';
// Entry of the `airlock` command: runs the compiled CLI from dist/.
const path = require('node:path');
const fs = require('node:fs');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');
if (!fs.existsSync(path.join(dist, 'apps/cli/src/main.js'))) {
  process.stderr.write('airlock: not built yet; run "npm install" (or "npm run build") in ' + root + '\n');
  process.exit(1);
}
require(path.join(root, 'scripts/register-aliases.js'))(dist);
require(path.join(dist, 'apps/cli/src/main.js')).main().catch((e) => {
  process.stderr.write('airlock: INTERNAL: ' + (e && e.message) + '\n');
  process.exitCode = 1;
});
