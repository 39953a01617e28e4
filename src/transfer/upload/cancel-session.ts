import type { Clock } from '../../core/index.ts';
import { deleteTempFile } from '../commit-file.ts';
import { classifyNetworkError } from '../failure-table.ts';
import { abortError, isAbortError } from '../transfer-error.ts';
import { ackFailure, isSessionNotFound } from './ack-failure.ts';
import { dropHostId, hostIdFallbackDue, packetUrl } from './host-id.ts';
import { PacketExchange } from './packet-exchange.ts';
import type { CancelOutcome, UploadOptions, UploadSessionState } from './upload-request.ts';

/**
 * Cancel-Session for a cancelled upload job (bits-upload-protocol.md §4.1, §6.2): the server
 * deletes the partial upload and any reply. ONE attempt: 2xx, BG_E_SESSION_NOT_FOUND (nothing left
 * to cancel) and 1xx–4xx answers are final (`done`: not retried, per [W32] ack-for-cancel-session);
 * 5xx and network failures are `retryLater`. The caller repeats `retryLater` attempts while the
 * server is unreachable, for up to 24 h or the job's NoProgressTimeout if shorter (bits-client.md
 * §3.1), then drops the job.
 */
export async function cancelUploadSession(request: {
  readonly remoteName: string;
  readonly state: UploadSessionState;
  readonly options: UploadOptions;
  readonly signal: AbortSignal;
  readonly clock: Clock;
}): Promise<CancelOutcome> {
  const { state } = request;
  if (state.sessionId === null) return { outcome: 'done', status: null };
  const origin = new URL(request.remoteName);
  origin.hash = '';
  const exchange = new PacketExchange(request.options, request.clock, request.signal);
  try {
    const answer = await exchange.send(
      'Cancel-Session',
      // To the Host-Id node, unless its fallback timer has expired (§9.3 step 5).
      packetUrl(origin, hostIdFallbackDue(state, request.clock.wallMs()) ? dropHostId(state) : state),
      [['BITS-Session-Id', state.sessionId]],
      null,
    );
    if (answer.status >= 500 && answer.status <= 599 && !isSessionNotFound(answer.ack)) {
      return {
        outcome: 'retryLater',
        failure: ackFailure('Cancel-Session', answer.status, answer.ack, answer.retryAfterMs),
      };
    }
    return { outcome: 'done', status: answer.status };
  } catch (err) {
    if (isAbortError(err) || request.signal.aborted) throw abortError(request.signal);
    return { outcome: 'retryLater', failure: classifyNetworkError(err) };
  }
}

/** Cancel's local clean-up: delete the reply's temp file, if any. True when nothing is left. */
export async function discardUploadLocalState(state: UploadSessionState): Promise<boolean> {
  if (state.replyTemporaryName === null) return true;
  return deleteTempFile(state.replyTemporaryName);
}
