#!/usr/bin/env node
// bitsd: the openbits service. Plain JavaScript so that an old Node gets a clear message first;
// CommonJS like every file of bin/ (no ES module loader before the daemon's own code). Installed,
// it runs one bundled file, dist/bitsd.cjs, with a code cache (load-bundle.js) like the CLIs.
require('./require-node.js');
const { COMPILE_CACHE_DIR } = require('./compile-cache.js');
require('./young-generation.js');
const { loadBundle } = require('./load-bundle.js');
const { daemonEntry } = require('./locate.js');

// The code cache is written at exit once the daemon has warmed up (src/daemon/warm-up.ts).
daemonEntry((file) => loadBundle(file, COMPILE_CACHE_DIR, { writeAfter: 'openbits:warm' }).exports);
