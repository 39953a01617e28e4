/**
 * A command line the CLI cannot make sense of (missing or extra arguments, an unknown keyword, a
 * malformed number). Printed with the switch's usage; exit code 2. BITS errors from the manager
 * are BitsErrors instead (exit code 1).
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  /** The switch whose usage to print, or null for the general help. */
  readonly command: string | null;

  constructor(message: string, command: string | null) {
    super(message);
    this.command = command;
  }
}
