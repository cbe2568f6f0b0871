/**
 * A mistake in what the user gave (a flag, a file, a folder, a config field): the CLI prints its
 * message as one line and exits with `exitCode` (2), and nothing recorded is changed. Every such
 * error extends this class, so the CLI maps types, never message text.
 */
export class InputError extends Error {
  readonly exitCode = 2;

  /**
   * `subject`: the flag ("--baseline"), file or field the message is about, for callers that act on it.
   * `usage`: the CLI adds "Run 'sweep --help' for usage." (a mistake on the command line itself).
   */
  constructor(message: string, readonly subject?: string, readonly usage = false) {
    super(message);
    this.name = new.target.name;
  }
}
