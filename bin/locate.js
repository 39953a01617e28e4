// Which code the bins run. In a git checkout: the TypeScript sources, type-stripped by Node
// (no build step while developing). Installed from the package (no src/, or under node_modules,
// where Node refuses to strip types): the JavaScript built into dist/ by `npm run build`
// (prepack). OPENBITS_RUN_FROM=src|dist overrides the choice (to measure or test either).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = new URL('../', import.meta.url);
const choice = process.env.OPENBITS_RUN_FROM;
const inCheckout =
  existsSync(new URL('src/index.ts', root)) && !fileURLToPath(root).split('/').includes('node_modules');

/** 'src' or 'dist'. */
export const RUN_FROM = choice === 'src' || choice === 'dist' ? choice : inCheckout ? 'src' : 'dist';

/** The URL of a module of the package, `cli/main` → src/cli/main.ts or dist/cli/main.js. */
export function moduleUrl(path) {
  const url = new URL(RUN_FROM === 'src' ? `src/${path}.ts` : `dist/${path}.js`, root);
  if (RUN_FROM === 'dist' && !existsSync(url)) {
    process.stderr.write(`openbits: ${fileURLToPath(url)} is missing; run \`npm run build\` first.\n`);
    process.exit(1);
  }
  return url.href;
}
