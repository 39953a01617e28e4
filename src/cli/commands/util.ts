import { BitsError } from '../bits-vocabulary.ts';
import type { Command, CommandResult } from '../command.ts';
import { arg, expectArgs } from '../parse-values.ts';
import { UsageError } from '../usage-error.ts';
import { BITSADMIN_VERSION, OPENBITS_VERSION } from '../version.ts';
import { dashboardCommand } from './dashboard.ts';

/** `{ quotas: { maxFilesPerJob: 200 } }` → `[['quotas.maxFilesPerJob', 200]]`. */
function flatten(policy: Record<string, unknown>, prefix = ''): Array<[string, unknown]> {
  return Object.entries(policy).flatMap(
    ([k, v]): Array<[string, unknown]> =>
      typeof v === 'object' && v !== null && !Array.isArray(v)
        ? flatten(v as Record<string, unknown>, `${prefix}${k}.`)
        : [[`${prefix}${k}`, v]],
  );
}

/** A policy value typed on the command line: a number, true/false, null, JSON ({…} or […]), or the text. */
function policyValue(text: string): unknown {
  if (/^-?\d+(\.\d+)?$/u.test(text)) return Number(text);
  if (/^\s*[[{]/u.test(text)) {
    try {
      return JSON.parse(text);
    } catch {
      throw new UsageError(`not valid JSON: ${text}`, 'util');
    }
  }
  const lower = text.toLowerCase();
  if (lower === 'true' || lower === 'false') return lower === 'true';
  if (lower === 'null') return null;
  return text;
}

const show = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

/** The /util sub-switches openbits offers. */
export const UTIL_SYNTAX = '/util /version | /getpolicy [<key>] | /setpolicy <key> <value> | /dashboard | /help';

/** /util: versions and service policies. */
export const utilCommand: Command = {
  name: 'util',
  syntax: UTIL_SYNTAX,
  summary: 'Utilities: versions, service policies, the web dashboard',
  async run(ctx): Promise<CommandResult | number> {
    const sub = (ctx.args[0] ?? '').toLowerCase().replace(/^(--|-|\/)/u, '');
    const rest = ctx.args.slice(1);
    switch (sub) {
      case 'version': {
        expectArgs('util', rest, 0);
        const text = `BITSADMIN ${BITSADMIN_VERSION} openbits ${OPENBITS_VERSION}`;
        return { text, raw: OPENBITS_VERSION, json: { bitsadmin: BITSADMIN_VERSION, openbits: OPENBITS_VERSION } };
      }
      case 'getpolicy': {
        expectArgs('util', rest, 0, 1);
        const policy = await (await ctx.manager()).getPolicy();
        const entries = flatten(policy);
        if (rest.length === 1) {
          const key = arg(rest, 0).toLowerCase();
          const found = entries.find(([k]) => k.toLowerCase() === key);
          if (found === undefined) throw new BitsError('E_INVALIDARG', `no policy named ${arg(rest, 0)}`);
          return { text: show(found[1]), raw: show(found[1]), json: found[1] };
        }
        const text = entries.map(([k, v]) => `${k}: ${show(v)}`).join('\n');
        return { text, raw: text, json: policy };
      }
      case 'setpolicy': {
        expectArgs('util', rest, 2);
        const policy = await (await ctx.manager()).setPolicy(arg(rest, 0), policyValue(arg(rest, 1)));
        return { text: `Policy ${arg(rest, 0)} set to ${arg(rest, 1)}.`, json: policy };
      }
      case 'dashboard':
        return dashboardCommand(ctx, rest);
      case 'help':
      case '?':
      case '':
        return { text: `Usage: bitsadmin ${UTIL_SYNTAX}`, raw: UTIL_SYNTAX, json: { syntax: UTIL_SYNTAX } };
      default:
        throw new UsageError(`unknown /util switch: ${ctx.args[0]}`, 'util');
    }
  },
};
