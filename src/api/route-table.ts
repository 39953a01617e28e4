import type { Operation, PathParams } from './operation.ts';
import { OPERATIONS } from './operations.ts';

/**
 * One operation route: its template split at `/`; `params[i]` names segment i's parameter (a
 * `:name` segment), or is null where the segment is literal text.
 */
interface Route {
  readonly op: Operation;
  readonly segments: readonly string[];
  readonly params: readonly (string | null)[];
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
  /** By method and segment count (`POST 5`), in table order. */
  readonly #routes = new Map<string, Route[]>();

  constructor(operations: readonly Operation[] = Object.values(OPERATIONS) as Operation[]) {
    const seen = new Set<string>();
    for (const op of operations) {
      const key = `${op.method} ${op.path}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const segments = op.path.split('/');
      const params = segments.map((s) => (s.startsWith(':') ? s.slice(1) : null));
      const shape = `${op.method} ${segments.length}`;
      const routes = this.#routes.get(shape) ?? [];
      routes.push({ op, segments, params });
      this.#routes.set(shape, routes);
    }
  }

  match(method: string, path: string): RouteMatch | undefined {
    const parts = path.split('/');
    const routes = this.#routes.get(`${method} ${parts.length}`);
    if (routes === undefined) return undefined;
    for (const route of routes) {
      if (fits(route, parts)) return { op: route.op, params: paramsOf(route, parts) };
    }
    return undefined;
  }
}

/** Every literal segment equal, every parameter non-empty (nothing allocated: most routes fail). */
function fits(route: Route, parts: readonly string[]): boolean {
  for (let i = 0; i < parts.length; i++) {
    const got = parts[i] as string;
    if (route.params[i] === null ? route.segments[i] !== got : got === '') return false;
  }
  return true;
}

function paramsOf(route: Route, parts: readonly string[]): PathParams {
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const name = route.params[i];
    if (name !== null && name !== undefined) params[name] = parts[i] as string;
  }
  return params;
}
