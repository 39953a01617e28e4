#!/usr/bin/env node
// bitsd: the openbits service. Plain JavaScript so that an old Node gets a clear message first;
// CommonJS like every file of bin/ (no ES module loader before the daemon's own modules).
require('./require-node.js');
require('./compile-cache.js');
require('./young-generation.js');
const { moduleUrl } = require('./locate.js');

import(moduleUrl('daemon/main'));
