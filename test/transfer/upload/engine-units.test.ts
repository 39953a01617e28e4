import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAck } from '../../../src/core/upload-protocol.ts';
import { ackFailure, isSessionNotFound } from '../../../src/transfer/upload/ack-failure.ts';
import {
  DEFAULT_FRAGMENT_SIZE,
  FragmentSizer,
  LARGEST_FRAGMENT_SIZE,
  MAX_FRAGMENT_SIZE,
  MIN_FRAGMENT_SIZE,
} from '../../../src/transfer/upload/fragment-size.ts';
import {
  adoptHostId,
  hostIdAnswered,
  hostIdFailed,
  hostIdFallbackDue,
  isUsableHostId,
  packetUrl,
} from '../../../src/transfer/upload/host-id.ts';
import { INITIAL_UPLOAD_SESSION_STATE } from '../../../src/transfer/upload/upload-request.ts';

// Unit tests of the upload engine's pure rules: fragment sizing (§9.4), Host-Id (§5, §9.3),
// error-Ack classification (§6).

test('fragment size: starts at 1 MiB, grows on fast Acks up to 13 MiB, halves on slow ones, never below 5 KB', () => {
  const s = new FragmentSizer();
  assert.equal(s.size, DEFAULT_FRAGMENT_SIZE);
  // At least double on a fast Ack (here 1 MiB in 1.5 s: a second's worth would be less).
  s.acked(s.size, 1_500);
  assert.equal(s.size, 2 * DEFAULT_FRAGMENT_SIZE);
  // Else about a second's worth at the rate the last one went: 2 MiB in 250 ms → 8 MiB.
  s.acked(s.size, 250);
  assert.equal(s.size, 8 * DEFAULT_FRAGMENT_SIZE);
  for (let i = 0; i < 10; i++) s.acked(s.size, 100);
  assert.equal(s.size, MAX_FRAGMENT_SIZE);
  s.acked(s.size, 60_000);
  assert.equal(s.size, MAX_FRAGMENT_SIZE / 2);
  // A short (last) fragment says nothing about speed.
  s.acked(10, 60_000);
  assert.equal(s.size, MAX_FRAGMENT_SIZE / 2);
  assert.equal(s.next(100, 150), 50);
  assert.equal(new FragmentSizer(1).size, MIN_FRAGMENT_SIZE);
  assert.equal(new FragmentSizer(1e12).size, MAX_FRAGMENT_SIZE);
});

test('fragment size: a server-advertised limit replaces the 13 MiB ceiling (at most 256 MiB) and can shrink it; a 413 outranks it', () => {
  const MiB = 1024 * 1024;
  const s = new FragmentSizer();
  s.serverLimit(64 * MiB);
  assert.equal(s.size, DEFAULT_FRAGMENT_SIZE, 'the limit allows growth, it does not start it');
  s.acked(s.size, 2); // 1 MiB in 2 ms: a second's worth is far past the limit
  assert.equal(s.size, 64 * MiB);
  s.serverLimit(10 * 1024 ** 3);
  s.acked(s.size, 0);
  assert.equal(s.size, LARGEST_FRAGMENT_SIZE);
  s.serverLimit(300_000);
  assert.equal(s.size, 300_000, 'a smaller limit shrinks the next fragment at once');
  s.serverLimit(1);
  assert.equal(s.size, MIN_FRAGMENT_SIZE);

  const refused = new FragmentSizer(4 * MiB);
  assert.equal(refused.tooLarge(4 * MiB), true);
  refused.serverLimit(64 * MiB);
  for (let i = 0; i < 5; i++) refused.acked(refused.size, 1);
  assert.equal(refused.size, 2 * MiB, 'never past a size the server refused, whatever it advertises');
});

test('fragment size: 413 halves below the refused length, caps later growth, and gives up at the floor', () => {
  const s = new FragmentSizer(64 * 1024);
  assert.equal(s.tooLarge(64 * 1024), true);
  assert.equal(s.size, 32 * 1024);
  for (let i = 0; i < 5; i++) s.acked(s.size, 10);
  assert.equal(s.size, 32 * 1024, 'no growth back past a refused size');
  while (s.tooLarge(s.size)) {
    /* halve to the floor */
  }
  assert.equal(s.size, MIN_FRAGMENT_SIZE);
  assert.equal(s.tooLarge(MIN_FRAGMENT_SIZE), false);
});

test('Host-Id: replaces only the host, accepts names and IP literals, the timer starts at the first failure and resets on an Ack', () => {
  const origin = new URL('https://farm.example:8443/up/file.bin?x=1');
  let st = adoptHostId(INITIAL_UPLOAD_SESSION_STATE, 'NODE7', 110);
  assert.equal(packetUrl(origin, st).href, 'https://node7:8443/up/file.bin?x=1');
  assert.equal(packetUrl(origin, adoptHostId(st, '::1', undefined)).href, 'https://[::1]:8443/up/file.bin?x=1');
  assert.equal(packetUrl(origin, INITIAL_UPLOAD_SESSION_STATE), origin);
  for (const bad of ['', 'a b', 'evil/path', 'x@y', 'h'.repeat(301)]) assert.equal(isUsableHostId(bad), false, bad);
  assert.equal(adoptHostId(st, 'evil/path', 5).hostId, null);
  st = hostIdFailed(st, 1_000);
  assert.equal(hostIdFailed(st, 5_000).hostIdFailingSinceMs, 1_000, 'the first failure starts the timer');
  assert.equal(hostIdFallbackDue(st, 110_999), false);
  assert.equal(hostIdFallbackDue(st, 111_000), true);
  assert.equal(hostIdFallbackDue(hostIdAnswered(st), 1e12), false);
  const noFallback = hostIdFailed(adoptHostId(INITIAL_UPLOAD_SESSION_STATE, 'NODE7', undefined), 0);
  assert.equal(hostIdFallbackDue(noFallback, 1e15), false);
});

test('error Acks: context 0x7 is REMOTE_APPLICATION, the status table decides transient/fatal, named HRESULTs are kept', () => {
  const ack = (h: Record<string, string>) => parseAck(h);
  const f = ackFailure('Fragment', 500, ack({ 'bits-error-code': '0x80070070', 'bits-error-context': '0x7' }));
  assert.deepEqual([f.kind, f.error.name, f.error.context], ['transient', 'ERROR_DISK_FULL', 'REMOTE_APPLICATION']);
  const g = ackFailure('Fragment', 404, ack({}));
  assert.deepEqual(
    [g.kind, g.error.name, g.error.hresult, g.error.context],
    ['fatal', 'BG_E_HTTP_ERROR_404', 0x80190194, 'REMOTE_FILE'],
  );
  // An HRESULT openbits does not know: the status names the error, the message keeps the code.
  const v = ackFailure('Fragment', 503, ack({ 'bits-error-code': '0xA0001234' }), 5000);
  assert.deepEqual([v.kind, v.error.name, v.retryAfterMs], ['transient', 'BG_E_HTTP_ERROR_503', 5000]);
  assert.match(v.error.message, /0xA0001234/);
  // Fatal whatever the status: BG_E_TOO_LARGE, E_INVALIDARG, E_ACCESSDENIED.
  for (const code of ['0x80200020', '0x80070057', '0x80070005']) {
    assert.equal(ackFailure('Fragment', 500, ack({ 'bits-error-code': code })).kind, 'fatal', code);
  }
  assert.equal(isSessionNotFound(ack({ 'BITS-Error-Code': '0x8020001f' })), true);
  assert.equal(isSessionNotFound(ack({ 'BITS-Error-Code': '0x80070057' })), false);
});
