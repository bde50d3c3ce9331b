import { expectPositionals, parsePort } from '../args';
import { defineCommand } from '../command';
import { CliError } from '../errors';
import { facilitatorRailsFromEnv } from '../facilitatorRails';
import { isLoopback } from '../../facilitator/isLoopback';
import { print, printJson, progress } from '../output';
import { railPackages, requirePackages, serverPackages } from '../requirePackages';
import { runUntilSignal } from '../waitForShutdown';

const help = `Usage: x402-rails facilitator [--port <n>] [--host <addr>] [--open] [--json]

Runs the x402 v2 facilitator service (POST /verify, POST /settle, GET /supported) over the EVM rails
(EIP-3009, and EIP-2612 for one payee), usable by the official HTTPFacilitatorClient and by remoteRail.
Stops on Ctrl-C.

Environment:
  X402_EVM_RPC_URL          EVM JSON-RPC endpoint
  X402_FACILITATOR_EVM_PRIVATE_KEY
                            gas account that submits settlements (0x + 64 hex); X402_EVM_PRIVATE_KEY,
                            the payer of \`pay\`, is still read when this is unset (deprecated)
  X402_EVM_TOKEN_ADDRESS    the EIP-3009/EIP-2612 token
  X402_EVM_TOKEN_NAME       its EIP-712 domain name    (default: read from the token's eip712Domain())
  X402_EVM_TOKEN_VERSION    its EIP-712 domain version (default: read from the token's eip712Domain())
  X402_EVM_CHAIN_ID         chain id (default: read from the RPC)
  X402_EVM_EIP2612_PAYEE    the one payee EIP-2612 permits are settled to; unset: EIP-2612 is not offered
                            (a permit binds the gas account as spender, not a payee)
  X402_FACILITATOR_KEYS     comma-separated bearer API keys, each ≥ 16 characters (unset: open facilitator)

Options:
  --port <n>     port to listen on (default 4021; 0 picks a free port)
  --host <addr>  interface to bind (default 127.0.0.1); without keys only loopback unless --open
  --open         allow binding beyond loopback without X402_FACILITATOR_KEYS (anyone reaching it may settle)
  --json         print {"url": …, "rails": […]} on stdout once listening
  -h, --help     show this help`;

/** `facilitator`: run the facilitator service with rails from the environment. */
export const facilitator = defineCommand({
  name: 'facilitator',
  summary: 'run the x402 facilitator service (/verify /settle /supported) with rails from the environment',
  help,
  options: { port: { type: 'string' }, host: { type: 'string' }, open: { type: 'boolean' } },
  async run({ values, positionals }) {
    expectPositionals('facilitator', positionals, []);
    const port = values.port === undefined ? 4021 : parsePort('facilitator', values.port);
    const apiKeys = (process.env['X402_FACILITATOR_KEYS'] ?? '')
      .split(',')
      .map((k) => k.trim())
      .filter((k) => k !== '');
    if (apiKeys.some((k) => k.length < 16))
      throw new CliError('Every key in X402_FACILITATOR_KEYS must be at least 16 characters long.');
    if (apiKeys.length === 0 && values.host !== undefined && !isLoopback(values.host) && values.open !== true) {
      throw new CliError(
        `Without X402_FACILITATOR_KEYS the facilitator listens only on loopback; --host ${values.host} would let anyone who reaches it settle through your gas account. Set X402_FACILITATOR_KEYS, or add --open to run it open on purpose.`,
      );
    }
    requirePackages('facilitator', [...railPackages.evm, ...serverPackages]);
    const { rails, signers, describe, notes } = await facilitatorRailsFromEnv(process.env);
    for (const note of notes) progress(note);
    const start = async () => {
      const { startFacilitator } = await import('../../facilitator/index');
      const started = await startFacilitator({
        rails,
        signers,
        ...(apiKeys.length > 0 ? { apiKeys } : {}),
        port,
        ...(values.host !== undefined ? { hostname: values.host } : {}),
        ...(values.open === true ? { allowOpen: true } : {}),
        // /healthz, /readyz, /metrics; Ctrl-C or SIGTERM lets the settlements in flight finish before it stops.
        operations: {},
        onEvent: (e) => {
          if (e.type === 'settled')
            progress(`settle ${e.network}: ${e.success ? 'ok' : `failed (${e.reason ?? 'unknown'})`} ${e.transaction}`);
          else if (e.type === 'error') progress(`${e.path}: ${e.status} ${e.code}`);
        },
      });
      return { url: started.url, stop: () => started.close() };
    };
    return runUntilSignal('the facilitator', start, ({ url }) => {
      if (values.json) printJson({ url, rails: rails.map((r) => r.id), auth: apiKeys.length > 0 });
      else print(`Facilitator listening on ${url}\n${describe.map((d) => `  ${d}`).join('\n')}`);
      if (apiKeys.length === 0)
        progress(
          'Warning: X402_FACILITATOR_KEYS is unset — anyone who can reach this port may settle through your gas account.',
        );
    });
  },
});
