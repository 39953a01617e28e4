import { deleteTempFile } from '../commit-file.ts';
import { transferError } from '../failure-table.ts';
import { checkRemoteRequest } from '../request-checks.ts';
import { abortError } from '../transfer-error.ts';
import { LocalUploadFile } from './local-file.ts';
import { fetchReply } from './reply.ts';
import { SessionLost, UploadSession } from './session.ts';
import {
  INITIAL_UPLOAD_SESSION_STATE,
  type UploadFileRequest,
  type UploadResult,
  type UploadSessionState,
} from './upload-request.ts';

/** New sessions one call may start after BG_E_SESSION_NOT_FOUND before it reports a transient error. */
const MAX_SESSION_RESTARTS = 3;

/**
 * Upload one file over the BITS upload protocol (bits-upload-protocol.md): Ping → Create-Session →
 * Fragments → (upload-reply: download the reply) → Close-Session, resuming from `req.state`.
 * Resolves when the session is closed. Rejects with a TransferError (`.failure`: transient or
 * fatal, BITS error and context) or, when `req.signal` aborts, with a DOMException named
 * AbortError. Every state worth keeping went through `hooks.onSessionChanged` first.
 */
export async function uploadFile(req: UploadFileRequest): Promise<UploadResult> {
  if (req.signal.aborted) throw abortError(req.signal);
  const origin = checkRequest(req);
  const file = await LocalUploadFile.open(req.localName, req.state.snapshot);
  try {
    if (file.size === 0 && req.type === 'UPLOAD_REPLY') {
      // The reply URL only comes with the Ack of the last fragment, and an empty file has none.
      throw transferError('upload:empty-reply', 'an upload-reply job cannot send an empty file');
    }
    const session = new UploadSession(req, origin);
    if (req.state.snapshot === null) session.update({ ...req.state, snapshot: file.snapshot });
    for (let restarts = 0; ; restarts++) {
      try {
        return await runSession(req, session, file);
      } catch (err) {
        if (!(err instanceof SessionLost)) throw err;
        if (restarts >= MAX_SESSION_RESTARTS) {
          throw transferError('upload:session-lost', err.message, { cause: err });
        }
        await startOver(session);
      }
    }
  } finally {
    await file.close();
  }
}

async function runSession(
  req: UploadFileRequest,
  session: UploadSession,
  file: LocalUploadFile,
): Promise<UploadResult> {
  await session.open();
  await session.sendFragments(file);
  req.hooks.onProgress(file.size, file.size);
  if (req.type === 'UPLOAD') {
    await session.close();
    return { replyFileName: null, replyTemporaryName: null, replyData: null, replySize: 0 };
  }
  const reply = await fetchReply(
    req,
    () => session.state,
    (next) => session.update(next),
  );
  // Close only now: the server deletes the reply when the session closes (§4.1).
  await session.close();
  return {
    replyFileName: session.state.replyFileName,
    replyTemporaryName: reply.temporaryName,
    replyData: reply.data,
    replySize: reply.size,
  };
}

/** A new session from byte 0: forget the old one, its Host-Id and any partial reply. */
async function startOver(session: UploadSession): Promise<void> {
  const old = session.state;
  if (old.replyTemporaryName !== null) await deleteTempFile(old.replyTemporaryName);
  const fresh: UploadSessionState = {
    ...INITIAL_UPLOAD_SESSION_STATE,
    snapshot: old.snapshot,
    replyFileName: old.replyFileName,
  };
  session.update(fresh);
}

function checkRequest(req: UploadFileRequest): URL {
  const url = checkRemoteRequest(req.remoteName, req.options.customHeaders, ['http:', 'https:']);
  url.hash = '';
  return url;
}
