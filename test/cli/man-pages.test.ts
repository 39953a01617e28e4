import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { COMMANDS } from '../../src/cli/commands/registry.ts';
import { manPages } from '../../src/cli/man-page.ts';
import { GLOBAL_OPTIONS, helpText, optionFlags, VERBS } from '../../src/cli/openbits/verbs.ts';
import { bitsadmin, makeManager } from './helpers.ts';

/** A man page's text as `man` shows it, near enough: roff escapes undone, requests dropped. */
function plain(roffText: string): string {
  return roffText
    .split('\n')
    .filter((l) => !/^\.(TH|SH|TP|RS|RE)\b/u.test(l))
    .map((l) => l.replace(/^\.B /u, '').replace(/^\\&/u, ''))
    .join('\n')
    .replaceAll('\\-', '-')
    .replaceAll('\\e', '\\');
}

const page = (file: string): string => plain(manPages().find((p) => p.file === file)?.text ?? '');

describe('man pages agree with --help (both come from the switch and verb tables)', () => {
  it('bitsadmin(1) has every switch of `bitsadmin /help`, with its syntax and summary', async () => {
    const help = (await bitsadmin(await makeManager(), ['/help'])).stdout;
    const man = page('bitsadmin.1');
    for (const c of COMMANDS) {
      assert.ok(help.includes(c.syntax), `/help shows ${c.syntax}`);
      assert.ok(man.includes(c.syntax), `bitsadmin.1 shows ${c.syntax}`);
      assert.ok(man.includes(c.summary), `bitsadmin.1 explains /${c.name}`);
    }
  });

  it('openbits(1) has every verb and option of `openbits --help` / `openbits VERB --help`', () => {
    const man = page('openbits.1');
    const top = helpText();
    for (const v of VERBS) {
      assert.ok(top.includes(v.summary), `--help lists ${v.name}`);
      assert.ok(man.includes(`openbits ${v.name} ${v.args}`.trimEnd()), `openbits.1 names ${v.name}`);
      assert.ok(man.includes(v.summary), `openbits.1 explains ${v.name}`);
      const verbHelp = helpText(v);
      for (const o of [...v.options, ...GLOBAL_OPTIONS]) {
        assert.ok(verbHelp.includes(optionFlags(o)), `${v.name} --help shows ${optionFlags(o)}`);
        if (v.options.includes(o)) assert.ok(man.includes(optionFlags(o).trim()), `openbits.1 shows ${optionFlags(o)}`);
        assert.ok(man.includes(o.summary), `openbits.1 explains --${o.long}`);
      }
    }
  });

  it('are well-formed roff: a .TH header, NAME and SYNOPSIS sections, no raw leading dots in text', () => {
    for (const { file, text } of manPages()) {
      assert.match(text, /^\.TH [A-Z]+ 1 /u, file);
      assert.match(text, /^\.SH NAME$/mu, file);
      assert.match(text, /^\.SH SYNOPSIS$/mu, file);
      for (const line of text.split('\n')) {
        if (line.startsWith('.')) assert.match(line, /^\.(TH|SH|TP|B|BR|RS|RE)\b/u, `${file}: ${line}`);
      }
    }
  });
});
