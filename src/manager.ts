/** `openbits/manager`: the in-process manager (jobs run in this process; no daemon, no socket). */
import './require-node.ts';

export type * from './api/bits-manager.ts';
export * from './core/index.ts';
export { createManager, InProcessManager, type ManagerOptions } from './service/manager.ts';
export { DEFAULT_POLICY, type Policy } from './service/policy-file.ts';
