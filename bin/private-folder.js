// Whether a cache folder is this user's alone. A cache is code that runs: a folder another user
// made in advance (XDG_CACHE_HOME or OPENBITS_HOME on a shared folder), or one they may write
// into, would let them plant it. Plain JavaScript, loaded after require-node.js like bin/.
const { lstatSync } = require('node:fs');

/**
 * True when `path` is a real folder (not a symbolic link), owned by the effective user and
 * writable by nobody else (no group or other write bit).
 */
function isPrivateFolder(path) {
  const euid = process.geteuid?.();
  if (euid === undefined) return false;
  try {
    const stat = lstatSync(path, { throwIfNoEntry: false });
    return stat?.isDirectory() === true && stat.uid === euid && (stat.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

module.exports = { isPrivateFolder };
