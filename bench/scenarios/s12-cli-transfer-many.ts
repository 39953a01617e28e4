import { abbreviate, transferArgs } from '../adapters/cli-command.ts';
import { manyFilesScenario } from './cli-many-files.ts';
import { cliNote } from './cli-tools.ts';

/** S12: one `bitsadmin /transfer NAME /priority foreground URL PATH …` with every small file vs `wget -i`. */
export const s12 = manyFilesScenario({
  id: 'S12',
  title: 'CLI: bitsadmin /transfer of many small files → disk',
  tool: 'bitsadmin /transfer ×N',
  notes: (route, pairs) => {
    const args = transferArgs('bench-many', pairs, 'foreground');
    return [
      `One process: \`bitsadmin ${abbreviate(args, 6)}\` (${pairs.length} URL/path pairs on the command line); it exits after Complete.`,
      cliNote(route, args),
    ];
  },
  async session(cli, pairs) {
    await cli(transferArgs('bench-many', pairs, 'foreground'));
    return undefined;
  },
});
