import { parseCommandArgs, type OptionSpec, type ParsedArgs } from './args';
import { print } from './output';

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

/** Parameters of {@link defineCommand}: a command whose arguments are parsed for it. */
export type DefineCommandParameters<O extends OptionSpec> = Omit<Command, 'run'> & {
  /** Its options (`--help` and `--json` are added). */
  options: O;
  /** Runs it with its parsed arguments (never called for `--help`). */
  run(args: ParsedArgs<O>): Promise<number>;
};

/**
 * Defines a command: parses its arguments strictly (bad ones are usage errors, exit 2) and answers `--help`
 * with its help text before `run` sees anything.
 *
 * @example
 * export const hello = defineCommand({ name: 'hello', summary: 'greet', help: 'Usage: x402-rails hello', options: {}, run: async () => 0 });
 */
export function defineCommand<O extends OptionSpec>(command: DefineCommandParameters<O>): Command {
  const { options, run, ...described } = command;
  return {
    ...described,
    async run(argv) {
      const args = parseCommandArgs(command.name, argv, options);
      const values: object = args.values;
      if ('help' in values && values.help === true) {
        print(command.help);
        return 0;
      }
      return run(args);
    },
  };
}
