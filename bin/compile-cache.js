// Cache compiled (and type-stripped) modules in the user's own cache folder, never in the shared
// /tmp: it cuts start-up time by about a third (the CLI and an on-demand bitsd start wait for it).
import { mkdirSync } from 'node:fs';
// A namespace import: a named import would fail to link on an old Node before require-node.js
// could explain itself.
import * as nodeModule from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';

const cacheHome = process.env.OPENBITS_HOME || process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
const cacheDir = join(cacheHome, process.env.OPENBITS_HOME ? 'compile-cache' : 'openbits/compile-cache');
try {
  mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
  nodeModule.enableCompileCache?.(cacheDir);
} catch {
  // No cache: a slower start, nothing else.
}
