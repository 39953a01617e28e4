import { prettyLine } from '../api/log-format.ts';

/** A pino destination that prettifies each line before writing it to `out` (stderr on a TTY). */
export function prettyDestination(out: NodeJS.WritableStream & { isTTY?: boolean }): { write(line: string): boolean } {
  const color = out.isTTY === true && process.env.NO_COLOR === undefined;
  return {
    write(line) {
      return out.write(prettyLine(line, { color }));
    },
  };
}
