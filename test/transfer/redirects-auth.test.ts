import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Credentials, SecurityFlag } from '../../src/core/index.ts';
import { closeDispatchers, downloadFile } from '../../src/transfer/index.ts';
import { RecordedFile, sha256, transferFailure } from '../helpers/download-request.ts';
import { AuthChecker, type AuthSpec } from '../helpers/http-auth.ts';
import { type OriginServer, redirectTo, requireAuth, serve, serving, startOrigin } from '../helpers/origin-server.ts';

const BODY = randomBytes(200_000);
let a: OriginServer;
let b: OriginServer;
let dir: string;
let seq = 0;

before(async () => {
  a = await startOrigin();
  b = await startOrigin();
  dir = await mkdtemp(join(tmpdir(), 'openbits-redirect-'));
  b.route('/final', (req, res) => serve(req, res, BODY, { etag: '"b"' }));
  a.route('/final', (req, res) => serve(req, res, BODY, { etag: '"a"' }));
  a.route('/to-b', (_req, res) => res.writeHead(302, { location: b.url('/final') }).end());
  a.route('/to-a', (_req, res) => res.writeHead(301, { location: '/final' }).end());
  a.route('/to-file', (_req, res) => res.writeHead(302, { location: 'file:///etc/passwd' }).end());
});
after(async () => {
  await a.close();
  await b.close();
  await closeDispatchers();
  await rm(dir, { recursive: true, force: true });
});

const file = (url: string) => new RecordedFile(url, join(dir, `d${++seq}.bin`));

describe('redirect policies', () => {
  test('ALLOW_SILENT (default): followed, remote name kept', async () => {
    const f = file(a.url('/to-a'));
    await downloadFile(f.request());
    assert.equal(f.remoteName, a.url('/to-a'));
    assert.equal(await f.tempSha256(), sha256(BODY));
  });

  test('ALLOW_REPORT: followed, onRemoteNameChanged(final URL)', async () => {
    const f = file(a.url('/to-b'));
    await downloadFile(f.request({ options: { securityFlags: SecurityFlag.REDIRECT_POLICY_ALLOW_REPORT } }));
    assert.equal(f.remoteName, b.url('/final'));
    assert.equal(await f.tempSha256(), sha256(BODY));
  });

  test('ALLOW_REPORT whose hook throws: the error as thrown, the connection of the answer closed', async () => {
    // 8 MiB: more than the socket buffers hold, so the server's connection stays open for as long
    // as nobody reads or closes the body.
    const c = await startOrigin();
    try {
      c.route('/big', serving(randomBytes(8 * 1024 * 1024)));
      a.route('/to-c', redirectTo(c.url('/big')));
      const f = file(a.url('/to-c'));
      const req = f.request({ options: { securityFlags: SecurityFlag.REDIRECT_POLICY_ALLOW_REPORT } });
      const boom = new Error('the hook failed');
      const thrown = await downloadFile({
        ...req,
        hooks: {
          ...req.hooks,
          onRemoteNameChanged: () => {
            throw boom;
          },
        },
      }).catch((err: unknown) => err);
      assert.equal(thrown, boom);
      assert.equal(c.hits('/big').length, 1);
      const deadline = Date.now() + 30_000;
      while (c.openConnections() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      assert.equal(c.openConnections(), 0, 'the dropped answer left its connection open');
    } finally {
      await c.close();
    }
  });

  test('DISALLOW: fatal HTTP_STATUS_REDIRECT, remote name becomes the target, target never asked', async () => {
    const before = b.hits('/final').length;
    const f = file(a.url('/to-b'));
    const err = await transferFailure(
      downloadFile(f.request({ options: { securityFlags: SecurityFlag.REDIRECT_POLICY_DISALLOW } })),
    );
    assert.equal(err.failure.kind, 'fatal');
    assert.equal(err.failure.error.name, 'HTTP_STATUS_REDIRECT');
    assert.equal(f.remoteName, b.url('/final'));
    assert.equal(b.hits('/final').length, before);
  });

  test('redirects to file://, ftp:// and http+unix: are refused', async () => {
    a.route('/to-ftp', redirectTo('ftp://127.0.0.1/etc/passwd'));
    a.route('/to-unix', redirectTo('http+unix://%2Fvar%2Frun%2Fdocker.sock/info'));
    for (const path of ['/to-file', '/to-ftp', '/to-unix']) {
      const err = await transferFailure(downloadFile(file(a.url(path)).request()));
      assert.equal(err.failure.kind, 'fatal', path);
      assert.equal(err.failure.error.name, 'ERROR_HTTP_REDIRECT_FAILED', path);
    }
  });

  test('a server-chosen name (Content-Disposition) is ignored: only the temp file is written', async () => {
    a.route(
      '/disposition',
      serving(BODY, { extraHeaders: { 'content-disposition': 'attachment; filename="../../.bashrc"' } }),
    );
    const sub = await mkdtemp(join(dir, 'cd-'));
    const f = new RecordedFile(a.url('/disposition'), join(sub, 'chosen.bin'));
    await downloadFile(f.request());
    assert.deepEqual(await readdir(sub), [basename(f.temporaryName ?? '')]);
    assert.equal(await f.tempSha256(), sha256(BODY));
  });

  test('cross-origin redirect: Authorization, Cookie and custom headers are not sent to the new origin', async () => {
    const before = b.hits('/final').length;
    const f = file(a.url('/to-b'));
    await downloadFile(
      f.request({
        options: {
          customHeaders: [
            ['X-Api-Key', 'secret-key'],
            ['Authorization', 'Bearer secret-token'],
            ['Cookie', 'session=secret'],
          ],
        },
      }),
    );
    const seenByA = a.hits('/to-b').at(-1)?.headers;
    assert.equal(seenByA?.['x-api-key'], 'secret-key');
    assert.equal(seenByA?.authorization, 'Bearer secret-token');
    const seenByB = b.hits('/final').slice(before);
    assert.equal(seenByB.length, 1);
    for (const name of ['x-api-key', 'authorization', 'cookie'])
      assert.equal(seenByB[0]?.headers[name], undefined, name);
    assert.equal(await f.tempSha256(), sha256(BODY));
  });
});

function protectedRoute(path: string, spec: AuthSpec): void {
  a.route(path, requireAuth(new AuthChecker(spec), serving(BODY)));
}

const creds = (scheme: 'BASIC' | 'DIGEST', password: string): Credentials[] => [
  { target: 'SERVER', scheme, userName: 'alice', password },
];

describe('server authentication', () => {
  for (const [name, spec, scheme] of [
    ['Basic', { scheme: 'basic', user: 'alice', password: 'pw' }, 'BASIC'],
    ['Digest MD5', { scheme: 'digest', user: 'alice', password: 'pw', algorithm: 'MD5' }, 'DIGEST'],
    ['Digest SHA-256', { scheme: 'digest', user: 'alice', password: 'pw', algorithm: 'SHA-256' }, 'DIGEST'],
  ] as const) {
    test(`${name}: 401 challenge answered with the job's credentials`, async () => {
      const path = `/auth-${name.replace(/\W/gu, '')}`;
      protectedRoute(path, spec);
      const f = file(a.url(path));
      await downloadFile(f.request({ options: { credentials: creds(scheme, 'pw') } }));
      assert.equal(await f.tempSha256(), sha256(BODY));
      assert.equal(a.hits(path).length, 2);
    });

    test(`${name}: wrong or missing credentials → fatal BG_E_HTTP_ERROR_401`, async () => {
      const path = `/auth-bad-${name.replace(/\W/gu, '')}`;
      protectedRoute(path, spec);
      const wrong = await transferFailure(
        downloadFile(file(a.url(path)).request({ options: { credentials: creds(scheme, 'nope') } })),
      );
      assert.equal(wrong.failure.kind, 'fatal');
      assert.equal(wrong.failure.error.name, 'BG_E_HTTP_ERROR_401');
      const none = await transferFailure(downloadFile(file(a.url(path)).request()));
      assert.equal(none.failure.error.name, 'BG_E_HTTP_ERROR_401');
    });
  }
});
