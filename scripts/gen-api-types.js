'use strict';
// Generates the CLI's API client types (apps/cli/src/client/api-types.ts, not committed) from the API's
// OpenAPI document (docs/openapi.json, committed; test/e2e/openapi.e2e-spec.ts keeps it equal to what the API
// serves) with openapi-typescript, so the client commands compile against the API's contract and cannot drift
// from it. Skipped when the types are newer than the document.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const doc = path.join(root, 'docs', 'openapi.json');
const out = path.join(root, 'apps', 'cli', 'src', 'client', 'api-types.ts');
const cli = path.join(root, 'node_modules', 'openapi-typescript', 'bin', 'cli.js');
const mtime = (f) => (fs.existsSync(f) ? fs.statSync(f).mtimeMs : -1);
if (mtime(out) > mtime(doc) && mtime(out) > mtime(path.join(__dirname, 'gen-api-types.js'))) process.exit(0);
const tmp = `${out}.${process.pid}.tmp`;
execFileSync(process.execPath, [cli, doc, '-o', tmp], { stdio: ['ignore', 'ignore', 'inherit'] });
const header =
  '// Generated from docs/openapi.json by scripts/gen-api-types.js (openapi-typescript) at build time; not committed, do not edit.\n';
fs.writeFileSync(out, header + fs.readFileSync(tmp, 'utf8'));
fs.rmSync(tmp);
