// Which code the bins run. In a git checkout: the TypeScript sources, type-stripped by Node
// (no build step while developing). Installed from the package (no src/, or under node_modules,
// where Node refuses to strip types): the JavaScript built into dist/ by `npm run build`
// (prepack). OPENBITS_RUN_FROM=src|dist overrides the choice (to measure or test either).
// node:fs through require(): its ES facade reads every export and so loads fs/promises,
// readline and streams — a tenth of a `bitsadmin /list`.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { existsSync } = require('node:fs');
const root = new URL('../', import.meta.url);
const choice = process.env.OPENBITS_RUN_FROM;
const inCheckout =
  existsSync(new URL('src/index.ts', root)) && !fileURLToPath(root).split('/').includes('node_modules');

/** 'src' or 'dist'. */
export const RUN_FROM = choice === 'src' || choice === 'dist' ? choice : inCheckout ? 'src' : 'dist';

/** Stops with a clear sentence when a built file is missing (a checkout forced to dist/). */
function mustExist(url) {
  if (existsSync(url)) return;
  process.stderr.write(`openbits: ${fileURLToPath(url)} is missing; run \`npm run build\` first.\n`);
  process.exit(1);
}

/** The URL of a module of the package, `cli/main` → src/cli/main.ts or dist/cli/main.js. */
export function moduleUrl(path) {
  const url = new URL(RUN_FROM === 'src' ? `src/${path}.ts` : `dist/${path}.js`, root);
  if (RUN_FROM === 'dist') mustExist(url);
  return url.href;
}

/**
 * The CLIs' entry (src/cli/bin-entry.ts): from dist/ the one-file bundle dist/cli.cjs
 * (scripts/build-cli.ts), whose start-up reads one file instead of sixty modules, run by `load`
 * (the bins pass load-bundle.js's, which keeps a code cache made after a run).
 */
export async function cliEntry(load = require) {
  if (RUN_FROM === 'src') return import(moduleUrl('cli/bin-entry'));
  const bundle = new URL('dist/cli.cjs', root);
  mustExist(bundle);
  return load(fileURLToPath(bundle));
}
