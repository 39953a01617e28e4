/**
 * openbits's package version (package.json's `version`; a test keeps them equal). A constant
 * rather than a JSON import, so that no entry point reads a file to print a banner.
 */
export const OPENBITS_VERSION = '0.1.0';

/** The oldest Node.js major version openbits runs on (package.json `engines`). */
export const MIN_NODE_MAJOR = 24;
