import { readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as Record<string, Record<string, string> | undefined>;
/** Every package we name stays external: chain libraries are optional peers, loaded only by their subpath. */
const external = [...new Set(['dependencies', 'devDependencies', 'peerDependencies'].flatMap((k) => Object.keys(pkg[k] ?? {})))];

/** One bundle per public subpath; shared code is split into common chunks so error classes stay identical across entries. */
export default defineConfig({
  entry: {
    index: 'src/index.ts',
    hono: 'src/server/hono.ts',
    express: 'src/server/express.ts',
    node: 'src/server/node.ts',
    evm: 'adapters/evm/index.ts',
    solana: 'adapters/solana/index.ts',
    lightning: 'adapters/lightning/index.ts',
    facilitator: 'src/facilitator/index.ts',
    devnet: 'fixtures/index.ts',
    testing: 'src/testing/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  splitting: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  treeshake: true,
  external: [...external, /^viem\//, /^@solana\//, /^litesvm/, /^lightning\//],
});
