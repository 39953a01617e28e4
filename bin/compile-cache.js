// Cache compiled (and type-stripped) modules in the user's own cache folder, never in the shared
// /tmp nor beside a system-wide install: it cuts start-up time by about a third (the CLI and an
// on-demand bitsd start wait for it). A folder that cannot be made or written, one whose parent
// belongs to another user (sudo keeping HOME), or cache folders that are not this user's alone
// (private-folder.js: made in advance by someone else, a symbolic link, group- or other-writable)
// mean no cache: a slower start, never a failure.
// `enableCompileCache?.`: an old Node gets here only after require-node.js has explained itself.
const nodeModule = require('node:module');
const { homedir } = require('node:os');
const { join } = require('node:path');
const { isPrivateFolder } = require('./private-folder.js');

// node:fs through require(), as in locate.js: its ES facade would load fs/promises and more.
const { mkdirSync, statSync } = require('node:fs');
const cacheHome = process.env.OPENBITS_HOME || process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
/** The folders openbits names under cacheHome, outermost first: each must be private. */
const ownFolders = process.env.OPENBITS_HOME
  ? [join(cacheHome, 'compile-cache')]
  : [join(cacheHome, 'openbits'), join(cacheHome, 'openbits', 'compile-cache')];
const cacheDir = ownFolders.at(-1);
/** The folder of this user's caches (also the CLI bundle's code cache, load-bundle.js), or undefined. */
exports.COMPILE_CACHE_DIR = undefined;
try {
  const home = statSync(cacheHome, { throwIfNoEntry: false });
  // The home of caches may be shared (/tmp): then only with the sticky bit, so that nobody else
  // can rename our folders away after the check below.
  const homeOk =
    home === undefined ||
    (home.uid === process.geteuid?.() && ((home.mode & 0o002) === 0 || (home.mode & 0o1000) !== 0));
  if (homeOk) {
    mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
    if (ownFolders.every(isPrivateFolder)) {
      nodeModule.enableCompileCache?.(cacheDir);
      exports.COMPILE_CACHE_DIR = cacheDir;
    }
  }
} catch {
  // No cache.
}
