import type { Operation, PathParams } from './operation.ts';
import { OPERATIONS } from './operations.ts';

/** One operation route: its template split at `/`, `:name` segments being parameters. */
interface Route {
  readonly op: Operation;
  readonly segments: readonly string[];
}

/** A request matched to its operation, with the path's parameters. */
export interface RouteMatch {
  readonly op: Operation;
  readonly params: PathParams;
}

/**
 * The operations table (operations.ts) as a router for the socket's own server: a method and a
 * path (no query, no percent-escapes) to the operation and its parameters, by comparing segments
 * — what Hono's router finds for the same table (strict: no trailing slash, no empty parameter).
 * addFile and addFileWithRanges share POST …/files; the first one takes it, as when mounted.
 */
export class RouteTable {
  readonly #byMethod = new Map<string, Route[]>();

  constructor(operations: readonly Operation[] = Object.values(OPERATIONS) as Operation[]) {
    const seen = new Set<string>();
    for (const op of operations) {
      const key = `${op.method} ${op.path}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const routes = this.#byMethod.get(op.method) ?? [];
      routes.push({ op, segments: op.path.split('/') });
      this.#byMethod.set(op.method, routes);
    }
  }

  match(method: string, path: string): RouteMatch | undefined {
    const routes = this.#byMethod.get(method);
    if (routes === undefined) return undefined;
    const parts = path.split('/');
    for (const route of routes) {
      const params = matchSegments(route.segments, parts);
      if (params !== undefined) return { op: route.op, params };
    }
    return undefined;
  }
}

function matchSegments(template: readonly string[], parts: readonly string[]): PathParams | undefined {
  if (template.length !== parts.length) return undefined;
  let params: Record<string, string> | undefined;
  for (let i = 0; i < template.length; i++) {
    const want = template[i] as string;
    const got = parts[i] as string;
    if (want.startsWith(':')) {
      if (got === '') return undefined;
      params ??= {};
      params[want.slice(1)] = got;
    } else if (want !== got) return undefined;
  }
  return params ?? {};
}
