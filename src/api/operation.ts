import type { Static, TSchema } from 'typebox';
import type { Compile } from 'typebox/compile';
import { BitsError } from '../core/bits-error.ts';
import type { ErrorName } from '../core/error-codes.ts';
import type { BitsManager } from './bits-manager.ts';
import type * as Schemas from './schemas.ts';

/**
 * A schema of schemas.ts, by name. Operations name their schemas instead of holding them, so
 * that the route table loads without TypeBox (a CLI call that trusts its daemon never needs it);
 * the schemas and their compiled checks load on the first check.
 */
export type SchemaName = {
  [K in keyof typeof Schemas]: (typeof Schemas)[K] extends TSchema ? K : never;
}[keyof typeof Schemas];
type SchemaOf<N extends SchemaName> = (typeof Schemas)[N];

/**
 * The reply header naming the daemon's openbits version. A client of the same version runs the
 * same schemas and trusts the reply's shape; any other version's replies are checked.
 */
export const VERSION_HEADER = 'openbits-version';

/** The BitsManager methods that are plain request/reply calls (not events, not close). */
export type OperationName = Exclude<keyof BitsManager, 'subscribe' | 'events' | 'close'>;
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';
export type PathParams = Readonly<Record<string, string>>;

/** The JSON body a schema (by name) describes (undefined: no body). */
export type Body<B> = B extends SchemaName ? Static<SchemaOf<B>> : undefined;
/** A manager method's arguments. */
export type Args<K extends OperationName> = Parameters<BitsManager[K]>;
/** What a manager method resolves to. */
export type OperationResult<K extends OperationName> = Awaited<ReturnType<BitsManager[K]>>;

/** A call as it travels: path parameters, query string and JSON body. */
export interface WireRequest<B> {
  readonly params?: PathParams;
  readonly query?: PathParams;
  readonly body?: Body<B>;
}

/** What the server hands an operation after checking the request. */
export interface ServerRequest<B> {
  readonly params: PathParams;
  readonly query: PathParams;
  readonly body: Body<B>;
}

interface OperationCore<K extends OperationName, B extends SchemaName | undefined, R extends SchemaName | undefined> {
  readonly name: K;
  readonly method: HttpMethod;
  /** Hono-style template, e.g. `/v1/jobs/:id/priority`. */
  readonly path: string;
  readonly body: B;
  readonly reply: R;
  /** Success status when there is a reply (default 200). */
  readonly status?: 200 | 201;
  encode(...args: Args<K>): WireRequest<B>;
  invoke(manager: BitsManager, req: ServerRequest<B>): Promise<Body<R>>;
  /**
   * The reply's JSON as UTF-8 chunks, sent in order, when the server can make them cheaper than
   * JSON.stringify (same bytes).
   */
  replyChunks?(reply: Body<R>): Buffer[];
}

/** How the client turns a reply into the method's result; a method that answers nothing (204) has none. */
type Decoder<K extends OperationName, R extends SchemaName | undefined> = R extends SchemaName
  ? { decode(reply: Body<R>): OperationResult<K> }
  : { readonly decode?: undefined };

/**
 * One route of the API, described once: the client encodes a method call with it, the server
 * checks and invokes it, the client decodes the reply with it. `reply` undefined means 204.
 */
export type OperationSpec<
  K extends OperationName,
  B extends SchemaName | undefined,
  R extends SchemaName | undefined,
> = OperationCore<K, B, R> & Decoder<K, R>;

export type Operation<
  K extends OperationName = OperationName,
  B extends SchemaName | undefined = SchemaName | undefined,
  R extends SchemaName | undefined = SchemaName | undefined,
> = OperationSpec<K, B, R> & {
  /** Compiled checks (TypeBox `Compile`, loaded on first use). */
  readonly checkBody: ((value: unknown) => Promise<void>) | undefined;
  readonly checkReply: ((value: unknown) => Promise<void>) | undefined;
};

/** Define an operation; its schemas are compiled once, when first used. */
export function defineOperation<
  K extends OperationName,
  B extends SchemaName | undefined,
  R extends SchemaName | undefined,
>(spec: OperationSpec<K, B, R>): Operation<K, B, R> {
  return {
    ...spec,
    checkBody: spec.body === undefined ? undefined : checker(spec.body, 'request body'),
    // A reply of the wrong shape is the daemon's fault (or a version skew), not the caller's.
    checkReply: spec.reply === undefined ? undefined : checker(spec.reply, 'reply', 'E_FAIL'),
  };
}

/**
 * A compiled check that throws (E_INVALIDARG by default) naming the first offending field, e.g.
 * `request body: files[2].localName must be string`.
 */
export function checker(
  schema: SchemaName,
  what: string,
  name: 'E_INVALIDARG' | 'E_FAIL' = 'E_INVALIDARG',
): (value: unknown) => Promise<void> {
  // Compiled on first use: a CLI run needs two or three of the ~45 checks, not all of them.
  let compiled: ReturnType<typeof Compile> | undefined;
  return async (value) => {
    if (compiled === undefined) {
      const [typebox, schemas] = await Promise.all([import('typebox/compile'), import('./schemas.ts')]);
      compiled = typebox.Compile(schemas[schema] as TSchema);
    }
    if (compiled.Check(value)) return;
    const errors = compiled.Errors(value) as readonly SchemaError[];
    const root = (await import('./schemas.ts'))[schema] as TSchema;
    // An integer out of its range answers the code its schema names (`bitsError`), as the store would.
    const coded = errors.map((e) => bitsErrorAt(root, e.schemaPath)).find((n) => n !== undefined);
    throw new BitsError(name === 'E_INVALIDARG' ? (coded ?? name) : name, `${what}: ${describeErrors(errors)}`);
  };
}

/** The `bitsError` of the schema at a JSON pointer (`#/properties/value/anyOf/0`), if any. */
function bitsErrorAt(root: TSchema, pointer: string): ErrorName | undefined {
  let node: unknown = root;
  for (const key of pointer
    .replace(/^#\/?/u, '')
    .split('/')
    .filter((k) => k !== '')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key.replaceAll('~1', '/').replaceAll('~0', '~')];
  }
  const named = (node as { bitsError?: unknown } | undefined)?.bitsError;
  return typeof named === 'string' ? (named as ErrorName) : undefined;
}

interface SchemaError {
  readonly keyword: string;
  readonly schemaPath: string;
  readonly instancePath: string;
  readonly params: unknown;
  readonly message: string;
}

/** The most useful error first: a missing or unknown field, else the deepest type mismatch. */
function describeErrors(errors: readonly SchemaError[]): string {
  for (const e of errors) {
    const params = e.params as { requiredProperties?: string[]; additionalProperties?: string[] };
    if (e.keyword === 'required' && params.requiredProperties !== undefined) {
      return params.requiredProperties.map((p) => `${field(e.instancePath, p)} is required`).join('; ');
    }
    if (e.keyword === 'additionalProperties' && params.additionalProperties !== undefined) {
      return params.additionalProperties.map((p) => `${field(e.instancePath, p)} is not a known field`).join('; ');
    }
  }
  const useful = errors.filter((e) => e.keyword !== 'boolean' && e.keyword !== 'anyOf' && e.keyword !== 'const');
  const best = useful.sort((a, b) => b.instancePath.length - a.instancePath.length)[0] ?? errors[0];
  if (best === undefined) return 'does not match the expected shape';
  const anyOf = errors.some((e) => e.keyword === 'anyOf' && e.instancePath === best.instancePath);
  return `${field(best.instancePath)} ${best.message}${anyOf ? ' (or null)' : ''}`;
}

/** JSON pointer `/files/2/localName` → `files[2].localName`. */
function field(pointer: string, child?: string): string {
  const parts = pointer.split('/').slice(1);
  if (child !== undefined) parts.push(child);
  if (parts.length === 0) return 'the body';
  return parts
    .map((p, i) => (/^\d+$/u.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`))
    .join('')
    .replaceAll('~1', '/')
    .replaceAll('~0', '~');
}
