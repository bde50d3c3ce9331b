/**
 * Errors of the command-line tool. A {@link UsageError} means the command line was wrong (exit 2, with a
 * pointer to `--help`); a {@link CliError} means the command ran and failed (exit 1). Both are
 * `X402RailsError`s with stable codes. Messages never carry key material: callers name the setting that is
 * wrong, never its value.
 */
import { X402RailsError, errorCodes } from '../core/errors';

/**
 * The command line is wrong: unknown command or flag, missing or malformed argument. Exit code 2.
 *
 * @example throw new UsageError('Missing <url>.', 'pay');
 */
export class UsageError extends X402RailsError {
  override name = 'UsageError';
  /** Command whose `--help` the message points to (e.g. `pay`), or undefined for the top level. */
  readonly command: string | undefined;
  constructor(message: string, command?: string) {
    super(errorCodes.CLI_USAGE, message, { status: 400, details: command === undefined ? {} : { command } });
    this.command = command;
  }
}

/**
 * The command ran and failed (bad configuration, unreachable server, invalid receipt…). Exit code 1 by default.
 *
 * @example throw new CliError('X402_EVM_RPC_URL is not a URL.');
 */
export class CliError extends X402RailsError {
  override name = 'CliError';
  readonly exitCode: number;
  constructor(message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(errorCodes.CLI_FAILED, message, options.cause === undefined ? {} : { cause: options.cause });
    this.exitCode = options.exitCode ?? 1;
  }
}

/**
 * The message of any thrown value for one line on stderr, with its stable code when it has one (no stack,
 * no cause chain that could hold secrets).
 *
 * @example messageOf(new CliError('boom')) // 'boom'; a library error keeps its code: '… [RECEIPT__INVALID]'
 */
export function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = error instanceof UsageError || error instanceof CliError ? undefined : codeOf(error);
  return code === undefined ? error.message : `${error.message} [${code}]`;
}

/** The stable code of a thrown value, if it has one (ours, or a Node system error's). */
export function codeOf(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}
