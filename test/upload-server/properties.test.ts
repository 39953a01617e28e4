// Property tests (fast-check): the head parser never fails with anything but a HeadError, and
// random fragment sequences (gaps, overlaps, duplicates, garbage in already-held ranges) against
// a live server follow the §9.2 model exactly and never corrupt held bytes.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { HeadError, parseRequestHead } from '../../src/upload-server/http/request-head.ts';
import {
  createSession,
  type Fixture,
  fragment,
  packet,
  payload,
  removeFixture,
  startFixture,
} from './helpers/fixture.ts';
import { RawClient } from './helpers/raw-client.ts';

let f: Fixture;
before(async () => {
  f = await startFixture();
});
after(async () => {
  await removeFixture(f);
});

describe('properties', () => {
  test('the head parser accepts or throws HeadError, for any bytes', () => {
    const line = fc.stringMatching(/^[\x00-\xff]{0,40}$/);
    fc.assert(
      fc.property(fc.array(line, { maxLength: 8 }), (lines) => {
        const raw = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
        try {
          const head = parseRequestHead(raw);
          assert.ok(head.method.length > 0 && head.target.length > 0);
        } catch (err) {
          assert.ok(err instanceof HeadError, String(err));
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('random fragment sequences follow the R model and the committed file is exact', async () => {
    const total = 4000;
    const data = payload(total, 9);
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat({ max: total - 1 }), fc.integer({ min: 1, max: 1500 })), {
          minLength: 1,
          maxLength: 12,
        }),
        async (steps) => {
          const c = await RawClient.connect(f.port);
          const url = `/prop-${n++}.bin`;
          const { id } = await createSession(c, url);
          let held = 0;
          const send = async (start: number, length: number) => {
            const end = Math.min(total, start + length);
            // Bytes below R are sent as garbage: the server must never write them.
            const body = Buffer.from(data.subarray(start, end));
            body.fill(0xcc, 0, Math.max(0, Math.min(held, end) - start));
            const res = await fragment(c, url, id, start, body, total);
            if (start > held) {
              assert.equal(res.status, 416);
            } else {
              assert.equal(res.status, 200);
              held = Math.max(held, end);
            }
            assert.equal(res.get('BITS-Received-Content-Range'), String(held));
          };
          for (const [start, length] of steps) await send(start, length);
          while (held < total) await send(held, 1500);
          assert.equal((await packet(c, url, 'Close-Session', id)).status, 200);
          assert.deepEqual(await fs.readFile(path.join(f.root, url.slice(1))), data);
          c.destroy();
        },
      ),
      { numRuns: 40 },
    );
  });
});
