import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ERROR_CODES, errorInfo, formatHresult, httpErrorName } from '../../src/core/index.ts';

// docs/errors.md is written by hand from the registry; this keeps the two from drifting apart.
const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
const rows = new Map<string, { hresult: string; http: string }>();
for (const m of doc.matchAll(/^\| `([A-Z0-9_]+)` \| `(0x[0-9a-f]{8})` \| (\d{3}) \|/gmu)) {
  const [, name, hresult, http] = m as unknown as [string, string, string, string];
  assert.ok(!rows.has(name), `docs/errors.md lists ${name} twice`);
  rows.set(name, { hresult, http });
}

test('docs/errors.md lists every registered error with its HRESULT and HTTP status', () => {
  for (const [name, info] of Object.entries(ERROR_CODES)) {
    const row = rows.get(name);
    assert.ok(row !== undefined, `docs/errors.md does not list ${name}`);
    assert.equal(row.hresult, formatHresult(info.hresult), `${name}: HRESULT`);
    assert.equal(Number(row.http), info.httpStatus, `${name}: HTTP status`);
  }
});

test('docs/errors.md lists nothing the registry does not have', () => {
  for (const name of rows.keys()) assert.ok(Object.hasOwn(ERROR_CODES, name), `${name} is not in ERROR_CODES`);
});

test('the HTTP-status examples in docs/errors.md are right', () => {
  for (const status of [404, 503]) {
    const hresult = formatHresult(errorInfo(httpErrorName(status))?.hresult ?? 0);
    const flat = doc.replace(/\s+/gu, ' ');
    assert.ok(flat.includes(`\`${httpErrorName(status)}\` = \`${hresult}\``), `${status} should read ${hresult}`);
  }
});
