import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { median } from '../../bench/lib/stats.ts';
import { curlFor, yieldTimeline } from '../../bench/lib/yield-run.ts';
import { type Bottleneck, startBottleneck } from '../helpers/bottleneck.ts';
import { tempDir } from '../helpers/manager-harness.ts';

/**
 * Issue 15 in a real bottleneck: two network namespaces, a 20 Mbit/s tbf link with a 50 ms queue,
 * nginx behind it, the real bitsd and a real curl in the client namespace. The bounds are loose
 * (a loaded 2-core machine); the benchmark (S15, `npm run bench:yield`) measures the figures.
 */
describe('yielding in a 20 Mbit/s bottleneck (netns + veth + tbf; needs root)', () => {
  let link: Bottleneck;
  const dir = tempDir('openbits-yield-');

  before(async () => {
    link = await startBottleneck({ prefix: 'ledbat', dir: join(dir, 'nginx') });
  });
  after(async () => {
    await link?.close();
  });

  it('a NORMAL job fills the idle link, gives way to a foreground curl and takes the link back', async (t) => {
    const solo = await curlFor(link, 8).rate;
    const run = await yieldTimeline(link, join(dir, 'home'), {
      aloneSeconds: 16,
      // 12 s, not S15's 8: on a loaded machine giving way takes up to ~5 s (1.8 s quiet), and
      // the foreground's whole-download share below would then measure mostly that delay.
      foregroundSeconds: 12,
      afterSeconds: 8,
    });
    const share = run.aloneRate / link.rateBytes;
    const beside = run.foregroundRate / solo;
    // Every figure in one line, so a failure on a loaded machine says what else happened.
    t.diagnostic(
      `alone share ${share.toFixed(2)}, foreground kept ${beside.toFixed(2)}, gave way in ${run.givesWaySeconds.toFixed(1)} s, ` +
        `took back in ${run.takesBackSeconds.toFixed(1)} s, ping ${median(run.pingMs)} ms`,
    );
    assert.ok(share >= 0.5, `alone openbits used ${share.toFixed(2)} of the link`);
    assert.ok(beside >= 0.6, `the foreground kept ${beside.toFixed(2)} of its solo rate beside openbits`);
    assert.ok(run.givesWaySeconds <= 5, `gave way in ${run.givesWaySeconds.toFixed(1)} s`);
    assert.ok(run.takesBackSeconds <= 8, `took the link back in ${run.takesBackSeconds.toFixed(1)} s`);
    assert.ok(median(run.pingMs) <= 60, `ping ${median(run.pingMs)} ms beside openbits alone`);
    // The job said how its rate was decided: yielding, on the veth it watched.
    assert.equal(run.status?.mode, 'yielding', JSON.stringify(run.status));
    assert.equal(run.status?.interface, link.clientIf);
    assert.ok((run.status?.rate ?? 0) > 0);
  });
});
