import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';

/**
 * One clock (code-style-anchors.md §4 rule 5): time is read only through a Clock, and the real
 * one lives in src/core/clock.ts. Everywhere else in src/ a raw read — `Date.now()`, `new Date()`,
 * `Date()`, `performance.now()`, `process.hrtime` — is an error, because code that reads the
 * time itself cannot be tested on a TestClock (and two real clocks drift apart: before this
 * guard the upload server had its own, which fired delays past 2^31 ms at once).
 */
const CLOCK_MODULES = new Set(['core/clock.ts']);

const SRC = resolve(import.meta.dirname, '../src');

const RAW_READS: ReadonlyArray<readonly [string, RegExp]> = [
  ['Date.now', /\bDate\s*(?:\.\s*now\b|\[\s*['"`]now['"`]\s*\])/gu],
  ['new Date()', /\bnew\s+Date\s*(?:\(\s*\)|(?![\s(]))/gu],
  ['Date()', /(?<!\bnew\s+)(?<![.\w])Date\s*\(\s*\)/gu],
  ['performance.now', /\bperformance\s*(?:\.\s*now\b|\[\s*['"`]now['"`]\s*\])/gu],
  ['process.hrtime', /\bprocess\s*\.\s*hrtime\b/gu],
];

/** Comments blanked out (same length, newlines kept) so prose may name what code may not do. */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/gu, (c) => c.replace(/[^\n]/gu, ' '));
}

/** Every raw time read in `text`, as `line: what`. */
function rawTimeReads(text: string): string[] {
  const code = withoutComments(text);
  const found: Array<[number, string]> = [];
  for (const [what, pattern] of RAW_READS) {
    for (const m of code.matchAll(pattern)) {
      const line = code.slice(0, m.index).split('\n').length;
      found.push([line, what]);
    }
  }
  return found.sort((a, b) => a[0] - b[0]).map(([line, what]) => `${line}: ${what}`);
}

function* files(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else if (entry.name.endsWith('.ts')) yield path;
  }
}

describe('one clock: no raw time reads outside src/core/clock.ts', () => {
  it('src/ reads the time only through a Clock', () => {
    const wrong: string[] = [];
    for (const file of files(SRC)) {
      const name = relative(SRC, file);
      if (CLOCK_MODULES.has(name)) continue;
      for (const hit of rawTimeReads(readFileSync(file, 'utf8'))) wrong.push(`${name}:${hit}`);
    }
    assert.deepEqual(wrong, []);
  });

  it('the clock module itself is what the check would flag (the guard is not blind)', () => {
    const hits = rawTimeReads(readFileSync(join(SRC, 'core/clock.ts'), 'utf8'));
    assert.ok(hits.some((h) => h.endsWith('Date.now')) && hits.some((h) => h.endsWith('performance.now')), hits.join());
  });

  it('fires on every spelling of a raw read, and only on those', () => {
    const code = [
      'const a = Date.now();', // 1
      'const b = new Date();', // 2
      'const c = performance.now();', // 3
      "const d = Date['now']();", // 4
      'const e = String(Date());', // 5
      'const f = process.hrtime.bigint();', // 6
      'const g = new Date;', // 7
      'const ok1 = new Date(ms).toUTCString();', // 8: a conversion, not a read
      'const ok2 = Date.parse(text);', // 9
      '// Date.now() in a comment is prose', // 10
      '/* performance.now() */ const ok3 = clock.wallMs();', // 11
      'const ok4 = myDate(); const ok5 = x.Date();', // 12
    ].join('\n');
    assert.deepEqual(rawTimeReads(code), [
      '1: Date.now',
      '2: new Date()',
      '3: performance.now',
      '4: Date.now',
      '5: Date()',
      '6: process.hrtime',
      '7: new Date()',
    ]);
  });
});
