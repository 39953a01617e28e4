/**
 * `createBitsUploadHandler`: the upload server as a connection handler, for the standalone
 * listener and for mounting in an existing Node HTTP(S) server. Mounting works at the
 * connection level because Node's HTTP parser rejects BITS_POST before any request handler
 * could see it (§11): our parser reads each request first, serves what lies under the URL
 * prefix, and hands anything else — the socket, with the bytes put back — to the app's server.
 */
import { realpath, stat } from 'node:fs/promises';
import type { Server as HttpServer } from 'node:http';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Server as TlsServer } from 'node:tls';
import { Agent } from 'undici';
import type { TimerHandle } from '../core/clock.ts';
import type { ServerContext } from './context.ts';
import { FileSessionStore } from './file-session-store.ts';
import { type ConnectionFallback, serveConnection } from './http/connection.ts';
import { adoptForSlabReads, SlabReader } from './http/receive-slabs.ts';
import { UploadMetrics } from './metrics.ts';
import { type BitsUploadOptions, resolveOptions } from './options.ts';
import { PgSessionStore } from './pg/pg-session-store.ts';
import { createRouter } from './router.ts';
import { SessionFiles } from './session-files.ts';

/**
 * Most of a refused body read and dropped to keep the connection (an early answer, e.g. an
 * unknown session): past this, closing and letting the client reconnect is cheaper than
 * receiving up to a whole fragment (256 MiB by default) only to throw it away.
 */
const MAX_DISCARD_BYTES = 4 * 1024 * 1024;

/** A mountable BITS upload handler. */
export interface BitsUploadHandler {
  /**
   * Serve the requests of one connection (plain or TLS socket). Requests outside the URL
   * prefix go to `fallback` (the socket with the unread bytes put back), or get 404 without one.
   * A plain TCP socket accepted paused (`pauseOnConnect`), without a fallback, reads large
   * bodies straight into shared buffers (receive-slabs.ts).
   */
  handleConnection(socket: Duplex, fallback?: ConnectionFallback): void;
  /**
   * Put this handler in front of an existing `http.Server`/`https.Server`: its connections are
   * read by our parser first; the first request outside the prefix hands the connection over to
   * the server's own HTTP handling for good.
   */
  attach(server: HttpServer): void;
  /** Delete expired sessions (empty ones after the short timeout), old tombstones and orphaned
   * data; returns how many. */
  cleanup(): Promise<number>;
  /** This handler's Prometheus metrics, in a registry of its own (`metrics.registry`). */
  readonly metrics: UploadMetrics;
  /** Stop the periodic cleanup, drop connections, release the session store (sessions stay). */
  close(): Promise<void>;
}

/** Create the handler: loads the sessions on disk, starts the periodic cleanup. */
export async function createBitsUploadHandler(options: BitsUploadOptions): Promise<BitsUploadHandler> {
  // The root itself may be a symlink (an admin's choice); everything below it may not.
  let root: string;
  try {
    root = await realpath(options.root);
  } catch {
    throw new RangeError(`upload root ${options.root} does not exist`);
  }
  if (!(await stat(root)).isDirectory()) throw new RangeError(`upload root ${options.root} is not a folder`);
  const opts = resolveOptions({ ...options, root });
  const files = new SessionFiles(opts.sessionsDir);
  const store =
    opts.databaseUrl === undefined
      ? new FileSessionStore(files)
      : new PgSessionStore(files, { connectionString: opts.databaseUrl, poolSize: opts.databasePoolSize });
  try {
    await store.open();
  } catch (err) {
    await store.close().catch(() => {});
    throw err;
  }
  // Our own agent: the deadline is the injected clock's, and close() can drop its keep-alives.
  const dispatcher = new Agent({ headersTimeout: 0, bodyTimeout: 0 });
  const metrics = new UploadMetrics();
  const ctx: ServerContext = { opts, store, files, dispatcher, metrics };
  const routerWithHandOff = createRouter(ctx, true);
  const routerAlone = createRouter(ctx, false);
  const connections = new Set<Duplex>();

  const cleanup = async (): Promise<number> => {
    const removed = (await store.sweep(opts.expiry, opts.clock.wallMs())).length;
    metrics.sessionsEnded('expired', removed);
    return removed;
  };

  let timer: TimerHandle | undefined;
  let closed = false;
  let sweeping = false;
  let sweepAgain = false;
  const sweep = () => {
    if (sweeping) {
      // A tick during a sweep: sweep once more afterwards, with the clock as it is then.
      sweepAgain = true;
      return;
    }
    sweeping = true;
    cleanup()
      .catch(opts.onError)
      .finally(() => {
        sweeping = false;
        if (sweepAgain && !closed) {
          sweepAgain = false;
          sweep();
        }
      });
  };
  const schedule = () => {
    timer = opts.clock.setTimer(opts.cleanupIntervalMs, () => {
      // Re-arm first, so the period does not drift by the sweep's duration.
      if (!closed) schedule();
      sweep();
    });
  };
  schedule();

  const handleConnection = (accepted: Duplex, fallback?: ConnectionFallback): void => {
    let socket = accepted;
    let slabs: SlabReader | undefined;
    if (fallback === undefined && accepted instanceof Socket) {
      const reader = new SlabReader();
      const adopted = adoptForSlabReads(accepted, reader);
      if (adopted !== undefined) {
        socket = adopted;
        slabs = reader;
      }
    }
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
    serveConnection(
      socket,
      {
        router: fallback === undefined ? routerAlone : routerWithHandOff,
        clock: opts.clock,
        limits: opts.headLimits,
        idleTimeoutMs: opts.idleTimeoutMs,
        headersTimeoutMs: opts.headersTimeoutMs,
        maxDiscard: Math.min(opts.maxFragmentSize, MAX_DISCARD_BYTES),
        fallback: (s) => {
          connections.delete(s);
          fallback?.(s);
        },
        onError: opts.onError,
      },
      slabs,
    ).catch(opts.onError);
  };

  return {
    handleConnection,
    attach(server: HttpServer): void {
      // An https.Server runs HTTP on 'secureConnection' (after the handshake), http on 'connection'.
      const event = server instanceof TlsServer ? 'secureConnection' : 'connection';
      const original = server.listeners(event)[0] as ((socket: Duplex) => void) | undefined;
      if (original === undefined) throw new Error(`server has no ${event} listener to take over`);
      server.removeListener(event, original);
      server.prependListener(event, (socket: Duplex) =>
        handleConnection(socket, (s) => {
          original.call(server, s);
          // Node's HTTP server reads a socket only when it flows; the hand-off paused it.
          s.resume();
        }),
      );
    },
    cleanup,
    metrics,
    async close(): Promise<void> {
      closed = true;
      timer?.cancel();
      for (const s of connections) s.destroy();
      dispatcher.destroy().catch(() => {});
      await store.close();
    },
  };
}
