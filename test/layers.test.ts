import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';

/**
 * The layer arrows of DESIGN.md §2, as data: a layer may import only itself and these. A change
 * that points an arrow the wrong way (core reading the store, the CLI reaching past the client into
 * the service) fails here.
 */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  core: [],
  store: ['core'],
  transfer: ['core'],
  scheduler: ['core'],
  service: ['api', 'scheduler', 'transfer', 'store', 'core'],
  daemon: ['service', 'api', 'core'],
  api: ['core'],
  client: ['api', 'core'],
  cli: ['client', 'api', 'core'],
  'upload-server': ['core'],
};

const SRC = resolve(import.meta.dirname, '../src');

function* files(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else if (entry.name.endsWith('.ts')) yield path;
  }
}

const layerOf = (file: string): string => relative(SRC, file).split('/')[0] ?? '';

describe('layers (DESIGN.md §2)', () => {
  it('every import in src/ follows the arrows', () => {
    const wrong: string[] = [];
    for (const file of files(SRC)) {
      const from = layerOf(file);
      if (!(from in ALLOWED)) continue;
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?:from|import)\s+'(\.[^']+)'/gu)) {
        const target = resolve(file, '..', m[1] as string);
        if (!target.startsWith(SRC)) continue;
        const to = layerOf(target);
        if (to !== from && !(ALLOWED[from] ?? []).includes(to)) wrong.push(`${relative(SRC, file)} → ${m[1]}`);
      }
    }
    assert.deepEqual(wrong, []);
  });

  it('the layer table names every folder of src/', () => {
    const folders = readdirSync(SRC, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    assert.deepEqual(folders, Object.keys(ALLOWED).sort());
  });
});
