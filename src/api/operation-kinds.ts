import { BitsError } from '../core/bits-error.ts';
import { type OperationResult, defineOperation as op, type PathParams } from './operation.ts';

/**
 * Path-parameter readers and the route shapes many operations share (setters with `{ value }`,
 * body-less actions), used by the table in operations.ts.
 */

export const job = (id: string): PathParams => ({ id });

/** A path parameter that must be a whole number (file index). */
export function wholeNumber(params: PathParams, name: string): number {
  const raw = params[name] ?? '';
  if (!/^\d{1,10}$/u.test(raw)) throw new BitsError('E_INVALIDARG', `path parameter ${name} must be a whole number`);
  return Number(raw);
}

/** An HRESULT in a path: decimal or 0x-hex, signed or unsigned. */
export function hresultParam(params: PathParams): number {
  const raw = params.hresult ?? '';
  if (/^0x[0-9a-f]{1,8}$/iu.test(raw)) return Number.parseInt(raw.slice(2), 16);
  if (/^-?\d{1,10}$/u.test(raw)) return Number(raw) >>> 0;
  throw new BitsError('E_INVALIDARG', 'path parameter hresult must be a number (decimal or 0x…)');
}

export function param(params: PathParams, name: string): string {
  return params[name] ?? '';
}

export const jobPath = '/v1/jobs/:id';

/** A setter: PUT /v1/jobs/:id/<property> with `{ value }`. */
export function setter<K extends 'setDisplayName' | 'setDescription'>(name: K, property: string) {
  return op({
    name,
    method: 'PUT',
    path: `${jobPath}/${property}`,
    body: 'StringValue',
    reply: undefined,
    encode: (id: string, value: string) => ({ params: job(id), body: { value } }),
    invoke: async (m, r) => {
      await m[name](param(r.params, 'id'), r.body.value);
      return undefined;
    },
    // Generic over K, so TypeScript cannot see that every K here resolves to void.
    decode: () => undefined as OperationResult<K>,
  });
}

export type NumberSetter =
  | 'setNotifyFlags'
  | 'setMinimumRetryDelay'
  | 'setNoProgressTimeout'
  | 'setMaximumDownloadTime'
  | 'setSecurityFlags'
  | 'setMaxBandwidth';
export function numberSetter<K extends NumberSetter>(name: K, property: string) {
  return op({
    name,
    method: 'PUT',
    path: `${jobPath}/${property}`,
    body: 'NumberValue',
    reply: undefined,
    encode: (id: string, value: number) => ({ params: job(id), body: { value } }),
    invoke: async (m, r) => {
      await m[name](param(r.params, 'id'), r.body.value);
      return undefined;
    },
    // Generic over K, so TypeScript cannot see that every K here resolves to void.
    decode: () => undefined as OperationResult<K>,
  });
}

export function booleanSetter<K extends 'setDynamicContent' | 'setHighPerformance'>(name: K, property: string) {
  return op({
    name,
    method: 'PUT',
    path: `${jobPath}/${property}`,
    body: 'BooleanValue',
    reply: undefined,
    encode: (id: string, value: boolean) => ({ params: job(id), body: { value } }),
    invoke: async (m, r) => {
      await m[name](param(r.params, 'id'), r.body.value);
      return undefined;
    },
    // Generic over K, so TypeScript cannot see that every K here resolves to void.
    decode: () => undefined as OperationResult<K>,
  });
}

/** POST /v1/jobs/:id/<action> without a body. */
export function action<K extends 'resume' | 'suspend' | 'makeCustomHeadersWriteOnly' | 'takeOwnership'>(
  name: K,
  path: string,
) {
  return op({
    name,
    method: 'POST',
    path: `${jobPath}/${path}`,
    body: undefined,
    reply: undefined,
    encode: (id: string) => ({ params: job(id) }),
    invoke: async (m, r) => {
      await m[name](param(r.params, 'id'));
      return undefined;
    },
    // Generic over K, so TypeScript cannot see that every K here resolves to void.
    decode: () => undefined as OperationResult<K>,
  });
}

/** POST /v1/jobs/:id/<action> answering `{ result }`. */
export function resultAction<K extends 'cancel' | 'complete'>(name: K) {
  return op({
    name,
    method: 'POST',
    path: `${jobPath}/${name}`,
    body: undefined,
    reply: 'ResultReply',
    encode: (id: string) => ({ params: job(id) }),
    invoke: async (m, r) => ({ result: await m[name](param(r.params, 'id')) }),
    decode: (reply) => reply.result as OperationResult<K>,
  });
}
