#!/usr/bin/env node
// bitsd: the openbits service. Plain JavaScript so that an old Node gets a clear message first.
import './require-node.js';
import './compile-cache.js';
import './young-generation.js';
import { moduleUrl } from './locate.js';

await import(moduleUrl('daemon/main'));
