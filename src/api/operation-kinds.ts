import { BitsError } from '../core/bits-error.ts';
import { INTEGER_RANGES, type IntegerRange, inIntegerRange } from '../core/limits.ts';
import type { BitsManager } from './bits-manager.ts';
import {
  type Args,
  type Body,
  type Operation,
  type OperationName,
  defineOperation as op,
  type PathParams,
  type SchemaName,
} from './operation.ts';

/**
 * Path-parameter readers and the one route shape many operations share (a job method that
 * answers nothing), used by the table in operations.ts.
 */

export const job = (id: string): PathParams => ({ id });

/** A path parameter that must be a whole number in its range (a file index). */
export function wholeNumber(params: PathParams, name: string, range: IntegerRange = INTEGER_RANGES.fileIndex): number {
  const raw = params[name] ?? '';
  const n = /^\d{1,16}$/u.test(raw) ? Number(raw) : Number.NaN;
  if (!inIntegerRange(n, range)) {
    throw new BitsError(range.error, `path parameter ${name} must be a whole number from ${range.min} to ${range.max}`);
  }
  return n;
}

/** An HRESULT in a path: decimal or 0x-hex, signed or unsigned. */
export function hresultParam(params: PathParams): number {
  const raw = params.hresult ?? '';
  if (/^0x[0-9a-f]{1,8}$/iu.test(raw)) return Number.parseInt(raw.slice(2), 16);
  if (/^-?\d{1,10}$/u.test(raw)) return Number(raw) >>> 0;
  throw new BitsError('E_INVALIDARG', 'path parameter hresult must be a number (decimal or 0x…)');
}

/** `?files=`: false leaves a job's file list out (GetJob, find); absent means true. */
export function withFiles(raw: string | undefined): boolean {
  if (raw !== undefined && raw !== 'true' && raw !== 'false') {
    throw new BitsError('E_INVALIDARG', 'query parameter files must be true or false');
  }
  return raw !== 'false';
}

/** The lists' `?allUsers=` (EnumJobs, enumJobSummaries): true needs an administrator. */
export function allUsers(query: PathParams): boolean {
  const raw = query.allUsers;
  if (raw !== undefined && raw !== 'true' && raw !== 'false') {
    throw new BitsError('E_INVALIDARG', 'query parameter allUsers must be true or false');
  }
  return raw === 'true';
}

/** The lists' options as their query string. */
export function allUsersQuery(options?: { allUsers?: boolean }): { query: PathParams } {
  return { query: options?.allUsers === true ? { allUsers: 'true' } : {} };
}

export function param(params: PathParams, name: string): string {
  return params[name] ?? '';
}

export const jobPath = '/v1/jobs/:id';

/** What `jobCommand` needs to know of a route. */
export interface JobCommandSpec<K extends OperationName, B extends SchemaName | undefined> {
  readonly name: K;
  readonly method: 'POST' | 'PUT';
  /** Under `/v1/jobs/:id/`. */
  readonly path: string;
  /** The body's schema by name, or undefined for a body-less call. */
  readonly body: B;
  /** The method's arguments (the job id first) as the body. */
  readonly pack: (...args: Args<K>) => Body<B>;
  /** The manager call for a checked body. */
  readonly call: (manager: BitsManager, jobId: string, body: Body<B>) => Promise<unknown>;
}

/**
 * THE route factory for a job method that answers nothing (204): `METHOD /v1/jobs/:id/<path>`,
 * the job id in the path and the other arguments in the body (`pack`), handed back to the
 * manager by `call` once the server has checked the body's shape.
 */
export function jobCommand<K extends OperationName, B extends SchemaName | undefined>(
  spec: JobCommandSpec<K, B>,
): Operation<K, B, undefined> {
  return op({
    name: spec.name,
    method: spec.method,
    path: `${jobPath}/${spec.path}`,
    body: spec.body,
    reply: undefined,
    // A job method's first argument is the job id: it goes in the path.
    encode: (...args: Args<K>) => ({ params: job(String(args[0])), body: spec.pack(...args) }),
    invoke: async (manager, req) => {
      await spec.call(manager, param(req.params, 'id'), req.body);
      return undefined;
    },
  });
}
