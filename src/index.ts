/**
 * openbits: a Background Intelligent Transfer Service for Linux.
 *
 * `createManager({ home })` runs jobs in this process; `connect()` talks to the bitsd daemon.
 * Both return a `BitsManager` (src/api/bits-manager.ts). Narrower entry points load less:
 * `openbits/client` (connect() only), `openbits/manager` (the in-process manager) and
 * `openbits/upload-server` (the BITS upload server).
 */
import './require-node.ts';

export type * from './api/bits-manager.ts';
export { MAX_METALINK_BYTES, type MetalinkFile, parseMetalink } from './api/metalink.ts';
export { type BitsClient, type ConnectOptions, connect } from './client/index.ts';
export * from './core/index.ts';
export { createManager, InProcessManager, type ManagerOptions } from './service/manager.ts';
export { DEFAULT_POLICY, type Policy } from './service/policy-file.ts';
