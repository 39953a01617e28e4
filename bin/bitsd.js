#!/usr/bin/env node
// bitsd: the openbits service. Plain JavaScript so that an old Node gets a clear message first;
// CommonJS like every file of bin/ (no ES module loader before the daemon's own code). Installed,
// it runs one bundled file, dist/bitsd.cjs, with a code cache (load-bundle.js) like the CLIs.
require('./require-node.js');
// A run syncs the files of a round, up to 16, at once (src/service/file-sync-rounds.ts): with
// libuv's default of 4 threads they queued 4 by 4, and a journaled ext4 committed its journal for
// each group. Set before anything uses the thread pool (libuv reads it then); a size the user
// gives is kept.
if (!process.env.UV_THREADPOOL_SIZE) process.env.UV_THREADPOOL_SIZE = '16';
const { COMPILE_CACHE_DIR } = require('./compile-cache.js');
require('./young-generation.js');
const { loadBundle } = require('./load-bundle.js');
const { daemonEntry } = require('./locate.js');

// The code cache is written at exit once the daemon has warmed up (src/daemon/warm-up.ts).
daemonEntry((file) => loadBundle(file, COMPILE_CACHE_DIR, { writeAfter: 'openbits:warm' }).exports);
