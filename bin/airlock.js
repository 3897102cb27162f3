#!/usr/bin/env node
'use strict';
// Entry of the `airlock` command: runs the compiled CLI from dist/.
// Node 22+ keeps the compiled code of airlock and its dependencies on disk between runs (NODE_COMPILE_CACHE names the
// folder, NODE_DISABLE_COMPILE_CACHE=1 turns it off); `npm run bench -- startup` measures what it saves.
require('node:module').enableCompileCache?.();
const path = require('node:path');
const fs = require('node:fs');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');
if (!fs.existsSync(path.join(dist, 'apps/cli/src/main.js'))) {
  process.stderr.write('airlock: not built yet; run "npm install" (or "npm run build") in ' + root + '\n');
  process.exit(1);
}
// A command that runs for a moment: compile WebAssembly (undici's HTTP parser) once, with the baseline compiler.
// Otherwise V8 optimizes it again in the background and every command waits for that at exit.
// the command's name: the first argument after any --log-level (main.ts takes that option wherever it stands)
const args = process.argv.slice(2);
let at = 0;
while (args[at] === '--log-level' || (args[at] || '').startsWith('--log-level=')) at += args[at] === '--log-level' ? 2 : 1;
const command = args[at];
if (!['serve', 'api', 'worker', 'sandbox'].includes(command)) require('node:v8').setFlagsFromString('--liftoff-only');
require(path.join(root, 'scripts/register-aliases.js'))(dist);
const failed = (e) => {
  process.stderr.write('airlock: INTERNAL: ' + (e && e.message) + '\n');
  process.exitCode = 1;
};
let settled = false;
const full = () =>
  require(path.join(dist, 'apps/cli/src/main.js'))
    .main()
    .catch(failed)
    .finally(() => {
      settled = true;
    });
// A command whose work waits on something that can never happen would let node exit 0 in silence: say so and fail.
process.on('beforeExit', () => {
  if (settled || process.exitCode) return;
  process.stderr.write(
    'airlock: INTERNAL: the command stopped before it finished (it was waiting on nothing); nothing it reported is complete\n',
  );
  process.exit(1);
});
// `copy` and `bundle inspect`, `export` and `import` run without NestJS (a quarter of a second at every start); what they do not handle goes to the full command line
if (command === 'copy' || command === 'bundle') {
  require(path.join(dist, 'apps/cli/src/fast-commands.js'))
    .runFast(args)
    .then((handled) => (handled ? (settled = true) : full()), failed);
} else full();
