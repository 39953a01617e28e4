#!/usr/bin/env node
// openbits: GNU-style verbs over the openbits client. Plain JavaScript so that an old Node gets
// a clear message first.
import './require-node.js';
import './compile-cache.js';
import { cliEntry } from './locate.js';

process.exitCode = await (await cliEntry()).openbits(process.argv.slice(2), [process.execPath, process.argv[1]]);
