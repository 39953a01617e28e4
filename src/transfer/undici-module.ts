import { createRequire } from 'node:module';

type Undici = typeof import('undici');

const require = createRequire(import.meta.url);
let loaded: Undici | undefined;

/**
 * undici, loaded on first use rather than at start-up: evaluating it is most of what bitsd
 * spends before it can answer its first request (about 0.6 s of 0.95 s CPU here), and a daemon
 * that only answers the CLI never needs it. undici is CommonJS, so this stays synchronous.
 */
export function undici(): Undici {
  loaded ??= require('undici') as Undici;
  return loaded;
}
