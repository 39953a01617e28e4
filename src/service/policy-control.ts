import type { PolicyDocument } from '../api/bits-manager.ts';
import { BitsError } from '../core/index.ts';
import type { SchedulerPolicy } from '../scheduler/scheduler.ts';
import { DEFAULT_POLICY, loadPolicyFile, type Policy, policyDocument, setPolicyKey } from './policy-file.ts';

/**
 * The service policy in force (docs/scheduling.md): the policy file (config.json) read at start,
 * on SIGHUP (`reload`) and after `/util /setpolicy` (`set`), with the manager's own overrides on
 * top. Every change is handed to `apply` (quotas to the store, slices to the scheduler, rates to
 * bandwidth control); a bad file changes nothing and throws.
 */
export class PolicyControl {
  readonly #file: string | null;
  readonly #overrides: Partial<Policy>;
  readonly #apply: (policy: Policy) => void;
  #policy: Policy;

  constructor(options: { file: string | null; overrides: Partial<Policy>; apply: (policy: Policy) => void }) {
    this.#file = options.file;
    this.#overrides = options.overrides;
    this.#apply = options.apply;
    this.#policy = this.#read();
  }

  /** The policy in force. */
  get policy(): Policy {
    return this.#policy;
  }

  /** What the scheduler takes from it. */
  get scheduler(): SchedulerPolicy {
    return {
      maxBackgroundJobs: this.#policy.maxBackgroundJobs,
      timeSliceMs: this.#policy.timeSliceSeconds * 1000,
      jobInactivityTimeoutMs: this.#policy.jobInactivityTimeoutSeconds * 1000,
    };
  }

  /** The policy as JSON. */
  document(): PolicyDocument {
    return policyDocument(this.#policy);
  }

  /** Re-read the policy file. */
  reload(): PolicyDocument {
    this.#change(this.#read());
    return this.document();
  }

  /** Change one setting of the policy file (dotted key; null removes it) and apply it. */
  set(key: string, value: unknown): PolicyDocument {
    if (typeof key !== 'string' || key === '') throw new BitsError('E_INVALIDARG', 'a policy key is required');
    if (this.#file === null) throw new BitsError('E_NOTIMPL', 'this manager has no policy file');
    this.#change({ ...setPolicyKey(this.#file, key, value), ...this.#overrides });
    return this.document();
  }

  #read(): Policy {
    const fromFile = this.#file === null ? DEFAULT_POLICY : loadPolicyFile(this.#file).policy;
    return { ...fromFile, ...this.#overrides };
  }

  #change(policy: Policy): void {
    this.#policy = policy;
    this.#apply(policy);
  }
}
