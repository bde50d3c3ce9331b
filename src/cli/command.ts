/** One sub-command of the CLI: its name as typed, a one-line summary, full help, and what it does. */
export type Command = {
  /** Words that select it, e.g. `devnet up`. */
  name: string;
  summary: string;
  /** The `--help` text. */
  help: string;
  /** Runs it with the arguments after its name; resolves with the exit code. */
  run(argv: string[]): Promise<number>;
};
