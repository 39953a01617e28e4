import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/u, '');

it('systemd/openbits.service, installed as documented, runs bin/bitsd.js with the project’s Node', () => {
  const unit = readFileSync(`${root}/systemd/openbits.service`, 'utf8').replaceAll('@OPENBITS_DIR@', root);
  const value = (key: string): string | undefined =>
    unit
      .split('\n')
      .find((l) => l.startsWith(`${key}=`))
      ?.slice(key.length + 1);
  assert.equal(value('Type'), 'simple');
  assert.equal(value('Restart'), 'on-failure');
  assert.equal(value('RestartPreventExitStatus'), '3');
  assert.equal(value('WantedBy'), 'default.target');
  const [node, script, ...rest] = (value('ExecStart') ?? '').split(' ');
  assert.deepEqual(rest, []);
  assert.equal(node, `${root}/node_modules/.bin/node`);
  assert.equal(script, `${root}/bin/bitsd.js`);
  assert.ok(existsSync(node ?? '') && existsSync(script ?? ''));
});
