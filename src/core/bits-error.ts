import { type ErrorName, errorInfo, formatHresult } from './error-codes.ts';

/** BG_ERROR_CONTEXT: where an error happened (bits-client.md §5.8). */
export const ERROR_CONTEXTS = [
  'NONE',
  'UNKNOWN',
  'GENERAL_QUEUE_MANAGER',
  'QUEUE_MANAGER_NOTIFICATION',
  'LOCAL_FILE',
  'REMOTE_FILE',
  'GENERAL_TRANSPORT',
  'REMOTE_APPLICATION',
  'SERVER_CERTIFICATE_CALLBACK',
] as const;
export type ErrorContext = (typeof ERROR_CONTEXTS)[number];

/** Numeric BG_ERROR_CONTEXT value (index in ERROR_CONTEXTS). */
export function errorContextValue(context: ErrorContext): number {
  return ERROR_CONTEXTS.indexOf(context);
}

/** bitsadmin's text for each context. */
export const ERROR_CONTEXT_DESCRIPTIONS: Readonly<Record<ErrorContext, string>> = {
  NONE: 'An error has not occurred.',
  UNKNOWN: 'The error occurred in an unknown location.',
  GENERAL_QUEUE_MANAGER: 'The error occurred in the Background Intelligent Transfer Service (BITS) queue manager.',
  QUEUE_MANAGER_NOTIFICATION: 'The error occurred while the notification callback was being processed.',
  LOCAL_FILE: 'The error occurred while the local file was being processed.',
  REMOTE_FILE: 'The error occurred while the remote file was being processed.',
  GENERAL_TRANSPORT: 'The error occurred in the transport layer.',
  REMOTE_APPLICATION: 'The error occurred while the server application was processing the request.',
  SERVER_CERTIFICATE_CALLBACK: 'The error occurred in the server certificate validation callback.',
};

/** The plain-data shape of an error, as stored and as sent over the wire. */
export interface BitsErrorData {
  readonly name: ErrorName;
  readonly hresult: number;
  readonly context: ErrorContext;
  readonly message: string;
}

/**
 * The one error class of openbits: a BITS HRESULT with its name and context. Thrown by every
 * layer for a failed call; recorded on a job (as BitsErrorData) when a transfer fails.
 */
export class BitsError extends Error {
  override readonly name: ErrorName;
  readonly hresult: number;
  readonly context: ErrorContext;

  constructor(name: ErrorName, message?: string, options?: { context?: ErrorContext; cause?: unknown }) {
    const info = errorInfo(name);
    if (info === undefined) throw new TypeError(`unregistered BITS error name ${name}`);
    super(message ?? info.message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = name;
    this.hresult = info.hresult;
    this.context = options?.context ?? 'NONE';
  }

  /** `BG_E_INVALID_STATE (0x80200002): message` */
  override toString(): string {
    return `${this.name} (${formatHresult(this.hresult)}): ${this.message}`;
  }

  toJSON(): BitsErrorData {
    return { name: this.name, hresult: this.hresult, context: this.context, message: this.message };
  }

  /** Rebuild an error that crossed a process boundary. */
  static from(data: Pick<BitsErrorData, 'name' | 'message'> & Partial<BitsErrorData>): BitsError {
    const known = errorInfo(data.name) !== undefined;
    const err = new BitsError(known ? data.name : 'E_FAIL', data.message, {
      context: data.context ?? 'NONE',
    });
    return err;
  }
}

export function isBitsError(value: unknown): value is BitsError {
  return value instanceof BitsError;
}
