#!/usr/bin/env node
// Plain JavaScript so the Node version check runs (and explains itself) before anything loads.
import './require-node.js';
import { moduleUrl } from './locate.js';

const { main } = await import(moduleUrl('upload-server/cli'));
process.exitCode = await main(process.argv.slice(2));
