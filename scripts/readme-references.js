#!/usr/bin/env node
// Rewrites the README's generated blocks (the configuration reference and the
// catalogue of audit actions) from the built code; test/e2e/readme.e2e-spec.ts
// fails when they differ. Run after `npm run build`: npm run readme.
require('./register-aliases')(require('node:path').join(__dirname, '..', 'dist'));
const { readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { configReference } = require('../dist/libs/common/src/config');
const { auditActionsReference } = require('../dist/libs/audit/src/audit-actions-reference');

const file = join(__dirname, '..', 'README.md');
let text = readFileSync(file, 'utf8');
for (const [name, body] of [
  ['config-reference', configReference()],
  ['audit-actions', auditActionsReference()],
]) {
  const re = new RegExp(`(<!-- ${name}:start -->\\n)[\\s\\S]*?(<!-- ${name}:end -->)`);
  if (!re.test(text)) throw new Error(`README.md has no ${name} block`);
  text = text.replace(re, (_m, a, b) => a + body + b);
}
writeFileSync(file, text);
