/**
 * `x402-rails` command line: devnets, paying a 402-protected URL, verifying receipts, the facilitator and the
 * demo. Each command lives in its own file under `commands/` and is loaded only when run, so `pay` never
 * loads the devnets and `receipt verify` loads no chain library.
 *
 * Exit codes: 0 success, 1 the command failed, 2 bad command line.
 */
import { version } from '../../package.json';
import type { Command } from './command';
import { CliError, UsageError, codeOf, messageOf } from './errors';
import { print, printJson } from './output';

/** Commands by the words that select them, loaded lazily. */
const commands: Record<string, { summary: string; load: () => Promise<Command> }> = {
  'devnet up': {
    summary: 'start every devnet; print endpoints and funded keys; stop on Ctrl-C',
    load: async () => (await import('./commands/devnetUp')).devnetUp,
  },
  pay: {
    summary: 'pay a 402-protected URL; print the body and the verified receipt',
    load: async () => (await import('./commands/pay')).pay,
  },
  'receipt verify': {
    summary: "verify a signed receipt offline against the issuer's JWKS",
    load: async () => (await import('./commands/receiptVerify')).receiptVerify,
  },
  facilitator: {
    summary: 'run the x402 facilitator service (/verify /settle /supported)',
    load: async () => (await import('./commands/facilitator')).facilitator,
  },
  dashboard: {
    summary: 'serve the receipts dashboard over a payment store (bearer key)',
    load: async () => (await import('./commands/dashboard')).dashboard,
  },
  discover: {
    summary: 'list what an origin sells and at what price per rail (/.well-known/x402)',
    load: async () => (await import('./commands/discover')).discover,
  },
  demo: {
    summary: 'run the three-rail demo; --serve keeps its paid server running',
    load: async () => (await import('./commands/demo')).demo,
  },
};

const topHelp = `Usage: x402-rails <command> [options]

Pay and get paid over HTTP 402 on EVM, Solana and Lightning.

Commands:
${Object.entries(commands)
  .map(([name, c]) => `  ${name.padEnd(16)}${c.summary}`)
  .join('\n')}

Run \`x402-rails <command> --help\` for a command's options. Every command takes --json for machine output
on stdout; progress goes to stderr. Exit codes: 0 ok, 1 the command failed, 2 bad command line.`;

/** Finds the command named by the first words of `argv`; returns it and the remaining arguments. */
function route(argv: string[]): { name: string; rest: string[] } | undefined {
  const [first, second] = argv;
  if (first === undefined) return undefined;
  if (second !== undefined && commands[`${first} ${second}`])
    return { name: `${first} ${second}`, rest: argv.slice(2) };
  if (commands[first]) return { name: first, rest: argv.slice(1) };
  return undefined;
}

/**
 * Runs the CLI with `argv` (the arguments after the program name) and resolves with the exit code. Never
 * rejects: failures are reported on stderr (and as `{"ok": false, "error": …}` on stdout with `--json`).
 *
 * @example process.exitCode = await main(['receipt', 'verify', 'r.json', '--jwks', 'jwks.json']);
 */
export async function main(argv: string[]): Promise<number> {
  const [first, second] = argv;
  if (first === '--help' || first === '-h' || first === 'help') {
    if (first === 'help' && second !== undefined) return main([...argv.slice(1), '--help']);
    print(topHelp);
    return 0;
  }
  if (first === '--version' || first === '-v') {
    print(`x402-rails ${version}`);
    return 0;
  }
  const routed = route(argv);
  if (!routed) {
    const group = first === undefined ? [] : Object.keys(commands).filter((name) => name.startsWith(`${first} `));
    const message =
      first === undefined
        ? 'Missing a command.'
        : group.length > 0
          ? `"${first}" needs a sub-command: ${group.join(', ')}${second === undefined ? '' : ` (not "${second}")`}.`
          : `Unknown command "${first}".`;
    return fail(new UsageError(message), 'x402-rails', argv.includes('--json'), `\n${topHelp}`);
  }
  const json = routed.rest.includes('--json');
  try {
    const command = await commands[routed.name]!.load();
    return await command.run(routed.rest);
  } catch (error) {
    return fail(
      error,
      `x402-rails ${routed.name}`,
      json,
      error instanceof UsageError ? `Run \`x402-rails ${routed.name} --help\` for usage.` : undefined,
    );
  }
}

/** Reports a failure on stderr (and stdout with --json) and returns its exit code. */
function fail(error: unknown, prefix: string, json: boolean, hint: string | undefined): number {
  const exitCode = error instanceof UsageError ? 2 : error instanceof CliError ? error.exitCode : 1;
  process.stderr.write(`${prefix}: ${messageOf(error)}\n${hint === undefined ? '' : `${hint}\n`}`);
  if (process.env['X402_DEBUG'] && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  if (json)
    printJson({
      ok: false,
      exitCode,
      error: { code: codeOf(error) ?? 'UNEXPECTED', message: error instanceof Error ? error.message : String(error) },
    });
  return exitCode;
}
