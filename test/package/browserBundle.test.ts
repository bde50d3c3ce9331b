/**
 * The client runs in a browser: `x402-rails` (client, protocol, receipts, paywall core), `x402-rails/evm` and
 * `x402-rails/solana/client` bundle with esbuild for `platform: 'browser'` without a single Node built-in (no
 * `node:crypto`, no native secp256k1 loader) — the way Vite or webpack would see them, through the package's import
 * names (tsconfig `paths` to the sources), and without hono, better-sqlite3, ioredis or pg. And `x402-rails/solana` does need one (its server side signs with
 * node:crypto), which is why the client has its own subpath.
 */
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
/**
 * Node's built-in modules, by bare and `node:` name — less bare `buffer`, which @solana/web3.js and its dependencies
 * import as the npm `buffer` package (a dependency of theirs, made for browsers).
 */
const builtins = new Set(
  builtinModules.flatMap((name) => (name === 'buffer' ? [`node:${name}`] : [name, `node:${name}`])),
);

/** Records every import of a Node built-in (and of a native addon loader) instead of resolving it. */
function nodeImports(found: string[]): Plugin {
  return {
    name: 'node-imports',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        if (
          builtins.has(args.path) ||
          args.path.startsWith('node:') ||
          /node-gyp-build|bindings\.js$/.test(args.path)
        ) {
          found.push(`${args.path} (from ${args.importer.replace(root, '')})`);
          return { path: args.path, external: true };
        }
        return undefined;
      });
    },
  };
}

async function bundle(source: string) {
  const found: string[] = [];
  const result = await build({
    stdin: { contents: source, resolveDir: root, loader: 'ts' },
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    logLevel: 'silent',
    tsconfig: `${root}tsconfig.json`,
    plugins: [nodeImports(found)],
    metafile: true,
  });
  const inputs = Object.keys(result.metafile.inputs);
  return { found, inputs, bytes: result.outputFiles[0]?.contents.length ?? 0 };
}

describe('browser bundle', () => {
  it('x402-rails, x402-rails/evm and x402-rails/solana/client import no Node built-in', async () => {
    const { found, inputs, bytes } = await bundle(`
      export { payingFetch, receiptOf, verifyReceipt, paywall, createReceiptSigner } from 'x402-rails';
      export { evmClients, evmWallet, evmEip3009Server } from 'x402-rails/evm';
      export { solanaExactClient, solanaWallet } from 'x402-rails/solana/client';
    `);
    expect(found).toEqual([]);
    expect(bytes).toBeGreaterThan(100_000);
    // A client-only install needs none of the server's optional peers.
    expect(inputs.filter((path) => /node_modules\/(hono|@hono|better-sqlite3|ioredis|pg)\//.test(path))).toEqual([]);
  }, 60_000);

  it('x402-rails/solana (server side included) does, through its Ed25519 signing', async () => {
    const { found } = await bundle(`export * from 'x402-rails/solana';`);
    expect(found.join('\n')).toContain('crypto (from adapters/solana/ed25519.ts)');
  }, 60_000);
});
