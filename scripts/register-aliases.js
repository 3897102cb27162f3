'use strict';
// Resolves the @airlock/* library aliases to a compiled tree (dist/ or .bench/).
const path = require('node:path');
const Module = require('node:module');

module.exports = function registerAliases(outDir) {
  const resolve = Module._resolveFilename;
  Module._resolveFilename = function (request, ...rest) {
    const m = /^@airlock\/(common|oci|signing|bundle|audit|promotion)(\/config)?$/.exec(request);
    if (m) request = path.join(outDir, 'libs', m[1], 'src', m[2] ? 'config' : '', 'index.js');
    return resolve.call(this, request, ...rest);
  };
};
