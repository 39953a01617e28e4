#!/usr/bin/env node
// Plain JavaScript so the Node version check runs (and explains itself) before anything loads.
import './require-node.js';
import { COMPILE_CACHE_DIR } from './compile-cache.js';
import { loadBundle } from './load-bundle.js';
import { cliEntry } from './locate.js';

const entry = await cliEntry((file) => loadBundle(file, COMPILE_CACHE_DIR).exports);
process.exitCode = await entry.bitsadmin(process.argv.slice(2));
