#!/usr/bin/env node
// Plain JavaScript so the Node version check runs (and explains itself) before anything loads.
import './require-node.js';
import './compile-cache.js';
import { cliEntry } from './locate.js';

process.exitCode = await (await cliEntry()).bitsadmin(process.argv.slice(2));
