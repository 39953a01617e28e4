import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { connect } from '../../src/client/index.ts';
import { BitsError } from '../../src/core/index.ts';
import { tempDir } from '../api/helpers.ts';
import { spawnDaemon, stopDaemon } from './helpers.ts';

const run = promisify(execFile);
const BITSADMIN = join(import.meta.dirname, '../../bin/bitsadmin.js');

describe('the policy through bitsd (API routes and bitsadmin /util)', () => {
  it('getPolicy shows the defaults; setPolicy writes config.json and applies it; a bad value names its key', async () => {
    const home = await tempDir('openbits-policy-');
    const daemon = await spawnDaemon(home.path);
    const client = connect({ socketPath: daemon.socketPath, autoStart: false });
    try {
      const policy = await client.getPolicy();
      assert.deepEqual(policy.quotas, {
        maxJobsPerUser: 60,
        maxJobsPerMachine: 300,
        maxFilesPerJob: 200,
        maxRangesPerFile: 500,
      });
      assert.equal(policy.maxBackgroundJobs, 1);
      const next = await client.setPolicy('bandwidth.timetable', 'Mon-08:00,512k Sat-00:00,off');
      assert.equal((next.bandwidth as { timetable: string }).timetable, 'Mon-08:00,524288 Sat-00:00,off');
      assert.deepEqual(JSON.parse(readFileSync(join(home.path, 'config.json'), 'utf8')), {
        bandwidth: { timetable: 'Mon-08:00,512k Sat-00:00,off' },
      });
      await assert.rejects(
        client.setPolicy('maxBackgroundJobs', 0),
        (err: unknown) =>
          err instanceof BitsError && err.name === 'E_INVALIDARG' && /maxBackgroundJobs/.test(err.message),
      );
      writeFileSync(join(home.path, 'config.json'), JSON.stringify({ maxBackgroundJobs: 4 }));
      assert.equal((await client.reloadPolicy()).maxBackgroundJobs, 4);

      const env = { ...process.env, OPENBITS_HOME: home.path, OPENBITS_NO_AUTOSTART: '1' };
      const set = await run(process.execPath, [BITSADMIN, '/util', '/setpolicy', 'quotas.maxFilesPerJob', '10'], {
        env,
      });
      assert.equal(set.stderr, '');
      const shown = await run(
        process.execPath,
        [BITSADMIN, '/rawreturn', '/util', '/getpolicy', 'quotas.maxFilesPerJob'],
        {
          env,
        },
      );
      assert.equal(shown.stdout.trim(), '10');
    } finally {
      await client.close();
      assert.equal(await stopDaemon(daemon), 0);
      await home.remove();
    }
  });
});
