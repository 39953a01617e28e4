#!/usr/bin/env node
// Plain JavaScript so the Node version check runs (and explains itself) before anything loads.
import './require-node.js';
import './compile-cache.js';
import { moduleUrl } from './locate.js';

const { main } = await import(moduleUrl('cli/main'));
// The client loads only for switches that talk to the service (not for /help or /examples).
const open = async (options) => (await import(moduleUrl('client/index'))).connect(options);
process.exitCode = await main(process.argv.slice(2), open);
