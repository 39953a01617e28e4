import { BitsError, type ErrorName, errorInfo, formatHresult, type ResultCode } from './bits-vocabulary.ts';

/** The parts of an error the CLI prints: its BITS name, HRESULT and message. */
export interface ErrorFacts {
  readonly name: string;
  readonly hresult: number;
  readonly message: string;
}

/**
 * What a thrown value says in BITS terms. BitsErrors (also ones rebuilt by the client, which
 * may come from another copy of the module) keep their name and code; anything else — a socket
 * that would not connect, a bug — is E_FAIL with its message.
 */
export function errorFacts(err: unknown): ErrorFacts {
  if (err instanceof BitsError) return { name: err.name, hresult: err.hresult, message: err.message };
  if (typeof err === 'object' && err !== null) {
    const { name, hresult, message } = err as { name?: unknown; hresult?: unknown; message?: unknown };
    if (typeof name === 'string' && typeof hresult === 'number' && errorInfo(name) !== undefined) {
      return { name: name as ErrorName, hresult, message: typeof message === 'string' ? message : '' };
    }
  }
  const fail = new BitsError('E_FAIL');
  const message = err instanceof Error ? `${err.message}${causeText(err)}` : String(err);
  return { name: fail.name, hresult: fail.hresult, message };
}

function causeText(err: Error): string {
  const cause = err.cause;
  if (cause instanceof Error && cause.message !== '' && !err.message.includes(cause.message)) {
    return ` (${cause.message})`;
  }
  return '';
}

/** `ERROR: BG_E_INVALID_STATE (0x80200002) The requested action is not allowed…` */
export function errorText(err: ErrorFacts): string {
  return `ERROR: ${err.name} (${formatHresult(err.hresult)}) ${err.message}`;
}

/** A note for a success code other than S_OK (BG_S_PARTIAL_COMPLETE, BG_S_UNABLE_TO_DELETE_FILES…). */
export function resultNote(code: ResultCode): string {
  if (code === 'S_OK') return '';
  const info = errorInfo(code);
  return info === undefined ? `\nNOTE: ${code}` : `\nNOTE: ${code} (${formatHresult(info.hresult)}) ${info.message}`;
}
