import { basename } from 'node:path';
import {
  BITS_PROTOCOL_GUID,
  isValidContentName,
  isValidSessionId,
  normalizeGuid,
  type PacketType,
  resolveReplyUrl,
} from '../../core/upload-protocol.ts';
import type { TransferFailure } from '../download-request.ts';
import { classifyNetworkError } from '../failure-table.ts';
import { abortError, isAbortError, TransferError } from '../transfer-error.ts';
import { ackFailure, isSessionNotFound, protocolFailure } from './ack-failure.ts';
import { FragmentSizer } from './fragment-size.ts';
import { adoptHostId, dropHostId, hostIdAnswered, hostIdFailed, hostIdFallbackDue, packetUrl } from './host-id.ts';
import type { LocalUploadFile } from './local-file.ts';
import { type PacketAnswer, type PacketBody, PacketExchange } from './packet-exchange.ts';
import type { UploadFileRequest, UploadSessionState } from './upload-request.ts';

/**
 * One upload session as the client drives it (bits-upload-protocol.md §4, §9.3): Ping, then
 * Create-Session unless a session is being resumed, Fragments strictly one at a time from the
 * offset the server last acknowledged, then Close-Session. Every state change is reported through
 * `onSessionChanged` before the next packet relies on it.
 */

/** The server no longer knows the session (BG_E_SESSION_NOT_FOUND): start over from byte 0. */
export class SessionLost extends Error {
  override readonly name = 'SessionLost';
}

const DEFAULT_MAX_STALLED_ACKS = 8;

export class UploadSession {
  readonly #req: UploadFileRequest;
  readonly #origin: URL;
  readonly #exchange: PacketExchange;
  readonly #sizer: FragmentSizer;
  readonly #contentName: string | null;
  #state: UploadSessionState;
  #connected = false;

  constructor(req: UploadFileRequest, origin: URL) {
    this.#req = req;
    this.#origin = origin;
    this.#state = req.state;
    this.#exchange = new PacketExchange(req.options, req.clock, req.signal);
    this.#sizer = new FragmentSizer(req.options.initialFragmentSize);
    const name = basename(req.localName);
    this.#contentName = isValidContentName(name) ? name : null;
  }

  get state(): UploadSessionState {
    return this.#state;
  }

  /** Record and report a new state (the caller persists it). */
  update(next: UploadSessionState): void {
    if (next === this.#state) return;
    this.#state = next;
    this.#req.hooks.onSessionChanged(next);
  }

  /** Ping (on every resume, §9.3 step 1), then Create-Session if there is no session yet. */
  async open(): Promise<void> {
    if (hostIdFallbackDue(this.#state, this.#req.clock.wallMs())) this.update(dropHostId(this.#state));
    await this.#ping();
    if (this.#state.sessionId === null) {
      await this.#createSession();
      // The Host-Id node is Pinged before the first packet of the session goes to it (§7.2).
      if (this.#state.hostId !== null) await this.#ping();
    }
  }

  /** Fragments until the server holds the whole file (and, for upload-reply, named the reply). */
  async sendFragments(file: LocalUploadFile): Promise<void> {
    const size = file.size;
    const reply = this.#req.type === 'UPLOAD_REPLY';
    const maxStalled = this.#req.options.maxStalledAcks ?? DEFAULT_MAX_STALLED_ACKS;
    let stalled = 0;
    while (this.#state.bytesAcked < size || (reply && this.#state.replyUrl === null && size > 0)) {
      await file.checkUnchanged();
      // A final Ack lost its reply URL: resend the last fragment; the server answers it again (§8.3).
      const start =
        this.#state.bytesAcked < size ? this.#state.bytesAcked : Math.max(0, size - Math.min(this.#sizer.size, size));
      const length = this.#sizer.next(start, size);
      const end = start + length - 1;
      const headers: Array<[string, string]> = [['BITS-Session-Id', this.#sessionId()]];
      if (this.#contentName !== null) headers.push(['Content-Name', this.#contentName]);
      headers.push(['Content-Range', `bytes ${start}-${end}/${size}`]);
      const began = this.#req.clock.monotonicMs();
      const body = file.fragment(start, length, this.#req.limiter, this.#req.signal);
      const answer = await this.#send('Fragment', headers, body);
      if (answer.status === 413) {
        if (!this.#sizer.tooLarge(length)) {
          throw this.#fail(protocolFailure('Fragment', `413 for a ${length}-byte fragment`, 'ack:too-large'));
        }
        continue;
      }
      if (!isSuccess(answer.status) && answer.status !== 416) throw this.#errorAck('Fragment', answer);
      const received =
        answer.ack.receivedContentRange ?? (answer.status === 416 ? undefined : Math.max(start, end + 1));
      if (received === undefined || received > size) {
        throw this.#fail(
          protocolFailure('Fragment', `BITS-Received-Content-Range ${String(received)} for a ${size}-byte file`),
        );
      }
      const before = this.#state.bytesAcked;
      if (received > before) stalled = 0;
      else if (++stalled >= maxStalled && received < size) {
        throw this.#fail(
          protocolFailure('Fragment', `the server did not advance past byte ${received} in ${stalled} acks`),
        );
      }
      if (answer.status !== 416 && received === end + 1) {
        this.#sizer.acked(length, this.#req.clock.monotonicMs() - began);
      }
      let next: UploadSessionState = { ...this.#state, bytesAcked: received };
      if (received === size && reply) {
        const url = answer.ack.replyUrl;
        if (url === undefined || url === '') {
          this.update(next);
          throw this.#fail(protocolFailure('Fragment', 'the final Ack of an upload-reply has no BITS-Reply-URL'));
        }
        next = { ...next, replyUrl: this.#replyUrl(url) };
      }
      this.update(next);
      this.#req.hooks.onProgress(received, size);
    }
  }

  /** Close-Session: the server commits the file (and drops the reply) — after the reply is stored. */
  async close(): Promise<void> {
    const headers: Array<[string, string]> = [['BITS-Session-Id', this.#sessionId()]];
    if (this.#contentName !== null) headers.push(['Content-Name', this.#contentName]);
    const answer = await this.#send('Close-Session', headers, null);
    if (!isSuccess(answer.status)) throw this.#errorAck('Close-Session', answer);
  }

  async #ping(): Promise<void> {
    const answer = await this.#send('Ping', [], null);
    if (!isSuccess(answer.status)) throw this.#errorAck('Ping', answer);
  }

  async #createSession(): Promise<void> {
    const guid = this.#req.options.upperCaseProtocolGuid ? BITS_PROTOCOL_GUID.toUpperCase() : BITS_PROTOCOL_GUID;
    const answer = await this.#send('Create-Session', [['BITS-Supported-Protocols', guid]], null);
    // [W32] lists 201 as well as IIS's 200 (§10).
    if (answer.status !== 200 && answer.status !== 201) throw this.#errorAck('Create-Session', answer);
    const { sessionId, protocol } = answer.ack;
    if (sessionId === undefined || !isValidSessionId(sessionId)) {
      throw this.#fail(
        protocolFailure('Create-Session', 'the Ack has no valid BITS-Session-Id', 'ack:invalid-session'),
      );
    }
    if (protocol === undefined || normalizeGuid(protocol) !== BITS_PROTOCOL_GUID) {
      throw this.#fail(
        protocolFailure(
          'Create-Session',
          `the server chose protocol ${protocol ?? '(none)'}, which was not offered`,
          'ack:protocol-mismatch',
        ),
      );
    }
    const fresh = { ...this.#state, sessionId, bytesAcked: 0, replyUrl: null };
    this.update(adoptHostId(fresh, answer.ack.hostId, answer.ack.hostIdFallbackTimeoutS));
  }

  /** One packet; network failures are classified (and start the Host-Id fallback timer). */
  async #send(
    packet: PacketType,
    headers: ReadonlyArray<readonly [string, string]>,
    body: PacketBody | null,
  ): Promise<PacketAnswer> {
    const url = packet === 'Create-Session' ? this.#origin : packetUrl(this.#origin, this.#state);
    let answer: PacketAnswer;
    try {
      answer = await this.#exchange.send(packet, url, headers, body);
    } catch (err) {
      if (isAbortError(err) || this.#req.signal.aborted) throw abortError(this.#req.signal);
      if (err instanceof TransferError && err.failure.error.context === 'LOCAL_FILE') throw err;
      throw this.#fail(classifyNetworkError(err), err);
    }
    if (isSuccess(answer.status) || answer.status === 416) {
      // Our server names its fragment limit (Ping and Create-Session Acks); others say nothing.
      if (answer.ack.maxFragmentSize !== undefined) this.#sizer.serverLimit(answer.ack.maxFragmentSize);
      this.update(hostIdAnswered(this.#state));
      if (!this.#connected) {
        this.#connected = true;
        this.#req.hooks.onConnected();
      }
    }
    return answer;
  }

  /** An error Ack: session loss restarts, everything else is a classified failure. */
  #errorAck(packet: PacketType, answer: PacketAnswer): Error {
    if (packet !== 'Ping' && packet !== 'Create-Session' && isSessionNotFound(answer.ack)) {
      return new SessionLost(`${packet}: the server no longer knows session ${this.#state.sessionId}`);
    }
    return this.#fail(ackFailure(packet, answer.status, answer.ack, answer.retryAfterMs));
  }

  /** A failure of this attempt; a transient one while on the Host-Id node starts its fallback timer. */
  #fail(failure: TransferFailure, cause?: unknown): TransferError {
    if (failure.kind === 'transient') this.update(hostIdFailed(this.#state, this.#req.clock.wallMs()));
    return new TransferError(failure, { cause });
  }

  #sessionId(): string {
    const id = this.#state.sessionId;
    if (id === null) throw new Error('no upload session');
    return id;
  }

  /** BITS-Reply-URL resolved against the original upload URL; only http(s) replies are fetched. */
  #replyUrl(raw: string): string {
    let resolved: URL;
    try {
      resolved = new URL(resolveReplyUrl(this.#origin.href, raw));
    } catch {
      throw this.#fail(protocolFailure('Fragment', `BITS-Reply-URL ${raw} is not a URL`, 'ack:invalid-session'));
    }
    if (resolved.protocol !== 'http:' && resolved.protocol !== 'https:') {
      throw this.#fail(
        protocolFailure('Fragment', `BITS-Reply-URL ${raw} is not an http(s) URL`, 'ack:invalid-session'),
      );
    }
    return resolved.href;
  }
}

function isSuccess(status: number): boolean {
  return status >= 200 && status <= 299;
}
