/** The BITS upload server: standalone (`startBitsUploadServer`) or mounted (`createBitsUploadHandler`). */

export { systemClock } from '../core/clock.ts';
export { type BitsUploadHandler, createBitsUploadHandler } from './handler.ts';
export type { ConnectionFallback } from './http/connection.ts';
export type {
  AuthDecision,
  AuthHook,
  AuthRequest,
  BitsUploadOptions,
  NotificationType,
} from './options.ts';
export { type BitsUploadServer, type BitsUploadServerOptions, startBitsUploadServer } from './server.ts';
