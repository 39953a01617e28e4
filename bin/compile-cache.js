// Cache compiled (and type-stripped) modules in the user's own cache folder, never in the shared
// /tmp nor beside a system-wide install: it cuts start-up time by about a third (the CLI and an
// on-demand bitsd start wait for it). A folder that cannot be made or written, or one that
// belongs to another user (sudo keeping HOME), means no cache: a slower start, never a failure.
// A namespace import: a named import would fail to link on an old Node before require-node.js
// could explain itself.
import * as nodeModule from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';

// node:fs through require(), as in locate.js: its ES facade would load fs/promises and more.
const { mkdirSync, statSync } = nodeModule.createRequire(import.meta.url)('node:fs');
const cacheHome = process.env.OPENBITS_HOME || process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
const cacheDir = join(cacheHome, process.env.OPENBITS_HOME ? 'compile-cache' : 'openbits/compile-cache');
/** The folder of this user's caches (also the CLI bundle's code cache, load-bundle.js), or undefined. */
export let COMPILE_CACHE_DIR;
try {
  const owner = statSync(cacheHome, { throwIfNoEntry: false })?.uid;
  if (owner === undefined || owner === process.getuid?.()) {
    mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
    nodeModule.enableCompileCache?.(cacheDir);
    COMPILE_CACHE_DIR = cacheDir;
  }
} catch {
  // No cache.
}
