/**
 * The dashboard's files. A packed package carries them built in dist/dashboard/ (`npm run build`
 * at prepack), served as they are. A checkout — where the sources are — builds them in memory
 * with esbuild (a dev dependency) on first use instead, so a dist/ left by an earlier pack never
 * serves an old page.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { extname, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Files by URL path (`/index.html`, `/assets/app.js`, …). */
export type DashboardFiles = Map<string, { readonly body: Uint8Array; readonly type: string }>;

/** src/api or dist/api → the package root. */
const PACKAGE_ROOT = resolve(import.meta.dirname, '..', '..');

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

async function readBuilt(dir: string): Promise<DashboardFiles> {
  const files: DashboardFiles = new Map();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = join(entry.parentPath, entry.name);
    const type = TYPES[extname(entry.name)];
    if (type === undefined) continue;
    files.set(`/${relative(dir, full).split(sep).join('/')}`, { body: await readFile(full), type });
  }
  return files;
}

let cached: Promise<DashboardFiles> | undefined;

/** The dashboard files: the built ones, else a build from the checkout's dashboard/ sources. */
export function loadDashboardFiles(root: string = PACKAGE_ROOT): Promise<DashboardFiles> {
  const load = async (): Promise<DashboardFiles> => {
    const builder = join(root, 'dashboard', 'build.ts');
    if (existsSync(builder)) {
      const mod = (await import(pathToFileURL(builder).href)) as { buildDashboardFiles(): Promise<DashboardFiles> };
      return mod.buildDashboardFiles();
    }
    const built = join(root, 'dist', 'dashboard');
    if (existsSync(join(built, 'index.html'))) return readBuilt(built);
    throw new Error(`the dashboard is not built (no ${built}): run npm run build`);
  };
  if (root !== PACKAGE_ROOT) return load();
  cached ??= load().catch((err: unknown) => {
    cached = undefined;
    throw err;
  });
  return cached;
}
