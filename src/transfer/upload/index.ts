/**
 * The upload engine: moves one upload or upload-reply file over the BITS upload protocol (see
 * docs/upload-client.md). The service's upload runner calls `uploadFile` and the job's run
 * persists what `onSessionChanged` reports; `cancelUploadSession` (one attempt) and
 * `discardUploadLocalState` at Cancel.
 */
export { closeUploadAgents } from './bits-agent.ts';
export { cancelUploadSession, discardUploadLocalState } from './cancel-session.ts';
export { DEFAULT_FRAGMENT_SIZE, MAX_FRAGMENT_SIZE, MIN_FRAGMENT_SIZE } from './fragment-size.ts';
export { readReply, replyFileNameFor, type StoredReply } from './reply.ts';
export { uploadFile } from './upload-file.ts';
export * from './upload-request.ts';
