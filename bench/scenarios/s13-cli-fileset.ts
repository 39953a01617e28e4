import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CliPair, fileSetText, parseCreatedJob } from '../adapters/cli-command.ts';
import type { BenchContext } from '../lib/context.ts';
import { sleep } from '../lib/exec.ts';
import { manyFilesScenario } from './cli-many-files.ts';
import { type CliRunner, cliNote } from './cli-tools.ts';

/** The pause between two `/getstate` polls of the wait loop, ms (`sleep 0.1` in a script). */
export const POLL_PAUSE_MS = 100;
/** Give up waiting after this long (a stuck job fails the run, it does not hang the suite). */
const WAIT_LIMIT_MS = 600_000;
const TOOL = 'bitsadmin /create … /complete';

function fileSetPath(ctx: BenchContext): string {
  return join(ctx.ws.scratch, 'cli-small-fileset.txt');
}

/**
 * The steps of a script: create, add the list, resume, poll the state until TRANSFERRED, complete;
 * returns the seconds each step took. A job left behind by a failure is cancelled.
 */
async function fileSetSession(
  cli: CliRunner,
  _pairs: readonly CliPair[],
  ctx: BenchContext,
): Promise<Record<string, number>> {
  const listPath = fileSetPath(ctx);
  const steps: Record<string, number> = {};
  let at = performance.now();
  const step = (name: string) => {
    const now = performance.now();
    steps[`step ${name}`] = (now - at) / 1000;
    at = now;
  };
  const job = parseCreatedJob((await cli(['/rawreturn', '/create', 'bench-fileset'])).stdout);
  step('/create');
  try {
    await cli(['/addfileset', job, listPath]);
    step('/addfileset');
    await cli(['/resume', job]);
    step('/resume');
    const deadline = performance.now() + WAIT_LIMIT_MS;
    for (;;) {
      const state = (await cli(['/rawreturn', '/getstate', job])).stdout.trim();
      if (state === 'TRANSFERRED') break;
      if (state === 'ERROR' || state === 'TRANSIENT_ERROR') throw new Error(`job ${job} went ${state}`);
      if (performance.now() > deadline) throw new Error(`job ${job} still ${state} after ${WAIT_LIMIT_MS} ms`);
      await sleep(POLL_PAUSE_MS);
    }
    step('wait (/getstate loop)');
    await cli(['/complete', job]);
    step('/complete');
    return steps;
  } catch (error) {
    await cli(['/cancel', job]).catch(() => undefined);
    throw error;
  }
}

/** S13: `/create` + `/addfileset FILE` + `/resume` + a `/getstate` wait loop + `/complete` vs `wget -i`. */
export const s13 = manyFilesScenario({
  id: 'S13',
  title: 'CLI: bitsadmin /create, /addfileset, /resume, wait, /complete → disk',
  tool: TOOL,
  notes: (route, pairs, ctx) => [
    `A script of ${pairs.length} pairs: \`job=$(bitsadmin /rawreturn /create bench-fileset)\`; \`bitsadmin /addfileset $job ${fileSetPath(ctx)}\`; \`bitsadmin /resume $job\`; \`until [ "$(bitsadmin /rawreturn /getstate $job)" = TRANSFERRED ]; do sleep ${POLL_PAUSE_MS / 1000}; done\`; \`bitsadmin /complete $job\`. Time = first spawn → last exit; every process counts (the wait loop's too: "bitsadmin processes" says how many ran).`,
    cliNote(route, ['/addfileset', 'JOB', fileSetPath(ctx)]),
  ],
  prepare(pairs, ctx) {
    writeFileSync(fileSetPath(ctx), fileSetText(pairs));
  },
  session: fileSetSession,
});
