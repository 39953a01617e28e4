#!/usr/bin/env node
// Plain JavaScript so the Node version check runs (and explains itself) before any .ts loads.
import './require-node.js';
import './compile-cache.js';

const { main } = await import('../src/cli/main.ts');
// The client loads only for switches that talk to the service (not for /help or /examples).
const open = async () => (await import('../src/client/index.ts')).connect();
process.exitCode = await main(process.argv.slice(2), open);
