import { main as bitsadminMain } from './main.ts';

/**
 * What bin/bitsadmin.js and bin/openbits.js run: the one entry that `npm run build` bundles into
 * dist/cli.cjs (scripts/bundle.ts), so an installed CLI loads one file instead of sixty
 * modules; from a checkout the bins import it from src/. The client loads only for switches
 * that talk to the service (not for /help or /examples).
 */
export function bitsadmin(argv: readonly string[]): Promise<number> {
  return bitsadminMain(argv, async (options) => (await import('../client/index.ts')).connect(options));
}

/** `openbits VERB …`; `self` is how to run this command again (Node and the bin). */
export async function openbits(argv: readonly string[], self: readonly string[]): Promise<number> {
  return (await import('./main-openbits.ts')).main(argv, self);
}
