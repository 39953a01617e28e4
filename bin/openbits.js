#!/usr/bin/env node
// openbits: GNU-style verbs over the openbits client. Plain JavaScript so that an old Node gets
// a clear message first; CommonJS like bitsadmin.js.
require('./require-node.js');
const { COMPILE_CACHE_DIR } = require('./compile-cache.js');
const { loadBundle } = require('./load-bundle.js');
const { cliEntry } = require('./locate.js');

cliEntry((file) => loadBundle(file, COMPILE_CACHE_DIR).exports)
  .then((entry) => entry.openbits(process.argv.slice(2), [process.execPath, process.argv[1]]))
  .then((code) => {
    process.exitCode = code;
  });
