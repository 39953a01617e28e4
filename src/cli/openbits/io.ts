import type { BitsClient } from '../../client/index.ts';

/** What the openbits command reads and writes; bin/openbits.js binds it to the process. */
export interface OpenbitsIo {
  /** A client for bitsd (autoStart false: only ask, never start one). */
  readonly connect: (options?: { autoStart?: boolean; system?: boolean }) => BitsClient;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly isTTY: boolean;
  readonly columns?: number;
  readonly signal?: AbortSignal;
  /** Relative paths are taken against this folder. */
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** How to run this command again (`node /…/bin/openbits.js`): a detached job's completion. */
  readonly self: readonly string[];
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly now?: () => number;
}
