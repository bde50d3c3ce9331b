import { readFileSync, rmSync } from 'node:fs';
import { defineConfig } from 'tsup';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as Record<
  string,
  Record<string, string> | undefined
>;
/** Every package we name stays external: chain libraries are optional peers, loaded only by their subpath. */
const external = [
  ...new Set(['dependencies', 'devDependencies', 'peerDependencies'].flatMap((k) => Object.keys(pkg[k] ?? {}))),
];

/** Where the CLI's lazily loaded chunks go, apart from the library's, so neither build deletes the other's output. */
const cliChunks = 'cli';

/**
 * One bundle per public subpath; shared code is split into common chunks so error classes stay identical across entries.
 * Second: the `x402-rails` bin (ESM only, with a shebang); its commands stay separate chunks so `--help` loads no chain library.
 */
export default defineConfig([
  {
    entry: {
      index: 'src/index.ts',
      hono: 'src/server/hono.ts',
      express: 'src/server/express.ts',
      node: 'src/server/node.ts',
      evm: 'adapters/evm/index.ts',
      solana: 'adapters/solana/index.ts',
      'solana-client': 'adapters/solana/clientIndex.ts',
      lightning: 'adapters/lightning/index.ts',
      facilitator: 'src/facilitator/index.ts',
      devnet: 'fixtures/index.ts',
      testing: 'src/testing/index.ts',
      capabilities: 'src/capabilities/index.ts',
      stores: 'src/stores/index.ts',
      risk: 'src/risk/index.ts',
      metering: 'src/metering/index.ts',
      mcp: 'src/mcp/index.ts',
      extensions: 'src/extensions/index.ts',
      paywall: 'src/paywall-ui/index.ts',
      dashboard: 'src/dashboard/index.ts',
    },
    format: ['esm', 'cjs'],
    dts: true,
    splitting: true,
    sourcemap: true,
    clean: ['!cli.js', '!cli.js.map', `!${cliChunks}/**`],
    target: 'node20',
    treeshake: true,
    external: [...external, /^viem\//, /^@solana\//, /^litesvm/, /^lightning\//],
  },
  {
    entry: { cli: 'src/cli/index.ts' },
    format: ['esm'],
    banner: { js: '#!/usr/bin/env node' },
    splitting: true,
    sourcemap: true,
    clean: false,
    target: 'node20',
    external: [...external, /^viem\//, /^@solana\//, /^litesvm/, /^lightning\//],
    esbuildOptions(options) {
      options.chunkNames = `${cliChunks}/[name]-[hash]`;
    },
    plugins: [
      { name: 'clean-cli-chunks', buildStart: () => rmSync(`dist/${cliChunks}`, { recursive: true, force: true }) },
    ],
  },
]);
