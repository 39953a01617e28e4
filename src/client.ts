/**
 * `openbits/client`: connect() to bitsd and the shared vocabulary (BitsError, states, codes) —
 * no SQLite, no service, no transfer engine is loaded (test/package checks which modules a
 * client import pulls in).
 */
import './require-node.ts';

export type * from './api/bits-manager.ts';
export type { DaemonStatus } from './api/schemas.ts';
export { type BitsClient, type ConnectOptions, connect, isNotRunning } from './client/index.ts';
export * from './core/index.ts';
