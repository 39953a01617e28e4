/**
 * `npm run build` (and prepack): the publishable package in dist/ — JavaScript with source maps
 * and .d.ts from `tsc -p tsconfig.build.json` (relative `.ts` imports rewritten to `.js`), the
 * man pages of bitsadmin and openbits, generated from the same switch tables as `--help`, the
 * web dashboard bundled by esbuild into dist/dashboard/ (served as is by the installed package),
 * the CLIs bundled into dist/cli.cjs and bitsd into dist/bitsd.cjs (scripts/bundle.ts), which the
 * bins run.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { buildDashboardFiles } from '../dashboard/build.ts';
import { manPages } from '../src/cli/man-page.ts';
import { buildCliBundle, buildDaemonBundle } from './bundle.ts';

const root = join(import.meta.dirname, '..');
const dist = join(root, 'dist');

rmSync(dist, { recursive: true, force: true });
execFileSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', join(root, 'tsconfig.build.json')], {
  // Everything on stderr: `npm pack --json` prints its JSON on stdout after prepack.
  stdio: ['ignore', 2, 2],
});
mkdirSync(join(dist, 'man'), { recursive: true });
for (const page of manPages()) writeFileSync(join(dist, 'man', page.file), page.text);
for (const [path, file] of await buildDashboardFiles()) {
  mkdirSync(dirname(join(dist, 'dashboard', path)), { recursive: true });
  writeFileSync(join(dist, 'dashboard', path), file.body);
}
await buildCliBundle();
await buildDaemonBundle();
process.stderr.write(`built ${dist}\n`);
