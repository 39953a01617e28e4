import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { transferArgs } from '../adapters/cli-command.ts';
import { singleFilePeers } from '../adapters/peers.ts';
import { alternate, notAvailable, type Scenario } from '../lib/context.ts';
import { runTimed } from '../lib/exec.ts';
import { medianOf, ratioRow } from '../lib/ratio.ts';
import { cliNote, cliSession, SampleTable, warmCli } from './cli-tools.ts';

/** The tool name of the CLI in S11's tables. */
export const TRANSFER_BIG = 'bitsadmin /transfer';

/** S11: `bitsadmin /transfer NAME URL PATH` of the big file to the tmpfs vs `curl -o`, whole processes. */
export const s11: Scenario = {
  id: 'S11',
  title: 'CLI: bitsadmin /transfer of the big file → tmpfs',
  async run(ctx) {
    const route = ctx.ours.cli?.();
    if (!route) return notAvailable('Not available yet: the adapter has no cli capability.');
    const file = ctx.corpus.big;
    const url = ctx.url(file);
    const dest = join(ctx.ws.tmpDest, 'big.bin');
    const args = transferArgs('bench-big', [{ url, dest }]);
    const curl = singleFilePeers(url, dest).find((p) => p.tool === 'curl');
    const notes = [
      `${(file.size / 2 ** 20).toFixed(0)} MiB to the tmpfs; \`bitsadmin ${args.join(' ')}\` vs \`curl -s -f -o ${dest} URL\`, both timed from spawn to exit (the CLI's exit follows Complete, which publishes the file).`,
      cliNote(route, args),
      'stdout is a pipe, so /transfer prints plain progress lines (at most one a second), not the terminal bar.',
    ];
    await warmCli(route, ctx.clientCpu);
    const table = new SampleTable();
    const tools = [
      {
        tool: TRANSFER_BIG,
        run: async () =>
          table.addSession(TRANSFER_BIG, await cliSession(route, ctx.clientCpu, (cli) => cli(args).then(() => {}))),
      },
      ...(curl && ctx.has('curl')
        ? [{ tool: 'curl -o', run: async () => table.addPeer('curl -o', await runTimed(curl.argv, ctx.clientCpu)) }]
        : []),
    ];
    await alternate(
      ctx.runs,
      tools,
      async (t) => {
        // A BITS job keeps the old file until Complete renames over it; start every tool from none.
        rmSync(dest, { force: true });
        await t.run();
      },
      notes,
      ctx.log,
    );
    rmSync(dest, { force: true });
    const measurements = table.measurements();
    const m = (tool: string, metric: string) => medianOf(measurements, tool, metric);
    const ratios = [
      ratioRow('time bitsadmin /transfer / curl -o', m(TRANSFER_BIG, 'time') / m('curl -o', 'time'), {
        op: '<=',
        value: 1.1,
      }),
      ratioRow(
        'CPU (bitsadmin + bitsd) / curl -o',
        m(TRANSFER_BIG, 'CPU, all processes') / m('curl -o', 'CPU, all processes'),
      ),
      ratioRow('bitsadmin peak RSS MiB', m(TRANSFER_BIG, 'peak RSS'), { op: '<', value: 80 }),
    ];
    return { status: 'ok', measurements, ratios, notes };
  },
};
