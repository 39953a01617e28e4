/** The daemon's log lines (pino NDJSON) for people: bitsd on a terminal and `openbits daemon logs`. */
import { styleText } from 'node:util';

const LEVELS: Readonly<Record<number, { name: string; color: Parameters<typeof styleText>[0] }>> = {
  10: { name: 'TRACE', color: 'gray' },
  20: { name: 'DEBUG', color: 'gray' },
  30: { name: 'INFO', color: 'green' },
  40: { name: 'WARN', color: 'yellow' },
  50: { name: 'ERROR', color: 'red' },
  60: { name: 'FATAL', color: 'magenta' },
};

/** Fields every line has; the rest are printed as key=value. */
const SKIP = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg', 'err']);

function value(v: unknown): string {
  if (typeof v === 'string') return /[\s"=]/u.test(v) || v === '' ? JSON.stringify(v) : v;
  return JSON.stringify(v);
}

/**
 * One pino NDJSON line as a person reads it on a terminal:
 * `14:03:07 INFO  job state  job={…} from=QUEUED to=TRANSFERRING`, the error's message and, at
 * debug level, its stack below.
 */
export function prettyLine(json: string, options: { color: boolean } = { color: false }): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const paint = (color: Parameters<typeof styleText>[0], text: string): string =>
    options.color ? styleText(color, text) : text;
  const level = LEVELS[entry.level as number] ?? { name: String(entry.level), color: 'white' as const };
  const time = typeof entry.time === 'number' ? new Date(entry.time).toTimeString().slice(0, 8) : '';
  const fields = Object.entries(entry)
    .filter(([k]) => !SKIP.has(k))
    .map(([k, v]) => `${paint('gray', `${k}=`)}${value(v)}`);
  const err = entry.err as { message?: string; name?: string; stack?: string } | undefined;
  const errText = err === undefined ? '' : ` ${paint('red', `${err.name ?? 'Error'}: ${err.message ?? ''}`)}`;
  const head = `${paint('gray', time)} ${paint(level.color, level.name.padEnd(5))} ${String(entry.msg ?? '')}`;
  return `${[head + errText, ...fields].join('  ')}\n`;
}
