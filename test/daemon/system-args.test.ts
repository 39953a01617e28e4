import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseService } from '../../src/cli/main.ts';
import { parseDaemonArgs } from '../../src/daemon/args.ts';

describe('bitsd --system arguments', () => {
  it('takes --system with an admin group and a session mode; both need --system', () => {
    const args = parseDaemonArgs(['--system', '--admin-group=wheel', '--sessions=processes']);
    assert.equal(args.system, true);
    assert.equal(args.adminGroup, 'wheel');
    assert.equal(args.sessions, 'processes');
    assert.equal(parseDaemonArgs([]).sessions, 'auto');
    assert.equal(parseDaemonArgs([]).adminGroup, null);
    for (const bad of [
      ['--admin-group=wheel'],
      ['--sessions=none'],
      ['--system', '--sessions=x'],
      ['--system', '--admin-group=a b'],
      ['--system', '--replace'],
      ['--system', '--idle-timeout=60'],
    ]) {
      assert.throws(
        () => parseDaemonArgs(bad),
        (err: Error) => err.name === 'E_INVALIDARG',
        bad.join(' '),
      );
    }
  });
});

describe('which bitsd a bitsadmin line talks to', () => {
  const none = (): boolean => false;
  const running = (): boolean => true;
  it('--system anywhere, or OPENBITS_SYSTEM=1, picks the system daemon and drops the switch', () => {
    assert.deepEqual(chooseService(['/list', '--system'], {}, none), { args: ['/list'], system: true });
    assert.deepEqual(chooseService(['/list'], { OPENBITS_SYSTEM: '1' }, none), { args: ['/list'], system: true });
  });
  it('/allusers picks it when it runs, unless OPENBITS_SYSTEM=0; anything else stays with the user’s daemon', () => {
    assert.equal(chooseService(['/list', '/allusers'], {}, running).system, true);
    assert.equal(chooseService(['/list', '-AllUsers'], {}, running).system, true);
    assert.equal(chooseService(['/list', '/allusers'], {}, none).system, false);
    assert.equal(chooseService(['/list', '/allusers'], { OPENBITS_SYSTEM: '0' }, running).system, false);
    assert.equal(chooseService(['/list'], {}, running).system, false);
  });
});
