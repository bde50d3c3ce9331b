import { defineConfig } from 'tsup';

/** One bundle per public subpath; shared code is split into common chunks so error classes stay identical across entries. */
export default defineConfig({
  entry: {
    index: 'src/index.ts',
    hono: 'src/server/hono.ts',
    express: 'src/server/express.ts',
    node: 'src/server/node.ts',
    evm: 'adapters/evm/index.ts',
    devnet: 'fixtures/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  splitting: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  treeshake: true,
});
