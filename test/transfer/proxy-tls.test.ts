import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Credentials, type ProxySettings, SecurityFlag } from '../../src/core/index.ts';
import { closeDispatchers, downloadFile } from '../../src/transfer/index.ts';
import { RecordedFile, sha256, transferFailure } from '../helpers/download-request.ts';
import { AuthChecker } from '../helpers/http-auth.ts';
import { type CountingProxy, startProxy } from '../helpers/http-proxy.ts';
import { type OriginServer, serve, startOrigin } from '../helpers/origin-server.ts';
import { selfSignedCert } from '../helpers/tls-cert.ts';

const BODY = randomBytes(300_000);
let http: OriginServer;
let https: OriginServer;
let misnamed: OriginServer;
let expired: OriginServer;
let dir: string;
let seq = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'openbits-proxy-tls-'));
  http = await startOrigin();
  https = await startOrigin(selfSignedCert('IP:127.0.0.1,DNS:localhost'));
  misnamed = await startOrigin(selfSignedCert('DNS:elsewhere.example'));
  expired = await startOrigin(selfSignedCert('IP:127.0.0.1', -1));
  for (const o of [http, https, misnamed, expired]) o.route('/f', (req, res) => serve(req, res, BODY, { etag: '"p"' }));
  https.route('/to-http', (_req, res) => res.writeHead(302, { location: http.url('/f') }).end());
});
after(async () => {
  await Promise.all([http.close(), https.close(), misnamed.close(), expired.close()]);
  await closeDispatchers();
  await rm(dir, { recursive: true, force: true });
});

const file = (url: string) => new RecordedFile(url, join(dir, `p${++seq}.bin`));
const override = (proxyList: string, bypassList: string | null = null): ProxySettings => ({
  usage: 'OVERRIDE',
  proxyList,
  bypassList,
});

describe('TLS security flags (self-signed certificate made with openssl)', () => {
  test('default: an unknown CA is fatal ERROR_INTERNET_INVALID_CA', async () => {
    const err = await transferFailure(downloadFile(file(https.url('/f')).request()));
    assert.equal(err.failure.kind, 'fatal');
    assert.equal(err.failure.error.name, 'ERROR_INTERNET_INVALID_CA');
  });

  test('IGNORE_UNKNOWN_CA: the self-signed server is accepted', async () => {
    const f = file(https.url('/f'));
    await downloadFile(f.request({ options: { securityFlags: SecurityFlag.IGNORE_UNKNOWN_CA } }));
    assert.equal(await f.tempSha256(), sha256(BODY));
  });

  test('IGNORE_UNKNOWN_CA does not skip the name check; IGNORE_CERT_CN_INVALID does', async () => {
    const err = await transferFailure(
      downloadFile(file(misnamed.url('/f')).request({ options: { securityFlags: SecurityFlag.IGNORE_UNKNOWN_CA } })),
    );
    assert.equal(err.failure.error.name, 'ERROR_INTERNET_SEC_CERT_CN_INVALID');
    const cnOnly = await transferFailure(
      downloadFile(
        file(misnamed.url('/f')).request({ options: { securityFlags: SecurityFlag.IGNORE_CERT_CN_INVALID } }),
      ),
    );
    assert.equal(cnOnly.failure.error.name, 'ERROR_INTERNET_INVALID_CA');
    const f = file(misnamed.url('/f'));
    await downloadFile(
      f.request({
        options: { securityFlags: SecurityFlag.IGNORE_UNKNOWN_CA | SecurityFlag.IGNORE_CERT_CN_INVALID },
      }),
    );
    assert.equal(await f.tempSha256(), sha256(BODY));
  });

  test('an expired certificate needs IGNORE_CERT_DATE_INVALID on top of IGNORE_UNKNOWN_CA', async () => {
    const err = await transferFailure(
      downloadFile(file(expired.url('/f')).request({ options: { securityFlags: SecurityFlag.IGNORE_UNKNOWN_CA } })),
    );
    assert.equal(err.failure.error.name, 'ERROR_INTERNET_SEC_CERT_DATE_INVALID');
    const dateOnly = await transferFailure(
      downloadFile(
        file(expired.url('/f')).request({ options: { securityFlags: SecurityFlag.IGNORE_CERT_DATE_INVALID } }),
      ),
    );
    assert.equal(dateOnly.failure.error.name, 'ERROR_INTERNET_INVALID_CA');
    const f = file(expired.url('/f'));
    await downloadFile(
      f.request({
        options: { securityFlags: SecurityFlag.IGNORE_UNKNOWN_CA | SecurityFlag.IGNORE_CERT_DATE_INVALID },
      }),
    );
    assert.equal(await f.tempSha256(), sha256(BODY));
  });

  test('HTTPS→HTTP redirect refused unless REDIRECT_POLICY_ALLOW_HTTPS_TO_HTTP', async () => {
    const before = http.hits('/f').length;
    const err = await transferFailure(
      downloadFile(file(https.url('/to-http')).request({ options: { securityFlags: SecurityFlag.IGNORE_UNKNOWN_CA } })),
    );
    assert.equal(err.failure.kind, 'fatal');
    assert.equal(err.failure.error.name, 'ERROR_HTTP_REDIRECT_FAILED');
    assert.equal(http.hits('/f').length, before, 'the HTTP origin was never asked');
    const f = file(https.url('/to-http'));
    await downloadFile(
      f.request({
        options: {
          securityFlags: SecurityFlag.IGNORE_UNKNOWN_CA | SecurityFlag.REDIRECT_POLICY_ALLOW_HTTPS_TO_HTTP,
        },
      }),
    );
    assert.equal(await f.tempSha256(), sha256(BODY));
  });
});

describe('proxy usage', () => {
  let proxy: CountingProxy;
  before(async () => {
    proxy = await startProxy();
  });
  after(() => proxy.close());

  test('OVERRIDE: an http target goes through the proxy (absolute-form request)', async () => {
    const f = file(http.url('/f'));
    await downloadFile(f.request({ options: { proxy: override(proxy.url.replace('http://', '')) } }));
    assert.deepEqual(proxy.forwarded.at(-1), http.url('/f'));
    assert.equal(await f.tempSha256(), sha256(BODY));
  });

  test('OVERRIDE: an https target is tunnelled with CONNECT, TLS checked end to end', async () => {
    const before = proxy.tunnels.length;
    const f = file(https.url('/f'));
    await downloadFile(
      f.request({ options: { proxy: override(`https=${proxy.url}`), securityFlags: SecurityFlag.IGNORE_UNKNOWN_CA } }),
    );
    assert.equal(proxy.tunnels.length, before + 1);
    assert.equal(proxy.tunnels.at(-1), `127.0.0.1:${https.port}`);
    assert.equal(await f.tempSha256(), sha256(BODY));
    const err = await transferFailure(
      downloadFile(file(https.url('/f')).request({ options: { proxy: override(proxy.url) } })),
    );
    assert.equal(err.failure.error.name, 'ERROR_INTERNET_INVALID_CA');
  });

  test('OVERRIDE with a bypass entry for the host: direct, the proxy sees nothing', async () => {
    const before = proxy.forwarded.length;
    const f = file(http.url('/f'));
    await downloadFile(f.request({ options: { proxy: override(proxy.url, '<local> 127.0.0.1') } }));
    assert.equal(proxy.forwarded.length, before);
    assert.equal(await f.tempSha256(), sha256(BODY));
  });

  test('NO_PROXY ignores the environment; PRECONFIG uses http_proxy', async () => {
    const before = proxy.forwarded.length;
    const saved = process.env.http_proxy;
    process.env.http_proxy = proxy.url;
    try {
      await downloadFile(
        file(http.url('/f')).request({ options: { proxy: { usage: 'NO_PROXY', proxyList: null, bypassList: null } } }),
      );
      assert.equal(proxy.forwarded.length, before);
      await downloadFile(
        file(http.url('/f')).request({ options: { proxy: { usage: 'PRECONFIG', proxyList: null, bypassList: null } } }),
      );
      assert.equal(proxy.forwarded.length, before + 1);
    } finally {
      if (saved === undefined) delete process.env.http_proxy;
      else process.env.http_proxy = saved;
    }
  });
});

describe('proxy authentication (407)', () => {
  for (const scheme of ['basic', 'digest'] as const) {
    test(`${scheme}: answered with PROXY credentials for http (forward) and https (CONNECT) targets`, async () => {
      const proxy = await startProxy(new AuthChecker({ scheme, user: 'bob', password: 'pw' }));
      try {
        const credentials: Credentials[] = [
          { target: 'PROXY', scheme: scheme === 'basic' ? 'BASIC' : 'DIGEST', userName: 'bob', password: 'pw' },
        ];
        const f = file(http.url('/f'));
        await downloadFile(f.request({ options: { proxy: override(proxy.url), credentials } }));
        assert.equal(await f.tempSha256(), sha256(BODY));
        const g = file(https.url('/f'));
        await downloadFile(
          g.request({
            options: { proxy: override(proxy.url), credentials, securityFlags: SecurityFlag.IGNORE_UNKNOWN_CA },
          }),
        );
        assert.equal(await g.tempSha256(), sha256(BODY));
        assert.ok(proxy.challenges >= 2);
        const err = await transferFailure(
          downloadFile(file(http.url('/f')).request({ options: { proxy: override(proxy.url) } })),
        );
        assert.equal(err.failure.kind, 'fatal');
        assert.equal(err.failure.error.name, 'BG_E_HTTP_ERROR_407');
        const errTunnel = await transferFailure(
          downloadFile(
            file(https.url('/f')).request({
              options: { proxy: override(proxy.url), securityFlags: SecurityFlag.IGNORE_UNKNOWN_CA },
            }),
          ),
        );
        assert.equal(errTunnel.failure.error.name, 'BG_E_HTTP_ERROR_407');
      } finally {
        await proxy.close();
      }
    });
  }
});
