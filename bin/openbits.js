#!/usr/bin/env node
// openbits: GNU-style verbs over the openbits client. Plain JavaScript so that an old Node gets
// a clear message first.
import './require-node.js';
import { COMPILE_CACHE_DIR } from './compile-cache.js';
import { loadBundle } from './load-bundle.js';
import { cliEntry } from './locate.js';

const entry = await cliEntry((file) => loadBundle(file, COMPILE_CACHE_DIR).exports);
process.exitCode = await entry.openbits(process.argv.slice(2), [process.execPath, process.argv[1]]);
