import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Clock, type JobPriority, type JobState, systemClock } from '../core/index.ts';
import type { NetworkSource } from '../scheduler/network.ts';
import { Scheduler } from '../scheduler/scheduler.ts';
import { openSqliteJobStore } from '../store/index.ts';
import type { JobStore } from '../store/job-store.ts';
import { BandwidthControl } from './bandwidth-control.ts';
import { readBootId } from './boot-id.ts';
import { EventHub } from './event-hub.ts';
import { JobAccess } from './job-access.ts';
import { toJobInfo, withLiveProgress } from './job-info.ts';
import { JobLocks } from './job-locks.ts';
import { JobRuns } from './job-runs.ts';
import { JobTransitions, outcomeOf } from './job-transitions.ts';
import { kernelLinkProbes } from './link-counters.ts';
import { ListedViews } from './listed-views.ts';
import { ServiceMetrics, storedJob, type TimedStep } from './metrics/service-metrics.ts';
import { type MeteredReader, NetworkCost, networkManagerMetered } from './network-cost.ts';
import { NotifyCommandRunner } from './notify-cmdline.ts';
import { localIo, type OwnerIo } from './owner-io.ts';
import { ALWAYS_PRESENT, type OwnerPresence } from './owner-presence.ts';
import { PolicyControl } from './policy-control.ts';
import type { Policy } from './policy-file.ts';
import { ProcNetworkSource } from './proc-network-source.ts';
import { UploadReplies } from './upload-reply.ts';
import { WaitConditions } from './wait-conditions.ts';
import type { WebhookLogger, WebhookRetryPolicy } from './webhooks/sender.ts';
import { Webhooks } from './webhooks/webhooks.ts';
import type { LinkProbes, YieldTrace } from './yield-control.ts';

export interface ManagerOptions {
  /** Folder for the job database (`jobs.db`); created 0700 if missing. */
  readonly home: string;
  readonly clock?: Clock;
  /** Owner recorded on new jobs (default: this process's uid). */
  readonly owner?: string;
  /** Admins are exempt from quotas and may list all users' jobs (default: uid 0). */
  readonly isAdmin?: boolean;
  /** Policy settings; `policyFile` (config.json) is read first, these override it. */
  readonly policy?: Partial<Policy>;
  readonly policyFile?: string;
  /** Where network connectivity comes from (default: the kernel's routing tables). */
  readonly network?: NetworkSource;
  /** Loopback and file:// sources keep running when the network is down (default true). */
  readonly loopbackWithoutNetwork?: boolean;
  /** Use this store instead of opening `home/jobs.db`. */
  readonly store?: JobStore;
  /**
   * Nothing else writes `home/jobs.db` while this manager runs (bitsd holds the instance lock):
   * the store's reads of cached records need not ask whether another connection wrote
   * (SqliteJobStoreOptions.soleWriter). A library's manager leaves it off.
   */
  readonly soleWriter?: boolean;
  /** Keep Prometheus metrics (bitsd does; `openbits_info{version}` names it). */
  readonly metrics?: { readonly version: string };
  /** Where the webhook sender logs a failed or abandoned delivery (default: nowhere). */
  readonly logger?: WebhookLogger;
  /** Webhook back-off and deadlines (docs/webhooks.md defaults). */
  readonly webhookRetry?: Partial<WebhookRetryPolicy>;
  /**
   * Who touches owners' files and the network for their jobs (default: this process; the
   * system daemon passes workers that run as each owner).
   */
  readonly io?: OwnerIo;
  /**
   * This boot's id (default: the kernel's, `readBootId()`; null: none): bytes written past a
   * checkpoint are recorded with it and kept after a kill -9 only in the same boot.
   */
  readonly bootId?: string | null;
  /** Whether each job's owner is logged on (default: always; the system daemon watches sessions). */
  readonly presence?: OwnerPresence;
  /** Where the yielding controller's signals come from (default: this machine's kernel). */
  readonly linkProbes?: LinkProbes;
  /** Told of every step of the yielding controller (benchmarks). */
  readonly yieldTrace?: (step: YieldTrace) => void;
  /** Where NetworkManager's `Metered` comes from (default: the system D-Bus). */
  readonly metered?: MeteredReader;
}

/** The named parts the manager is a façade over. */
export interface ManagerParts {
  readonly clock: Clock;
  readonly store: JobStore;
  /** Who may see a job; which method the job allows now. */
  readonly access: JobAccess;
  /** One queue per job for the calls that change it. */
  readonly locks: JobLocks;
  readonly hub: EventHub;
  readonly notify: NotifyCommandRunner;
  readonly policy: PolicyControl;
  readonly scheduler: Scheduler;
  readonly bandwidth: BandwidthControl;
  readonly network: NetworkSource;
  /** The network's cost now (NetworkManager or the policy) and what it allows. */
  readonly cost: NetworkCost;
  /** The transition step: every state change, and what it means once it is durable. */
  readonly transitions: JobTransitions;
  readonly uploads: UploadReplies;
  /** Network loss and policy blocks: parking and release. */
  readonly waits: WaitConditions;
  /** Prometheus metrics, when asked for. */
  readonly metrics: ServiceMetrics | undefined;
  /** Webhook deliveries: built in transitions, sent from the store's outbox. */
  readonly webhooks: Webhooks;
  /** The scheduler's actions and the runs it starts. */
  readonly runs: JobRuns;
  /** Owners' files and their transfers: here, or in a worker running as the owner. */
  readonly io: OwnerIo;
  readonly presence: OwnerPresence;
  /** The views of listed jobs, made once per record at rest and warmed after changes. */
  readonly listed: ListedViews;
}

/**
 * Build the parts and wire them to each other. Some need each other both ways (the scheduler
 * calls the runs, the runs tell the scheduler), so a few are reached through closures that are
 * only called once everything exists.
 */
export function assembleManager(options: ManagerOptions): ManagerParts {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? { info() {}, warn() {} };
  let parts: ManagerParts | undefined;
  const the = (): ManagerParts => parts as ManagerParts;
  const policy = new PolicyControl({
    file: options.policyFile ?? null,
    overrides: options.policy ?? {},
    apply: (next) => {
      the().store.setQuotas(next.quotas);
      the().scheduler.setPolicy(the().policy.scheduler);
      the().bandwidth.setPolicy(next.bandwidth);
      the().waits.ownersRechecked();
      the().cost.setPolicy(next.cost);
    },
  });
  if (options.store === undefined) mkdirSync(options.home, { recursive: true, mode: 0o700 });
  const store =
    options.store ??
    openSqliteJobStore(join(options.home, 'jobs.db'), {
      quotas: policy.policy.quotas,
      soleWriter: options.soleWriter === true,
    });
  const isAdmin = options.isAdmin ?? process.getuid?.() === 0;
  const access = new JobAccess(store, {
    owner: options.owner ?? String(process.getuid?.() ?? 0),
    isAdmin: () => isAdmin,
    // A manager's own caller configures it (the per-user daemon's user, a library's process).
    mayConfigure: () => true,
  });
  const locks = new JobLocks();
  const hub = new EventHub(clock, (id) => {
    const job = store.getJob(id);
    return job === undefined ? undefined : outcomeOf(job);
  });
  const metrics =
    options.metrics === undefined ? undefined : serviceMetrics(store, hub, clock, options.metrics.version);
  const observe = metrics === undefined ? undefined : (step: TimedStep, s: number) => metrics.observe(step, s);
  const io = options.io ?? localIo(clock);
  const notify = new NotifyCommandRunner({ clock, getJob: (id) => store.getJob(id), io });
  const uploads = new UploadReplies(store, clock, io);
  const scheduler = new Scheduler(clock, policy.scheduler, {
    start: (id) => the().runs.start(id),
    preempt: (id) => the().runs.preempt(id),
    retryDue: (id) => the().runs.retryDue(id),
    noProgressTimeout: (id) => the().runs.noProgressTimeout(id),
    maxDownloadTime: (id) => the().runs.maxDownloadTime(id),
    inactivityTimeout: (id) => the().runs.inactivityTimeout(id),
  });
  const webhooks = new Webhooks({
    store,
    clock,
    // Sent by whoever does the owner's I/O (system mode: the owner's worker, not root); a job
    // gone from the store has its last events sent by root's worker.
    transport: ({ jobId, signal, ...post }) => io.postWebhook(store.getJob(jobId)?.owner ?? '0', post, signal),
    policyHooks: () => the().policy.policy.webhooks,
    logger: options.logger,
    retry: options.webhookRetry,
    userAgent: `openbits-webhook/${options.metrics?.version ?? 'library'}`,
    onAttempt: metrics === undefined ? undefined : (outcome) => metrics.webhookAttempt(outcome),
  });
  const transitions = new JobTransitions({
    store,
    scheduler,
    hub,
    notify,
    clock,
    forget: (id) => the().bandwidth.forget(id),
    observe,
    webhooks,
  });
  const network = options.network ?? new ProcNetworkSource(clock);
  const presence = options.presence ?? ALWAYS_PRESENT;
  const waits = new WaitConditions({
    store,
    transitions,
    locks,
    network,
    loopbackWithoutNetwork: options.loopbackWithoutNetwork ?? true,
    policyBlocks: (priority) => the().bandwidth.isBlocked(priority),
    costBlocks: (job) => the().cost.blocks(job),
    stop: (id) => the().runs.stop(id),
    presence,
    keepBackgroundJobs: () => the().policy.policy.keepBackgroundJobs,
  });
  // A policy that blocks a priority now parks its jobs from the start: the waits exist by then.
  const bandwidth = new BandwidthControl(
    clock,
    policy.policy.bandwidth,
    (priority, blocked) => waits.policyBlockChanged(priority, blocked),
    {
      probes: options.linkProbes ?? kernelLinkProbes(clock, () => options.io?.pids?.() ?? []),
      logger,
      trace: options.yieldTrace,
    },
  );
  const runs = new JobRuns({
    store,
    clock,
    scheduler,
    transitions,
    hub,
    locks,
    waits,
    uploads,
    bandwidth,
    policy: () => policy.policy,
    observe,
    io,
    bootId: options.bootId === undefined ? readBootId() : options.bootId,
  });
  network.onChange((up) => waits.networkChanged(up));
  presence.onChange((owner, present) => waits.presenceChanged(owner, present));
  const cost = new NetworkCost({
    clock,
    policy: policy.policy.cost,
    read: options.metered ?? networkManagerMetered(clock),
    logger,
  });
  cost.onChange(() => waits.costChanged());
  const listed = new ListedViews({
    clock,
    queue: () => store.listJobs(),
    atRest: (job) =>
      job.type !== 'UPLOAD_REPLY' && runs.live(job.id) === undefined && bandwidth.yieldStatus(job.id) === null,
    busy: (jobId) => runs.live(jobId) !== undefined,
    build: (job) =>
      toJobInfo(
        withLiveProgress(job, runs.live(job.id)),
        uploads.replyProgress(job),
        true,
        bandwidth.yieldStatus(job.id),
      ),
  });
  // Progress comes from a running job, whose view is never kept; its next state event marks it.
  hub.tap((event) => {
    if (event.type !== 'job:progress') listed.touched(event.jobId);
  });
  parts = {
    clock,
    store,
    access,
    locks,
    hub,
    notify,
    policy,
    scheduler,
    bandwidth,
    network,
    cost,
    transitions,
    uploads,
    waits,
    runs,
    metrics,
    webhooks,
    io,
    presence,
    listed,
  };
  return parts;
}

/** bitsd's metrics over the store and the hub: the queue and subscribers read when scraped. */
function serviceMetrics(store: JobStore, hub: EventHub, clock: Clock, version: string): ServiceMetrics {
  const metrics = new ServiceMetrics({
    clock,
    version,
    sources: {
      jobCounts() {
        const counts = new Map<string, { state: JobState; priority: JobPriority; count: number }>();
        for (const { state, priority } of store.listJobs()) {
          const key = `${state} ${priority}`;
          const c = counts.get(key);
          if (c === undefined) counts.set(key, { state, priority, count: 1 });
          else c.count++;
        }
        return counts.values();
      },
      subscribers: () => hub.size,
      job(id) {
        const job = store.getJob(id);
        return job === undefined ? undefined : storedJob(job);
      },
    },
  });
  hub.tap((event, job) => metrics.onEvent(event, job));
  return metrics;
}
