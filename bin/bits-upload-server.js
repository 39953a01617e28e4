#!/usr/bin/env node
// Plain JavaScript so the Node version check runs (and explains itself) before any .ts loads.
import './require-node.js';

const { main } = await import('../src/upload-server/cli.ts');
process.exitCode = await main(process.argv.slice(2));
