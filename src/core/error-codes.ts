/**
 * The one error registry: every BITS HRESULT openbits returns or records, with its name, value,
 * message and the HTTP status the local API answers with. Values are from bitsmsg.h / winerror.h
 * (see ../shared/reference/bits-client.md §15). Callers branch on `name`, never on the message.
 */

/** How the local API maps an error to an HTTP status. */
export interface ErrorCodeInfo {
  readonly hresult: number;
  readonly message: string;
  /** HTTP status of the local API's error envelope for this code. */
  readonly httpStatus: number;
}

const entry = (hresult: number, message: string, httpStatus = 400): ErrorCodeInfo => ({
  hresult,
  message,
  httpStatus,
});

export const ERROR_CODES = {
  S_OK: entry(0x00000000, 'The operation completed successfully.', 200),
  S_FALSE: entry(0x00000001, 'The operation succeeded but had nothing to do.', 200),
  BG_S_ERROR_CONTEXT_NONE: entry(0x00200006, 'An error has not occurred.', 200),
  BG_S_PARTIAL_COMPLETE: entry(
    0x00200017,
    'Some of the transferred files were deleted because they were incomplete.',
    200,
  ),
  BG_S_UNABLE_TO_DELETE_FILES: entry(0x0020001a, 'Some of the temporary files could not be deleted.', 200),
  BG_S_PROXY_CHANGED: entry(0x0020002a, 'The proxy server was changed.', 200),
  BG_S_OVERRIDDEN_BY_POLICY: entry(0x00200055, 'The value was saved, but a policy overrides it.', 200),

  E_INVALIDARG: entry(0x80070057, 'One or more arguments are invalid.', 400),
  E_ACCESSDENIED: entry(0x80070005, 'Access is denied.', 403),
  E_NOTIMPL: entry(0x80004001, 'The method or value is not implemented for this job.', 400),
  E_PENDING: entry(0x8000000a, 'The data necessary to complete this operation is not yet available.', 409),
  E_FAIL: entry(0x80004005, 'Unspecified error.', 500),
  E_OUTOFMEMORY: entry(0x8007000e, 'Not enough memory resources are available.', 500),
  /** The local service cannot be reached (what Windows returns when the BITS service is down). */
  RPC_S_SERVER_UNAVAILABLE: entry(0x800706ba, 'The RPC server is unavailable.', 503),
  /** The connection to the service broke during a call: it may or may not have happened. */
  RPC_S_CALL_FAILED: entry(0x800706be, 'The remote procedure call failed.', 502),
  /** Win32 errors surfaced as HRESULTs for local-file failures. */
  ERROR_FILE_NOT_FOUND: entry(0x80070002, 'The system cannot find the file specified.', 404),
  ERROR_NOT_LOGGED_ON: entry(
    0x800704dd,
    'The operation being requested was not performed because the user has not logged on to the network.',
    503,
  ),
  ERROR_PATH_NOT_FOUND: entry(0x80070003, 'The system cannot find the path specified.', 404),
  ERROR_DISK_FULL: entry(0x80070070, 'There is not enough space on the disk.', 507),
  ERROR_WRITE_PROTECT: entry(0x80070013, 'The media is write protected.', 403),
  ERROR_FILE_EXISTS: entry(0x80070050, 'The file exists.', 409),
  ERROR_ALREADY_EXISTS: entry(0x800700b7, 'Cannot create a file when that file already exists.', 409),
  ERROR_CANT_RESOLVE_FILENAME: entry(0x80070781, 'The name of the file cannot be resolved by the system.', 400),
  ERROR_INTERNET_TIMEOUT: entry(0x80072ee2, 'The operation timed out.', 504),
  ERROR_INTERNET_NAME_NOT_RESOLVED: entry(0x80072ee7, 'The server name or address could not be resolved.', 502),
  ERROR_INTERNET_CANNOT_CONNECT: entry(0x80072efd, 'A connection with the server could not be established.', 502),
  ERROR_INTERNET_CONNECTION_RESET: entry(0x80072eff, 'The connection with the server was reset.', 502),
  ERROR_INTERNET_INVALID_CA: entry(0x80072f0d, 'The certificate authority is invalid or incorrect.', 502),
  ERROR_INTERNET_SEC_CERT_CN_INVALID: entry(
    0x80072f06,
    'The host name in the certificate is invalid or does not match.',
    502,
  ),
  ERROR_INTERNET_SEC_CERT_DATE_INVALID: entry(
    0x80072f05,
    'The date in the certificate is invalid or has expired.',
    502,
  ),
  ERROR_INTERNET_SEC_CERT_ERRORS: entry(
    0x80072f17,
    'One or more errors were found in the Secure Sockets Layer (SSL) certificate sent by the server.',
    502,
  ),
  ERROR_HTTP_INVALID_SERVER_RESPONSE: entry(0x80072f78, 'The server response could not be parsed.', 502),
  ERROR_HTTP_REDIRECT_FAILED: entry(0x80072f7c, 'The HTTP redirect request failed.', 502),
  ERROR_HTTP_HEADER_SIZE_OVERFLOW: entry(0x80072f97, 'The server returned a header that was too large.', 502),
  /** HRESULT_FROM_WIN32(HTTP_STATUS_*): a redirect refused under BG_HTTP_REDIRECT_POLICY_DISALLOW. */
  HTTP_STATUS_AMBIGUOUS: entry(
    0x8007012c,
    'The server answered with a redirect (300), which the job does not allow.',
    502,
  ),
  HTTP_STATUS_MOVED: entry(0x8007012d, 'The server answered with a redirect (301), which the job does not allow.', 502),
  HTTP_STATUS_REDIRECT: entry(
    0x8007012e,
    'The server answered with a redirect (302), which the job does not allow.',
    502,
  ),
  HTTP_STATUS_REDIRECT_METHOD: entry(
    0x8007012f,
    'The server answered with a redirect (303), which the job does not allow.',
    502,
  ),
  HTTP_STATUS_REDIRECT_KEEP_VERB: entry(
    0x80070133,
    'The server answered with a redirect (307), which the job does not allow.',
    502,
  ),
  HTTP_STATUS_PERMANENT_REDIRECT: entry(
    0x80070134,
    'The server answered with a redirect (308), which the job does not allow.',
    502,
  ),

  BG_E_NOT_FOUND: entry(0x80200001, 'The requested job was not found.', 404),
  BG_E_INVALID_STATE: entry(0x80200002, 'The requested action is not allowed in the current job state.', 409),
  BG_E_EMPTY: entry(
    0x80200003,
    'There are no files attached to this job. Attach files to the job, and then try again.',
    409,
  ),
  BG_E_FILE_NOT_AVAILABLE: entry(0x80200004, 'No file is available because no URL generated an error.', 404),
  BG_E_PROTOCOL_NOT_AVAILABLE: entry(0x80200005, 'No protocol is available because no URL generated an error.', 404),
  BG_E_ERROR_CONTEXT_UNKNOWN: entry(0x80200007, 'The error occurred in an unknown location.'),
  BG_E_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER: entry(
    0x80200008,
    'The error occurred in the Background Intelligent Transfer Service (BITS) queue manager.',
  ),
  BG_E_ERROR_CONTEXT_LOCAL_FILE: entry(0x80200009, 'The error occurred while the local file was being processed.'),
  BG_E_ERROR_CONTEXT_REMOTE_FILE: entry(0x8020000a, 'The error occurred while the remote file was being processed.'),
  BG_E_ERROR_CONTEXT_GENERAL_TRANSPORT: entry(0x8020000b, 'The error occurred in the transport layer.'),
  BG_E_ERROR_CONTEXT_QUEUE_MANAGER_NOTIFICATION: entry(
    0x8020000c,
    'The error occurred while the notification callback was being processed.',
  ),
  BG_E_DESTINATION_LOCKED: entry(0x8020000d, 'The destination volume is locked.', 423),
  BG_E_VOLUME_CHANGED: entry(0x8020000e, 'The destination volume changed.', 409),
  BG_E_ERROR_INFORMATION_UNAVAILABLE: entry(0x8020000f, 'No errors have occurred.', 404),
  BG_E_NETWORK_DISCONNECTED: entry(0x80200010, 'There are currently no active network connections.', 503),
  BG_E_MISSING_FILE_SIZE: entry(
    0x80200011,
    'The server did not return the file size. The URL might point to dynamic content.',
    502,
  ),
  BG_E_INSUFFICIENT_HTTP_SUPPORT: entry(0x80200012, 'The server does not support HTTP 1.1.', 502),
  BG_E_INSUFFICIENT_RANGE_SUPPORT: entry(
    0x80200013,
    'The server does not support the necessary HTTP protocol. BITS requires that the server support the Range protocol header.',
    502,
  ),
  BG_E_REMOTE_NOT_SUPPORTED: entry(0x80200014, 'BITS cannot be used remotely.', 400),
  BG_E_NEW_OWNER_DIFF_MAPPING: entry(
    0x80200015,
    'The drive mapping for the job is different for the current owner than for the previous owner.',
    409,
  ),
  BG_E_NEW_OWNER_NO_FILE_ACCESS: entry(
    0x80200016,
    'The new owner has insufficient access to the local files for the job.',
    403,
  ),
  BG_E_PROXY_LIST_TOO_LARGE: entry(0x80200018, 'The proxy list may not be longer than 32,000 characters.'),
  BG_E_PROXY_BYPASS_LIST_TOO_LARGE: entry(
    0x80200019,
    'The proxy bypass list may not be longer than 32,000 characters.',
  ),
  BG_E_INVALID_SERVER_RESPONSE: entry(0x8020001b, 'The server response was not valid.', 502),
  BG_E_TOO_MANY_FILES: entry(0x8020001c, 'Upload jobs can only contain one file. Add no more files.', 409),
  BG_E_LOCAL_FILE_CHANGED: entry(
    0x8020001d,
    'The local file was changed during the transfer. Recreate the job, and then try again.',
    409,
  ),
  BG_E_ERROR_CONTEXT_REMOTE_APPLICATION: entry(0x8020001e, 'The error was reported by the server application.'),
  BG_E_SESSION_NOT_FOUND: entry(0x8020001f, 'The requested upload session was not found on the server.', 404),
  BG_E_TOO_LARGE: entry(0x80200020, 'The file is too large for the server or the buffer.', 413),
  BG_E_STRING_TOO_LONG: entry(0x80200021, 'The specified string is too long.'),
  BG_E_CLIENT_SERVER_PROTOCOL_MISMATCH: entry(
    0x80200022,
    'The client and server versions of BITS are not compatible.',
    502,
  ),
  BG_E_SERVER_EXECUTE_ENABLE: entry(
    0x80200023,
    'Scripting or execute permissions are enabled on the upload directory of the server.',
    502,
  ),
  BG_E_NO_PROGRESS: entry(0x80200024, 'The job is not making headway. The server may be misconfigured.', 502),
  BG_E_USERNAME_TOO_LARGE: entry(0x80200025, 'The user name cannot be longer than 300 characters.'),
  BG_E_PASSWORD_TOO_LARGE: entry(0x80200026, 'The password cannot be longer than 65,536 characters.'),
  BG_E_INVALID_AUTH_TARGET: entry(0x80200027, 'The authentication target specified in the credentials is not defined.'),
  BG_E_INVALID_AUTH_SCHEME: entry(0x80200028, 'The authentication scheme specified in the credentials is not defined.'),
  BG_E_FILE_NOT_FOUND: entry(0x80200029, 'The specified file name does not match any of the files in the job.', 404),
  BG_E_INVALID_RANGE: entry(0x8020002b, 'The specified byte range is not valid.', 416),
  BG_E_OVERLAPPING_RANGES: entry(
    0x8020002c,
    'The list of byte ranges contains overlapping ranges, which are not supported.',
  ),
  BG_E_CONNECT_FAILURE: entry(0x8020002d, 'A connection could not be established.', 502),
  BG_E_CONNECTION_CLOSED: entry(0x8020002e, 'The connection was closed prematurely.', 502),
  BG_E_BLOCKED_BY_POLICY: entry(
    0x8020003e,
    'Group Policy settings prevent background jobs from running at this time.',
    503,
  ),
  BG_E_INVALID_PROXY_INFO: entry(0x8020003f, 'The proxy server list or proxy bypass list is not valid.'),
  BG_E_INVALID_CREDENTIALS: entry(0x80200040, 'The format of the supplied security credentials is not valid.'),
  BG_E_INVALID_HASH_ALGORITHM: entry(0x80200041, 'The hash algorithm is not valid.'),
  BG_E_RECORD_DELETED: entry(0x80200042, 'The cache record has been deleted.', 410),
  BG_E_UPNP_ERROR: entry(0x80200045, 'An Internet Gateway Device error occurred.', 502),
  BG_E_PEERCACHING_DISABLED: entry(0x80200047, 'Peer caching is disabled.', 409),
  BG_E_BUSYCACHERECORD: entry(0x80200048, 'The cache record is in use.', 409),
  BG_E_TOO_MANY_JOBS_PER_USER: entry(
    0x80200049,
    'The job count for the user has exceeded the per-user job limit.',
    429,
  ),
  BG_E_TOO_MANY_JOBS_PER_MACHINE: entry(
    0x80200050,
    'The job count for the machine has exceeded the per-machine job limit.',
    429,
  ),
  BG_E_TOO_MANY_FILES_IN_JOB: entry(0x80200051, 'The file count for the job has exceeded the per-job file limit.', 429),
  BG_E_TOO_MANY_RANGES_IN_FILE: entry(
    0x80200052,
    'The range count for the file has exceeded the per-file range limit.',
    429,
  ),
  BG_E_VALIDATION_FAILED: entry(
    0x80200053,
    'The application requested data from a website, but the response was not valid.',
    502,
  ),
  BG_E_MAXDOWNLOAD_TIMEOUT: entry(0x80200054, 'The job was not completed within the maximum download time.', 504),
  BG_E_TOKEN_REQUIRED: entry(0x80200056, 'A helper token is required for this operation.', 403),
  BG_E_UNKNOWN_PROPERTY_ID: entry(0x80200057, 'The property ID is not known.'),
  BG_E_READ_ONLY_PROPERTY: entry(0x80200058, 'The property is read-only.', 409),
  BG_E_BLOCKED_BY_COST_TRANSFER_POLICY: entry(
    0x80200059,
    'The current network cost does not allow this job to transfer.',
    503,
  ),
  BG_E_PROPERTY_SUPPORTED_FOR_DOWNLOAD_JOBS_ONLY: entry(
    0x80200060,
    'The property is supported for download jobs only.',
  ),
  BG_E_READ_ONLY_PROPERTY_AFTER_ADDFILE: entry(
    0x80200061,
    'The property cannot be changed after a file has been added to the job.',
    409,
  ),
  BG_E_READ_ONLY_PROPERTY_AFTER_RESUME: entry(
    0x80200062,
    'The property cannot be changed after the job has been resumed.',
    409,
  ),
  BG_E_MAX_DOWNLOAD_SIZE_INVALID_VALUE: entry(0x80200063, 'The maximum download size is not valid.'),
  BG_E_MAX_DOWNLOAD_SIZE_LIMIT_REACHED: entry(
    0x80200064,
    "The download exceeded the job's maximum download size.",
    413,
  ),
  BG_E_WATCHDOG_TIMEOUT: entry(0x80200069, 'The server did not respond in time.', 504),
  BG_E_DATABASE_CORRUPT: entry(0x8020006c, 'The job database is corrupt.', 500),
  BG_E_RANDOM_ACCESS_NOT_SUPPORTED: entry(0x8020006d, 'The job does not support random access.'),
  BG_E_NOT_SUPPORTED_WITH_CUSTOM_HTTP_METHOD: entry(
    0x80200071,
    'The operation is not supported for jobs with a custom HTTP method.',
  ),
  BG_E_UNSUPPORTED_JOB_CONFIGURATION: entry(0x80200072, 'The job configuration is not supported.'),
  BG_E_REMOTE_FILE_CHANGED: entry(0x80200073, 'The remote file changed during the transfer.', 409),
  BG_E_READ_ONLY_WHEN_JOB_ACTIVE: entry(0x80200075, 'The property cannot be changed while the job is active.', 409),
  // openbits' own codes (beyond BITS): facility 0x020 like BITS's, customer bit set (0xa020xxxx).
  BG_E_DIGEST_MISMATCH: entry(
    0xa0200001,
    'The downloaded file does not match its digest, after re-fetching the bad pieces.',
    502,
  ),
  BG_E_INVALID_METALINK: entry(0xa0200002, 'The Metalink document is not valid.'),
} as const satisfies Record<string, ErrorCodeInfo>;

/** A registered error name, or `BG_E_HTTP_ERROR_<nnn>` for an HTTP status captured from a server. */
export type RegisteredErrorName = keyof typeof ERROR_CODES;
export type HttpErrorName = `BG_E_HTTP_ERROR_${number}`;
export type ErrorName = RegisteredErrorName | HttpErrorName;

const HTTP_ERROR_BASE = 0x80190000;
const HTTP_ERROR_PATTERN = /^BG_E_HTTP_ERROR_([1-5]\d\d)$/;

/** `BG_E_HTTP_ERROR_<status>`: HRESULT 0x80190000 + status (bits-client.md §11.1). */
export function httpErrorName(status: number): HttpErrorName {
  return `BG_E_HTTP_ERROR_${status}`;
}

/** Look a name up in the registry; HTTP error names are computed. */
export function errorInfo(name: string): ErrorCodeInfo | undefined {
  if (Object.hasOwn(ERROR_CODES, name)) return ERROR_CODES[name as RegisteredErrorName];
  const m = HTTP_ERROR_PATTERN.exec(name);
  if (m?.[1] !== undefined) {
    const status = Number(m[1]);
    return entry(HTTP_ERROR_BASE + status, `The server returned HTTP status ${status}.`, 502);
  }
  return undefined;
}

const BY_HRESULT: ReadonlyMap<number, ErrorName> = new Map(
  Object.entries(ERROR_CODES).map(([name, info]) => [info.hresult, name as RegisteredErrorName]),
);

/** The name for an HRESULT value, if it is one openbits knows. */
export function errorNameForHresult(hresult: number): ErrorName | undefined {
  const unsigned = hresult >>> 0;
  const known = BY_HRESULT.get(unsigned);
  if (known !== undefined) return known;
  if ((unsigned & 0xffff0000) >>> 0 === HTTP_ERROR_BASE) {
    const status = unsigned & 0xffff;
    if (status >= 100 && status <= 599) return httpErrorName(status);
  }
  return undefined;
}

/** `0x80200002`-style text, as bitsadmin prints HRESULTs. */
export function formatHresult(hresult: number): string {
  return `0x${(hresult >>> 0).toString(16).padStart(8, '0')}`;
}

/** True for success codes (S_*, BG_S_*): the severity bit is clear. */
export function isSuccessCode(hresult: number): boolean {
  return hresult >>> 0 < 0x80000000;
}
