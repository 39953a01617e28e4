import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { judgeProbe, judgeSegmentAnswer } from '../../src/transfer/segment-answer.ts';

const known = { size: 1000, etag: '"v1"', lastModified: 'Mon, 01 Jan 2024 00:00:00 GMT' };
const asked = { first: 100, last: 199 };
const h = (extra: Record<string, string>) => ({ etag: '"v1"', 'last-modified': known.lastModified, ...extra });

describe('segment answers (pure)', () => {
  test('a 206 for what was asked (or a prefix of it) from the same file is a body', () => {
    assert.deepEqual(judgeSegmentAnswer(206, h({ 'content-range': 'bytes 100-199/1000' }), asked, known), {
      kind: 'body',
      first: 100,
      last: 199,
    });
    assert.deepEqual(judgeSegmentAnswer(206, h({ 'content-range': 'bytes 100-149/1000' }), asked, known), {
      kind: 'body',
      first: 100,
      last: 149,
    });
  });

  test('another size, ETag or Last-Modified, a 412 or an If-Range 200 with new validators: the file changed', () => {
    const changed = [
      judgeSegmentAnswer(206, h({ 'content-range': 'bytes 100-199/1001' }), asked, known),
      judgeSegmentAnswer(206, h({ 'content-range': 'bytes 100-199/1000', etag: '"v2"' }), asked, known),
      judgeSegmentAnswer(206, { 'content-range': 'bytes 100-199/1000', etag: '"v1"' }, asked, known),
      judgeSegmentAnswer(412, {}, asked, known),
      judgeSegmentAnswer(200, h({ 'content-length': '1000', etag: '"v2"' }), asked, known),
      judgeSegmentAnswer(416, { 'content-range': 'bytes */500' }, asked, known),
    ];
    for (const v of changed) assert.equal(v.kind, 'changed', JSON.stringify(v));
  });

  test('other bytes than asked, a bad Content-Length or a 200 of the same file are invalid; errors go to the table', () => {
    const cases: Array<[number, Record<string, string>, string]> = [
      [206, h({ 'content-range': 'bytes 0-99/1000' }), 'response:invalid'],
      [206, h({ 'content-range': 'bytes 100-299/1000' }), 'response:invalid'],
      [206, h({}), 'response:invalid'],
      [206, h({ 'content-range': 'bytes 100-199/1000', 'content-length': '50' }), 'response:invalid'],
      [200, h({ 'content-length': '1000' }), 'response:range-ignored'],
      [204, h({}), 'response:invalid'],
    ];
    for (const [status, headers, key] of cases) {
      const v = judgeSegmentAnswer(status, headers, asked, known);
      assert.equal(v.kind === 'invalid' ? v.key : v.kind, key, `${status} ${JSON.stringify(headers)}`);
    }
    assert.equal(judgeSegmentAnswer(503, {}, asked, known).kind, 'status');
    assert.equal(judgeSegmentAnswer(404, {}, asked, known).kind, 'status');
  });

  test('the probe: only a 206 from byte 0 with a known total enables segments', () => {
    assert.deepEqual(judgeProbe(206, { 'content-range': 'bytes 0-999/1000', etag: '"e"' }), {
      ranged: true,
      last: 999,
      validators: { size: 1000, etag: '"e"', lastModified: null },
    });
    assert.deepEqual(judgeProbe(200, { 'content-length': '1000' }), { ranged: false });
    assert.deepEqual(judgeProbe(206, { 'content-range': 'bytes 0-999/*' }), { ranged: false });
    assert.deepEqual(judgeProbe(206, { 'content-range': 'bytes 5-999/1000' }), { ranged: false });
    assert.deepEqual(judgeProbe(206, { 'content-range': 'bytes 0-999/1000', 'content-length': '10' }), {
      ranged: false,
    });
    assert.deepEqual(judgeProbe(503, {}), { ranged: false });
  });
});
