import pkg from '../../package.json' with { type: 'json' };

/** openbits's package version, shown in the banner and by /util /version. */
export const OPENBITS_VERSION: string = pkg.version;

/** The bitsadmin interface level this CLI follows (BITS 3.0's switch set plus later additions). */
export const BITSADMIN_VERSION = '3.0';

/** bitsadmin's banner, printed before text output unless /rawreturn or --json. */
export function banner(): string {
  return `BITSADMIN version ${BITSADMIN_VERSION} [ openbits ${OPENBITS_VERSION} ]\nBITS administration utility.\n\n`;
}
