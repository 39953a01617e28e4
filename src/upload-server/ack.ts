import { BitsError, type ErrorContext } from '../core/bits-error.ts';
import type { ErrorName } from '../core/error-codes.ts';
import { ACK, BITS_HEADERS, formatErrorCode, formatErrorContext } from '../core/upload-protocol.ts';
import type { HeaderList } from './http/response-writer.ts';

/** An Ack to send: status and the BITS headers (Content-Length is added by the writer). */
export interface Ack {
  readonly status: number;
  readonly headers: HeaderList;
}

/**
 * A failed packet: the BITS error (name → HRESULT, context) plus the HTTP status the Ack carries
 * (bits-upload-protocol.md §6.1). `errorHeaders: false` sends the status alone (416, as IIS).
 */
export class UploadError extends BitsError {
  readonly status: number;
  readonly receivedContentRange: number | undefined;
  readonly errorHeaders: boolean;
  /** Extra headers, e.g. WWW-Authenticate from the auth hook. */
  readonly extraHeaders: HeaderList;
  /** Close the connection after answering (the body boundary is unknown). */
  readonly closeConnection: boolean;

  constructor(
    status: number,
    name: ErrorName,
    message: string,
    options: {
      context?: ErrorContext;
      receivedContentRange?: number;
      errorHeaders?: boolean;
      extraHeaders?: HeaderList;
      closeConnection?: boolean;
      cause?: unknown;
    } = {},
  ) {
    super(name, message, { context: options.context ?? 'REMOTE_FILE', cause: options.cause });
    this.status = status;
    this.receivedContentRange = options.receivedContentRange;
    this.errorHeaders = options.errorHeaders ?? true;
    this.extraHeaders = options.extraHeaders ?? [];
    this.closeConnection = options.closeConnection ?? false;
  }
}

/** 400 + E_INVALIDARG: the catch-all for a malformed packet (§6.1). */
export function badRequest(message: string, options: { closeConnection?: boolean } = {}): UploadError {
  return new UploadError(400, 'E_INVALIDARG', message, options);
}

/** 500 + BG_E_SESSION_NOT_FOUND: the client restarts with a new Create-Session (§6.2). */
export function sessionNotFound(): UploadError {
  return new UploadError(500, 'BG_E_SESSION_NOT_FOUND', 'upload session not found');
}

/** 403 + E_ACCESSDENIED. */
export function accessDenied(message: string): UploadError {
  return new UploadError(403, 'E_ACCESSDENIED', message);
}

/** A success Ack: `BITS-Packet-Type: Ack` then the given headers, no Pragma caching. */
export function ack(status: number, headers: HeaderList = []): Ack {
  return { status, headers: [[BITS_HEADERS.packetType, ACK], ['Pragma', 'no-cache'], ...headers] };
}

/** The Ack for a failed packet, with BITS-Error-Code / BITS-Error-Context (§5, §6.1). */
export function errorAck(err: UploadError): Ack {
  const headers: Array<readonly [string, string]> = [];
  if (err.receivedContentRange !== undefined) {
    headers.push([BITS_HEADERS.receivedContentRange, String(err.receivedContentRange)]);
  }
  if (err.errorHeaders) {
    headers.push([BITS_HEADERS.errorCode, formatErrorCode(err.hresult)]);
    headers.push([BITS_HEADERS.errorContext, formatErrorContext(err.context)]);
  }
  headers.push(...err.extraHeaders);
  return ack(err.status, headers);
}

/** Map an unexpected failure (mostly file-system errors) to the Ack error the client should see. */
export function toUploadError(err: unknown): UploadError {
  if (err instanceof UploadError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new UploadError(500, 'ERROR_DISK_FULL', 'server disk full', { cause: err });
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new UploadError(403, 'E_ACCESSDENIED', 'server cannot write the destination', { cause: err });
  }
  return new UploadError(500, 'E_FAIL', 'internal server error', { cause: err });
}

/** The same error with `BITS-Received-Content-Range: R` added (every fragment Ack carries R). */
export function withReceived(err: UploadError, received: number): UploadError {
  if (err.receivedContentRange !== undefined || err.name === 'BG_E_SESSION_NOT_FOUND') return err;
  return new UploadError(err.status, err.name, err.message, {
    context: err.context,
    receivedContentRange: received,
    errorHeaders: err.errorHeaders,
    extraHeaders: err.extraHeaders,
    closeConnection: err.closeConnection,
    cause: err.cause ?? err,
  });
}
