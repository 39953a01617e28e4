#!/usr/bin/env node
// Plain JavaScript so the Node version check runs (and explains itself) before anything loads.
// CommonJS (bin/package.json), like every file of bin/: Node's ES module loader cost a `bitsadmin
// /list` ~50 ms of its ~170 (resolving and linking the six files of bin/ before the bundle ran).
require('./require-node.js');
const { COMPILE_CACHE_DIR } = require('./compile-cache.js');
const { loadBundle } = require('./load-bundle.js');
const { cliEntry } = require('./locate.js');

cliEntry((file) => loadBundle(file, COMPILE_CACHE_DIR).exports)
  .then((entry) => entry.bitsadmin(process.argv.slice(2)))
  .then((code) => {
    process.exitCode = code;
  });
