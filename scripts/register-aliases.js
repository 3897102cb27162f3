'use strict';
// Resolves the @airlock/* library aliases to a compiled tree (dist/ or .bench/).
const path = require('node:path');
const Module = require('node:module');

module.exports = function registerAliases(outDir) {
  const resolve = Module._resolveFilename;
  Module._resolveFilename = function (request, ...rest) {
    // each library's index, and the entries kept apart for what they load: @airlock/common/config, @airlock/promotion/bullmq,
    // @airlock/promotion/run, @airlock/bundle/warm
    const m =
      /^@airlock\/(common|oci|signing|bundle|database|audit|promotion|common\/config|promotion\/bullmq|promotion\/run|bundle\/warm)$/.exec(
        request,
      );
    if (m) {
      const [lib, entry = ''] = m[1].split('/');
      request = path.join(outDir, 'libs', lib, 'src', entry, 'index.js');
    }
    return resolve.call(this, request, ...rest);
  };
};
