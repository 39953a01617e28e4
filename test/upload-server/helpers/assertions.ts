import assert from 'node:assert/strict';
import type { RawResponse } from './raw-client.ts';

/** Assert an Ack: status, `BITS-Packet-Type: Ack`, `Content-Length: 0`, empty body. */
export function assertAck(res: RawResponse, status: number): void {
  assert.equal(res.status, status, `${res.statusLine} ${JSON.stringify(res.rawHeaders)}`);
  assert.equal(res.get('BITS-Packet-Type'), 'Ack');
  assert.equal(res.get('Content-Length'), '0');
  assert.equal(res.body.length, 0);
}

/** Assert an error Ack with its BITS-Error-Code and BITS-Error-Context. */
export function assertBitsError(res: RawResponse, status: number, code: string, context = '0x5'): void {
  assertAck(res, status);
  assert.equal(res.get('BITS-Error-Code'), code);
  assert.equal(res.get('BITS-Error-Context'), context);
}

/** Assert a success Ack without error headers. */
export function assertOk(res: RawResponse): void {
  assertAck(res, 200);
  assert.ok(!res.has('BITS-Error-Code'), 'no BITS-Error-Code on success');
  assert.ok(!res.has('BITS-Error-Context'), 'no BITS-Error-Context on success');
}

export const E_INVALIDARG = '0x80070057';
export const E_ACCESSDENIED = '0x80070005';
export const BG_E_SESSION_NOT_FOUND = '0x8020001F';
export const BG_E_TOO_LARGE = '0x80200020';
