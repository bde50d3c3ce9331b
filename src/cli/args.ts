import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors';

/** Option declarations of one command, as `node:util` `parseArgs` takes them. */
export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** Flags every command takes. */
export const commonOptions = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
} as const satisfies OptionSpec;

/** What {@link parseCommandArgs} returns: option values by name, and positionals. */
export type ParsedArgs<O extends OptionSpec> = ReturnType<
  typeof parseArgs<{ options: O & typeof commonOptions; allowPositionals: true; strict: true }>
>;

/**
 * Parses a command's arguments strictly (unknown flags and missing flag values are errors), with
 * `--help` and `--json` added to every command. Errors become {@link UsageError}s that name the command.
 *
 * @example const { values, positionals } = parseCommandArgs('pay', argv, { max: { type: 'string' } });
 */
export function parseCommandArgs<O extends OptionSpec>(command: string, argv: string[], options: O): ParsedArgs<O> {
  try {
    return parseArgs({ args: argv, options: { ...options, ...commonOptions }, allowPositionals: true, strict: true });
  } catch (error) {
    const message =
      error instanceof Error ? error.message.replace(/\. To specify a positional argument.*$/s, '.') : String(error);
    throw new UsageError(message, command);
  }
}

/** Fails with a usage error unless exactly `count` positionals were given; returns them. */
export function expectPositionals(command: string, positionals: string[], names: string[]): string[] {
  if (positionals.length < names.length)
    throw new UsageError(
      `Missing ${names
        .slice(positionals.length)
        .map((n) => `<${n}>`)
        .join(' ')}.`,
      command,
    );
  if (positionals.length > names.length)
    throw new UsageError(`Unexpected argument "${positionals[names.length]}".`, command);
  return positionals;
}

/**
 * Parses an amount in atomic units (a non-negative integer, no decimals, no exponent). Money is never a float.
 *
 * @example parseAtomicAmount('--max', '10000') // 10000n
 */
export function parseAtomicAmount(flag: string, text: string, command: string): bigint {
  const trimmed = text.trim().replace(/_/g, '');
  if (!/^\d{1,78}$/.test(trimmed)) {
    throw new UsageError(
      `${flag} "${text}" is not an amount: give atomic units as a whole number (e.g. 10000 for 0.01 of a 6-decimal token, 21000 msat for 21 sat).`,
      command,
    );
  }
  return BigInt(trimmed);
}

/**
 * Parses a TCP port (0–65535; 0 picks a free one).
 *
 * @example parsePort('facilitator', '4021') // 4021
 */
export function parsePort(command: string, text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535)
    throw new UsageError(`--port "${text}" is not a port number (0–65535).`, command);
  return Number(text);
}
