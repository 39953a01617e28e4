/**
 * `openbits/upload-server`: the BITS upload server, standalone (`startBitsUploadServer`) or
 * mounted in an existing Node server (`createBitsUploadHandler`).
 */
import './require-node.ts';

export * from './upload-server/index.ts';
