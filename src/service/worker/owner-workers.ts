import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BitsError, type BitsErrorData, type Clock, type FileSegment, type TimerHandle } from '../../core/index.ts';
import type { PublishItem } from '../../transfer/index.ts';
import type { StoredReply } from '../../transfer/upload/index.ts';
import type { RunContext, RunOutcome } from '../download-runner.ts';
import type { OwnerIo, WebhookPost } from '../owner-io.ts';
import type { UploadReports, UploadRunContext } from '../upload-runner.ts';
import { type CallOp, type FromWorker, fromWire, type ReportArgs, type ToWorker } from './protocol.ts';

/** The account a worker runs as (system-users.ts looks them up). */
export interface WorkerAccount {
  readonly uid: number;
  readonly gid: number;
  readonly name: string;
  readonly home: string;
}

export interface OwnerWorkersOptions {
  readonly clock: Clock;
  /** The account of a uid, or undefined when there is none (then the owner's jobs fail). */
  readonly account: (uid: number) => WorkerAccount | undefined;
  readonly logger: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
  /** bin/openbits-worker.js (default: the one of this package). */
  readonly entry?: string;
  /** A worker with nothing to do exits after this long (default 30 s). */
  readonly idleMs?: number;
  /** Environment the workers inherit from the service (proxies, CA files, locale). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** What a worker may read without asking while no bandwidth limit applies. */
const UNLIMITED_CREDIT = 4 * 1024 * 1024;

const DEFAULT_ENTRY = fileURLToPath(new URL('../../../bin/openbits-worker.js', import.meta.url));

/** What a worker may take from the service's environment; nothing else of root's goes along. */
const PASSED_ENV = [
  'PATH',
  'LANG',
  'LC_ALL',
  'TZ',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'all_proxy',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'ALL_PROXY',
  'NODE_EXTRA_CA_CERTS',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'OPENBITS_RUN_FROM',
];

interface PendingCall {
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

interface PendingRun {
  readonly ctx: RunContext | UploadRunContext;
  resolve(outcome: RunOutcome): void;
  /** A report root could not record (a failed write): the run stops and fails with it. */
  error: unknown;
  /** Stops listening for a limit to begin (set while the worker holds an unlimited grant). */
  stopRevoke?: (() => void) | undefined;
}

/** One owner's worker process and what it is doing. */
class OwnerWorker {
  readonly #child: ChildProcess;
  readonly #uid: number;
  readonly #calls = new Map<number, PendingCall>();
  readonly #runs = new Map<number, PendingRun>();
  readonly #onIdle: () => void;
  readonly #clock: Clock;
  readonly #idleMs: number;
  #idle: TimerHandle | null = null;
  /** Messages held until the worker says it listens. */
  #queue: ToWorker[] | null = [];
  #nextId = 1;
  #exited: Promise<void>;
  #gone = false;

  constructor(
    child: ChildProcess,
    uid: number,
    clock: Clock,
    idleMs: number,
    onIdle: () => void,
    onExit: (why: string) => void,
  ) {
    this.#child = child;
    this.#uid = uid;
    this.#clock = clock;
    this.#idleMs = idleMs;
    this.#onIdle = onIdle;
    child.on('message', (m: FromWorker) => this.#receive(m));
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.#gone = true;
        const why = signal === null ? `exit code ${code}` : `signal ${signal}`;
        this.#fail(why);
        onExit(why);
        resolve();
      });
    });
    // A worker that cannot start (spawn error) ends like one that exited.
    child.once('error', (err) => {
      if (!this.#gone && child.pid === undefined) {
        this.#gone = true;
        this.#fail(err.message);
        onExit(err.message);
      }
    });
  }

  get gone(): boolean {
    return this.#gone;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  call(op: CallOp, args: unknown[], signal?: AbortSignal): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const onAbort = (): void => this.#send({ t: 'abort', id });
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#calls.set(id, {
        resolve: (v) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(v);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      });
      this.#send({ t: 'call', id, op, args });
    });
  }

  run(kind: 'download' | 'upload', ctx: RunContext | UploadRunContext): Promise<RunOutcome> {
    const id = this.#nextId++;
    return new Promise((resolve) => {
      const onAbort = (): void => this.#send({ t: 'abort', id });
      if (ctx.signal.aborted) {
        resolve({ kind: 'aborted' });
        return;
      }
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      this.#runs.set(id, {
        ctx,
        error: undefined,
        resolve: (outcome) => {
          ctx.signal.removeEventListener('abort', onAbort);
          resolve(outcome);
        },
      });
      this.#send({
        t: 'run',
        id,
        kind,
        job: ctx.job,
        options: ctx.options,
        session: 'session' in ctx ? ctx.session : null,
        limited: ctx.limiter !== null,
      });
    });
  }

  #send(message: ToWorker): void {
    this.#idle?.cancel();
    this.#idle = null;
    if (this.#gone || !this.#child.connected) return;
    if (this.#queue !== null) {
      this.#queue.push(message);
      return;
    }
    this.#child.send(message, (err) => {
      if (err !== null && err !== undefined) this.#child.kill('SIGKILL');
    });
  }

  #receive(m: FromWorker): void {
    switch (m.t) {
      case 'ready': {
        const queued = this.#queue ?? [];
        this.#queue = null;
        for (const message of queued) this.#send(message);
        break;
      }
      case 'result': {
        const call = this.#calls.get(m.id);
        if (call === undefined) return;
        this.#calls.delete(m.id);
        if (m.ok) call.resolve(m.value);
        else call.reject(fromWire(m.error));
        break;
      }
      case 'report': {
        const run = this.#runs.get(m.id);
        if (run === undefined || run.error !== undefined) return;
        try {
          applyReport(run.ctx.report as UploadReports, m.name, m.args);
        } catch (err) {
          // As in-process, where the engine would have thrown: stop the run, fail with this.
          run.error = err;
          this.#send({ t: 'abort', id: m.id });
        }
        break;
      }
      case 'take': {
        const run = this.#runs.get(m.id);
        const limiter = run?.ctx.limiter;
        if (run === undefined || limiter === null || limiter === undefined) return;
        // No limit now: a credit of several MiB spares a round trip per read…
        if (limiter.isUnlimited?.() === true) {
          // …and when a limit begins, what is left of the grant is withdrawn at once.
          run.stopRevoke ??= limiter.onLimited?.(() => this.#send({ t: 'revoke', id: m.id }));
          this.#send({ t: 'granted', id: m.id, take: m.take, ok: true, credit: Math.max(m.bytes, UNLIMITED_CREDIT) });
          break;
        }
        const granted = (): void => this.#send({ t: 'granted', id: m.id, take: m.take, ok: true, credit: m.bytes });
        const grant = limiter.take(m.bytes, run.ctx.signal);
        if (grant === null) granted();
        else grant.then(granted, () => this.#send({ t: 'granted', id: m.id, take: m.take, ok: false, credit: 0 }));
        break;
      }
      case 'done': {
        const run = this.#runs.get(m.id);
        if (run === undefined) return;
        this.#runs.delete(m.id);
        run.stopRevoke?.();
        if (run.error !== undefined && !run.ctx.signal.aborted) {
          const message = run.error instanceof Error ? run.error.message : String(run.error);
          run.resolve({ kind: 'failed', fileIndex: null, failure: fatal('E_FAIL', message) });
        } else run.resolve(m.outcome);
        break;
      }
    }
    this.#armIdle();
  }

  /** The process is gone: calls fail, runs end as a transient failure (retried like a lost connection). */
  #fail(why: string): void {
    this.#idle?.cancel();
    const err = new BitsError('E_FAIL', `the worker of uid ${this.#uid} ended (${why})`, { context: 'LOCAL_FILE' });
    for (const call of this.#calls.values()) call.reject(err);
    this.#calls.clear();
    for (const run of this.#runs.values()) {
      run.stopRevoke?.();
      run.resolve(
        run.ctx.signal.aborted
          ? { kind: 'aborted' }
          : {
              kind: 'failed',
              fileIndex: null,
              failure: {
                kind: 'transient',
                error: new BitsError('E_FAIL', `the transfer worker of uid ${this.#uid} ended (${why})`, {
                  context: 'GENERAL_TRANSPORT',
                }).toJSON(),
                retryAfterMs: null,
              },
            },
      );
    }
    this.#runs.clear();
  }

  #armIdle(): void {
    if (this.#calls.size > 0 || this.#runs.size > 0 || this.#idle !== null || this.#gone) return;
    this.#idle = this.#clock.setTimer(this.#idleMs, () => {
      this.#idle = null;
      if (this.#calls.size === 0 && this.#runs.size === 0) this.#onIdle();
    });
  }

  /** Let the worker go (it exits once its channel closes); killed if it lingers. */
  async stop(): Promise<void> {
    this.#idle?.cancel();
    if (this.#gone) return;
    if (this.#child.connected) this.#child.disconnect();
    const kill = this.#clock.setTimer(3_000, () => this.#child.kill('SIGKILL'));
    await this.#exited;
    kill.cancel();
  }
}

function fatal(name: 'E_FAIL' | 'E_ACCESSDENIED', message: string): Extract<RunOutcome, { kind: 'failed' }>['failure'] {
  return { kind: 'fatal', error: new BitsError(name, message, { context: 'LOCAL_FILE' }).toJSON(), retryAfterMs: null };
}

/** A worker's report, handed to the run owner as the in-process engine would have. */
function applyReport(report: UploadReports, name: string, args: unknown[]): void {
  switch (name) {
    case 'connected':
      report.connected();
      break;
    case 'file':
      report.file(...(args as ReportArgs['file']));
      break;
    case 'files':
      report.files(...(args as ReportArgs['files']));
      break;
    case 'checkpoint': {
      const [fileIndex, bytes, syncMs, segments] = args as [number, number, number | null, FileSegment[] | null];
      report.checkpoint(fileIndex, bytes, syncMs ?? undefined, segments ?? undefined);
      break;
    }
    case 'sourceDropped':
      report.sourceDropped(...(args as ReportArgs['sourceDropped']));
      break;
    case 'progress':
      report.progress(...(args as ReportArgs['progress']));
      break;
    case 'session':
      report.session(...(args as ReportArgs['session']));
      break;
    case 'replyProgress':
      report.replyProgress(...(args as ReportArgs['replyProgress']));
      break;
    default:
      throw new BitsError('E_FAIL', `a worker sent an unknown report ${JSON.stringify(name)}`);
  }
}

/**
 * The system daemon's OwnerIo: each owner's files and transfers are handled by a worker process
 * that runs as the owner (bin/openbits-worker.js sets its uid, gid and groups before it loads
 * anything), started on first use and stopped when idle. Root keeps the store, the scheduler
 * and the bandwidth; it never opens a user's path and never parses a server's reply.
 */
export class OwnerWorkers implements OwnerIo {
  readonly #o: OwnerWorkersOptions;
  readonly #workers = new Map<number, OwnerWorker>();
  #closed = false;

  constructor(options: OwnerWorkersOptions) {
    this.#o = options;
  }

  /** Workers running now (tests, metrics). */
  pids(): number[] {
    return [...this.#workers.values()].flatMap((w) => (w.pid === undefined ? [] : [w.pid]));
  }

  #worker(owner: string): OwnerWorker {
    if (this.#closed) throw new BitsError('RPC_S_SERVER_UNAVAILABLE', 'bitsd is stopping');
    const uid = Number(owner);
    if (!/^\d+$/u.test(owner) || !Number.isSafeInteger(uid)) {
      throw new BitsError('E_ACCESSDENIED', `the job's owner ${JSON.stringify(owner)} is not a uid of this machine`);
    }
    const existing = this.#workers.get(uid);
    if (existing !== undefined && !existing.gone) return existing;
    const account = this.#o.account(uid);
    if (account === undefined) {
      throw new BitsError('E_ACCESSDENIED', `the job's owner (uid ${uid}) has no account on this machine any more`);
    }
    const env: Record<string, string> = {};
    const from = this.#o.env ?? process.env;
    for (const name of PASSED_ENV) {
      const value = from[name];
      if (value !== undefined) env[name] = value;
    }
    Object.assign(env, {
      HOME: account.home,
      USER: account.name,
      LOGNAME: account.name,
      OPENBITS_WORKER_UID: String(account.uid),
      OPENBITS_WORKER_GID: String(account.gid),
      OPENBITS_WORKER_USER: account.name,
    });
    const child = spawn(process.execPath, [this.#o.entry ?? DEFAULT_ENTRY], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'json',
      env,
      cwd: '/',
    });
    const worker = new OwnerWorker(
      child,
      uid,
      this.#o.clock,
      this.#o.idleMs ?? 30_000,
      () => {
        if (this.#workers.get(uid) === worker) this.#workers.delete(uid);
        void worker.stop();
      },
      (why) => {
        if (this.#workers.get(uid) === worker) this.#workers.delete(uid);
        this.#o.logger.info({ uid, pid: child.pid, why }, 'worker ended');
      },
    );
    this.#workers.set(uid, worker);
    this.#o.logger.info({ uid, user: account.name, pid: child.pid }, 'worker started');
    return worker;
  }

  async #call<T>(owner: string, op: CallOp, args: unknown[], signal?: AbortSignal): Promise<T> {
    return (await this.#worker(owner).call(op, args, signal)) as T;
  }

  async #run(kind: 'download' | 'upload', owner: string, ctx: RunContext | UploadRunContext): Promise<RunOutcome> {
    let worker: OwnerWorker;
    try {
      worker = this.#worker(owner);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      return { kind: 'failed', fileIndex: null, failure: fatal('E_ACCESSDENIED', message) };
    }
    return worker.run(kind, ctx);
  }

  download(owner: string, ctx: RunContext): Promise<RunOutcome> {
    return this.#run('download', owner, ctx);
  }
  upload(owner: string, ctx: UploadRunContext): Promise<RunOutcome> {
    return this.#run('upload', owner, ctx);
  }
  checkLocalDestinations(owner: string, localNames: readonly string[]): Promise<void> {
    return this.#call(owner, 'checkLocalDestinations', [localNames]);
  }
  checkUploadSource(owner: string, localName: string): Promise<void> {
    return this.#call(owner, 'checkUploadSource', [localName]);
  }
  commitFile(owner: string, temporaryName: string, localName: string, options: object): Promise<void> {
    return this.#call(owner, 'commitFile', [temporaryName, localName, options]);
  }
  commitFiles(owner: string, items: readonly PublishItem[]): Promise<Array<BitsErrorData | null>> {
    return this.#call(owner, 'commitFiles', [items]);
  }
  deleteTempFile(owner: string, path: string): Promise<boolean> {
    return this.#call(owner, 'deleteTempFile', [path]);
  }
  removeLeftovers(owner: string, paths: readonly string[]): Promise<boolean> {
    return this.#call(owner, 'removeLeftovers', [paths]);
  }
  async readReply(owner: string, path: string): Promise<StoredReply> {
    const reply = await this.#call<{ temporaryName: string; size: number; data: string | null }>(owner, 'readReply', [
      path,
    ]);
    return { ...reply, data: reply.data === null ? null : Buffer.from(reply.data, 'base64') };
  }
  discardUploadLocalState(owner: string, state: object): Promise<boolean> {
    return this.#call(owner, 'discardUploadLocalState', [state]);
  }
  cancelUploadSession(owner: string, request: object, signal: AbortSignal) {
    return this.#call<Awaited<ReturnType<OwnerIo['cancelUploadSession']>>>(
      owner,
      'cancelUploadSession',
      [request],
      signal,
    );
  }

  postWebhook(owner: string, post: WebhookPost, signal: AbortSignal): Promise<{ status: number }> {
    return this.#call(owner, 'postWebhook', [post], signal);
  }

  runCommand(owner: string, program: string, args: readonly string[], env: Record<string, string>) {
    return this.#call<number | null>(owner, 'runCommand', [program, args, env]);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#workers.values()];
    this.#workers.clear();
    await Promise.all(all.map((w) => w.stop()));
  }
}
