import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BITS_PROTOCOL_GUID,
  formatContentRange,
  formatErrorCode,
  formatErrorContext,
  formatSessionId,
  isValidContentName,
  isValidSessionId,
  normalizeGuid,
  parseAck,
  parseContentRange,
  parseErrorCode,
  parseErrorContext,
  parsePacketType,
  parseReceivedContentRange,
  parseSupportedProtocols,
  resolveReplyUrl,
  selectProtocol,
} from '../../src/core/upload-protocol.ts';

describe('core/upload-protocol', () => {
  test('packet types match case-insensitively and come back in Windows casing', () => {
    assert.equal(parsePacketType('CREATE-SESSION'), 'Create-Session');
    assert.equal(parsePacketType('create-session'), 'Create-Session');
    assert.equal(parsePacketType(' Fragment '), 'Fragment');
    assert.equal(parsePacketType('cancel-session'), 'Cancel-Session');
    assert.equal(parsePacketType('Ack'), undefined);
    assert.equal(parsePacketType('Upload'), undefined);
    assert.equal(parsePacketType(undefined), undefined);
  });

  test('protocol GUID is the lower-case braced BITS 1.5 upload GUID', () => {
    assert.equal(BITS_PROTOCOL_GUID, '{7df0354d-249b-430f-820d-3d2a9bef4931}');
    assert.equal(normalizeGuid('7DF0354D-249B-430F-820D-3D2A9BEF4931'), BITS_PROTOCOL_GUID);
    assert.equal(normalizeGuid('{not-a-guid}'), undefined);
  });

  test('selectProtocol finds the GUID in any case, braced or not, in space or comma lists, echoed verbatim', () => {
    const upper = '{7DF0354D-249B-430F-820D-3D2A9BEF4931}';
    assert.equal(selectProtocol(BITS_PROTOCOL_GUID), BITS_PROTOCOL_GUID);
    assert.equal(selectProtocol(upper), upper);
    assert.equal(selectProtocol(`{11111111-2222-3333-4444-555555555555} ${upper}`), upper);
    assert.equal(selectProtocol(`{11111111-2222-3333-4444-555555555555},${BITS_PROTOCOL_GUID}`), BITS_PROTOCOL_GUID);
    assert.equal(selectProtocol('{11111111-2222-3333-4444-555555555555}'), undefined);
    assert.equal(selectProtocol(''), undefined);
    assert.equal(selectProtocol(undefined), undefined);
    const tooMany = Array.from({ length: 101 }, () => BITS_PROTOCOL_GUID).join(' ');
    assert.equal(parseSupportedProtocols(tooMany), undefined);
    assert.equal(selectProtocol(tooMany), undefined);
  });

  test('Content-Range parses bytes S-E/T and rejects every malformed form', () => {
    assert.deepEqual(parseContentRange('bytes 0-4891/4892'), { start: 0, end: 4891, total: 4892 });
    assert.deepEqual(parseContentRange('BYTES 128-212/300'), { start: 128, end: 212, total: 300 });
    assert.equal(formatContentRange({ start: 0, end: 4891, total: 4892 }), 'bytes 0-4891/4892');
    for (const bad of [
      'bytes 0-4892/4892',
      'bytes 5-4/10',
      'bytes -1-4/10',
      'bytes 0-4/*',
      'bytes */10',
      'items 0-4/10',
      'bytes 0-4/10, 5-9/10',
      'bytes 0-99999999999999999/99999999999999999',
      '',
    ]) {
      assert.equal(parseContentRange(bad), undefined, bad);
    }
  });

  test('BITS-Received-Content-Range is one decimal offset', () => {
    assert.equal(parseReceivedContentRange('213'), 213);
    assert.equal(parseReceivedContentRange(' 0 '), 0);
    assert.equal(parseReceivedContentRange('0-212'), undefined);
    assert.equal(parseReceivedContentRange('-1'), undefined);
    assert.equal(parseReceivedContentRange('0x10'), undefined);
    assert.equal(parseReceivedContentRange(undefined), undefined);
  });

  test('error codes format as 0x%08X and parse tolerantly (0x, bare hex, any case, decimal)', () => {
    assert.equal(formatErrorCode(0x8020001f), '0x8020001F');
    assert.equal(formatErrorCode(0x80070057), '0x80070057');
    assert.equal(formatErrorCode(0), '0x00000000');
    assert.equal(parseErrorCode('0x8020001F'), 0x8020001f);
    assert.equal(parseErrorCode('0x8020001f'), 0x8020001f);
    assert.equal(parseErrorCode('8020001F'), 0x8020001f);
    assert.equal(parseErrorCode('5'), 5);
    assert.equal(parseErrorCode('2149580831'), 0x8020001f);
    assert.equal(parseErrorCode('-2145386465'), 0x8020001f);
    assert.equal(parseErrorCode('0xZZ'), undefined);
    assert.equal(parseErrorCode('0x123456789'), undefined);
    assert.equal(parseErrorCode(undefined), undefined);
  });

  test('error contexts format as 0x5 / 0x7 and parse back', () => {
    assert.equal(formatErrorContext('REMOTE_FILE'), '0x5');
    assert.equal(formatErrorContext('REMOTE_APPLICATION'), '0x7');
    assert.equal(parseErrorContext('0x5'), 5);
    assert.equal(parseErrorContext('7'), 7);
    assert.equal(parseErrorContext('0x100'), undefined);
  });

  test('session ids: IIS form, ≤ 100 visible characters', () => {
    assert.equal(formatSessionId('a0ff5911-4144-45b3-bf27-27afc8ec8a67'), '{A0FF5911-4144-45B3-BF27-27AFC8EC8A67}');
    assert.ok(isValidSessionId('{A0FF5911-4144-45B3-BF27-27AFC8EC8A67}'));
    assert.ok(isValidSessionId('12345'));
    assert.ok(!isValidSessionId('a b'));
    assert.ok(!isValidSessionId('x'.repeat(101)));
    assert.ok(!isValidSessionId(''));
  });

  test('Content-Name: a bare file name of at most 260 characters', () => {
    assert.ok(isValidContentName('rfc2119.txt'));
    for (const bad of ['../x', 'a/b', 'a\\b', 'c:x', 'a*b', '', 'x'.repeat(261)]) {
      assert.ok(!isValidContentName(bad), bad);
    }
  });

  test('parseAck reads any header-name case and the spec spelling BITS-Error', () => {
    const fields = parseAck({
      'bits-packet-type': 'Ack',
      'Bits-Session-Id': '{X}',
      'BITS-RECEIVED-CONTENT-RANGE': '4892',
      'BITS-Error': '0x80200020',
      'BITS-Error-Context': '0x5',
      'BITS-Host-Id': 'FRANKCAO8',
      'BITS-Host-Id-Fallback-Timeout': '110',
    });
    assert.equal(fields.packetType, 'Ack');
    assert.equal(fields.sessionId, '{X}');
    assert.equal(fields.receivedContentRange, 4892);
    assert.equal(fields.errorCode, 0x80200020);
    assert.equal(fields.errorContext, 5);
    assert.equal(fields.hostId, 'FRANKCAO8');
    assert.equal(fields.hostIdFallbackTimeoutS, 110);
    const fromHeaders = parseAck(new Headers({ 'bits-reply-url': 'http://h/r', 'bits-error-code': '8020001f' }));
    assert.equal(fromHeaders.replyUrl, 'http://h/r');
    assert.equal(fromHeaders.errorCode, 0x8020001f);
    assert.equal(fromHeaders.hostIdFallbackTimeoutS, undefined);
  });

  test('resolveReplyUrl handles the IIS relative backslash form and absolute URLs', () => {
    assert.equal(
      resolveReplyUrl(
        'http://frankcao8/upload-ref-isapi-WebFarm/2100mb-rfc2119.txt',
        'BITS-Sessions\\Replies\\{C85B4E0A-9EB9-4114-BFA4-8A43B4710091}\\responsefile.bin',
      ),
      'http://frankcao8/upload-ref-isapi-WebFarm/BITS-Sessions/Replies/%7BC85B4E0A-9EB9-4114-BFA4-8A43B4710091%7D/responsefile.bin',
    );
    assert.equal(resolveReplyUrl('http://a/x/f.txt', 'https://b/r?x=1'), 'https://b/r?x=1');
  });
});
