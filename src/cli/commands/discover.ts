import { MalformedInputError } from '../../core/errors';
import { discover as discoverOrigin } from '../../discovery/discover';
import type { DiscoveryItem } from '../../discovery/manifest';
import { expectPositionals } from '../args';
import { defineCommand } from '../command';
import { CliError } from '../errors';
import { print, printJson } from '../output';

const help = `Usage: x402-rails discover <origin> [--json]

Prints what an origin sells, without paying: every paid route and MCP tool of its discovery manifest
(/.well-known/x402, else /.well-known/x402.json) and, per rail, the scheme, network, asset and amount it
asks (advisory: the live 402 is authoritative).

Options:
  --json       print the manifest as one JSON document
  -h, --help   show this help`;

/** `discover <origin>`: what can be bought there, and at what price, per rail. */
export const discover = defineCommand({
  name: 'discover',
  summary: 'list what an origin sells and at what price per rail (/.well-known/x402)',
  help,
  options: {},
  async run({ values, positionals }) {
    const [origin = ''] = expectPositionals('discover', positionals, ['origin']);
    if (!URL.canParse(origin))
      throw new CliError(`"${origin.slice(0, 100)}" is not a URL such as https://api.example.com.`);
    let manifest: Awaited<ReturnType<typeof discoverOrigin>>;
    try {
      manifest = await discoverOrigin(origin);
    } catch (error) {
      if (error instanceof MalformedInputError) throw new CliError(error.message);
      if (error instanceof TypeError)
        throw new CliError(
          `Could not reach ${new URL(origin).origin}: ${error.cause instanceof Error ? error.cause.message : error.message}`,
        );
      throw error;
    }
    if (values.json) {
      printJson(manifest);
      return 0;
    }
    print(
      manifest.items.length === 0
        ? `${new URL(origin).origin} sells nothing.`
        : manifest.items.map(formatItem).join('\n\n'),
    );
    return 0;
  },
});

function formatItem(item: DiscoveryItem): string {
  const call =
    item.type === 'mcp'
      ? `MCP tool ${item.input.toolName ?? ''}`
      : `${item.input.method ?? 'GET'} ${item.resource.url}`;
  const about = [item.resource.serviceName, item.resource.description].filter(Boolean).join(' — ');
  const tags = item.resource.tags?.length ? ` [${item.resource.tags.join(', ')}]` : '';
  const offers = item.accepts.map((a) => `    ${a.scheme.padEnd(6)} ${a.network.padEnd(44)} ${a.amount} of ${a.asset}`);
  return [
    `${call}${about ? `  ${about}` : ''}${tags}`,
    ...(offers.length > 0 ? offers : ['    (no rail can quote it right now)']),
  ].join('\n');
}
