// Which code the bins run. In a git checkout: the TypeScript sources, type-stripped by Node
// (no build step while developing). Installed from the package (no src/, or under node_modules,
// where Node refuses to strip types): the JavaScript built into dist/ by `npm run build`
// (prepack). OPENBITS_RUN_FROM=src|dist overrides the choice (to measure or test either).
const { existsSync } = require('node:fs');
const { join, sep } = require('node:path');
const { pathToFileURL } = require('node:url');

const root = join(__dirname, '..');
const choice = process.env.OPENBITS_RUN_FROM;
const inCheckout = existsSync(join(root, 'src', 'index.ts')) && !root.split(sep).includes('node_modules');

/** 'src' or 'dist'. */
const RUN_FROM = choice === 'src' || choice === 'dist' ? choice : inCheckout ? 'src' : 'dist';

/** Stops with a clear sentence when a built file is missing (a checkout forced to dist/). */
function mustExist(file) {
  if (existsSync(file)) return;
  process.stderr.write(`openbits: ${file} is missing; run \`npm run build\` first.\n`);
  process.exit(1);
}

/** The URL of a module of the package, `cli/main` → src/cli/main.ts or dist/cli/main.js. */
function moduleUrl(path) {
  const file = join(root, RUN_FROM === 'src' ? `src/${path}.ts` : `dist/${path}.js`);
  if (RUN_FROM === 'dist') mustExist(file);
  return pathToFileURL(file).href;
}

/**
 * The CLIs' entry (src/cli/bin-entry.ts): from dist/ the one-file bundle dist/cli.cjs
 * (scripts/bundle.ts), whose start-up reads one file instead of sixty modules, run by `load`
 * (the bins pass load-bundle.js's, which keeps a code cache made after a run).
 */
async function cliEntry(load = require) {
  if (RUN_FROM === 'src') return import(moduleUrl('cli/bin-entry'));
  const bundle = join(root, 'dist', 'cli.cjs');
  mustExist(bundle);
  return load(bundle);
}

/**
 * bitsd (src/daemon/main.ts): from dist/ the one-file bundle dist/bitsd.cjs (scripts/bundle.ts),
 * run by `load` like the CLI's; from a checkout its modules from src/.
 */
async function daemonEntry(load = require) {
  if (RUN_FROM === 'src') return import(moduleUrl('daemon/main'));
  const bundle = join(root, 'dist', 'bitsd.cjs');
  mustExist(bundle);
  return load(bundle);
}

module.exports = { RUN_FROM, cliEntry, daemonEntry, moduleUrl };
