import { OPENBITS_VERSION } from '../core/version.ts';

export { OPENBITS_VERSION };

/** The bitsadmin interface level this CLI follows (BITS 3.0's switch set plus later additions). */
export const BITSADMIN_VERSION = '3.0';

/** bitsadmin's banner, printed before text output unless /rawreturn, --json, /nologo or a pipe. */
export function banner(): string {
  return `BITSADMIN version ${BITSADMIN_VERSION} [ openbits ${OPENBITS_VERSION} ]\nBITS administration utility.\n\n`;
}
