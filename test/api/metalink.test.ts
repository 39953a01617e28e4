import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseMetalink } from '../../src/api/metalink.ts';
import { assertBitsError } from '../helpers/assert-bits-error.ts';

const H = (c: string, n = 64) => c.repeat(n);

const META4 = `<?xml version="1.0" encoding="UTF-8"?>
<metalink xmlns="urn:ietf:params:xml:ns:metalink" xmlns:x="urn:example:other">
  <published>2026-12-06T00:00:00Z</published>
  <file name="big.iso">
    <size>1048576</size>
    <identity>Example</identity>
    <hash type="sha-256">${H('A')}</hash>
    <hash type="md5">${H('b', 32)}</hash>
    <hash type="sha-3">${H('c')}</hash>
    <pieces length="262144" type="sha-256">
      <hash>${H('1')}</hash><hash>${H('2')}</hash><hash>${H('3')}</hash><hash>${H('4')}</hash>
    </pieces>
    <url location="de" priority="2">https://b.example/big.iso</url>
    <url priority="1">https://a.example/big.iso</url>
    <url priority="3">ftp://c.example/big.iso</url>
    <url>http://d.example/big.iso</url>
    <metaurl mediatype="torrent" priority="1">https://a.example/big.torrent</metaurl>
    <x:url>https://ignored.example/big.iso</x:url>
  </file>
  <file name="small.txt">
    <url>https://a.example/small.txt</url>
  </file>
</metalink>`;

describe('Metalink import (pure)', () => {
  test('Metalink 4: URLs by priority (ftp and other namespaces ignored), digests, pieces, size', () => {
    const [big, small] = parseMetalink(META4);
    assert.deepEqual(big, {
      name: 'big.iso',
      size: 1048576,
      remoteName: 'https://a.example/big.iso',
      mirrors: ['https://b.example/big.iso', 'http://d.example/big.iso'],
      digests: [
        { algorithm: 'sha-256', value: H('a') },
        { algorithm: 'md5', value: H('b', 32) },
      ],
      pieces: { algorithm: 'sha-256', length: 262144, hashes: [H('1'), H('2'), H('3'), H('4')] },
    });
    assert.deepEqual(small, {
      name: 'small.txt',
      size: null,
      remoteName: 'https://a.example/small.txt',
      mirrors: [],
      digests: [],
      pieces: null,
    });
  });

  test('Metalink 3: verification hashes and resources by preference', () => {
    const [f] = parseMetalink(`<?xml version="1.0"?>
<metalink version="3.0" xmlns="http://www.metalinker.org/">
  <files><file name="old.tar.gz">
    <size>42</size>
    <verification><hash type="sha1">${H('e', 40)}</hash><hash type="sha256">${H('f')}</hash></verification>
    <resources>
      <url type="http" preference="10">http://slow.example/old.tar.gz</url>
      <url type="http" preference="100">https://fast.example/old.tar.gz</url>
    </resources>
  </file></files>
</metalink>`);
    assert.equal(f?.remoteName, 'https://fast.example/old.tar.gz');
    assert.deepEqual(f?.mirrors, ['http://slow.example/old.tar.gz']);
    assert.deepEqual(f?.digests, [
      { algorithm: 'sha-1', value: H('e', 40) },
      { algorithm: 'sha-256', value: H('f') },
    ]);
  });

  test('what cannot be imported is BG_E_INVALID_METALINK, entities included (never expanded)', () => {
    const bad = [
      'not xml at all <',
      '<rss xmlns="http://example.org/"/>',
      '<metalink xmlns="urn:ietf:params:xml:ns:metalink"></metalink>',
      '<metalink xmlns="urn:ietf:params:xml:ns:metalink"><file name="../etc/passwd"><url>https://a/x</url></file></metalink>',
      '<metalink xmlns="urn:ietf:params:xml:ns:metalink"><file name="sub/x"><url>https://a/x</url></file></metalink>',
      '<metalink xmlns="urn:ietf:params:xml:ns:metalink"><file name="x"><url>ftp://a/x</url></file></metalink>',
      '<metalink xmlns="urn:ietf:params:xml:ns:metalink"><file name="x"><size>-1</size><url>https://a/x</url></file></metalink>',
      `<!DOCTYPE m [<!ENTITY big "${'x'.repeat(100)}">]><metalink xmlns="urn:ietf:params:xml:ns:metalink"><file name="&big;"><url>https://a/x</url></file></metalink>`,
      '<!DOCTYPE m SYSTEM "file:///etc/passwd"><metalink xmlns="urn:ietf:params:xml:ns:metalink"><file name="x"><url>https://a/&xxe;</url></file></metalink>',
    ];
    for (const doc of bad) assertBitsError(() => parseMetalink(doc), 'BG_E_INVALID_METALINK');
  });
});
