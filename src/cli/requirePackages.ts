/**
 * The optional packages each command needs, checked before the command loads any of them: a missing one is a
 * single message naming every package the command needs that is missing, and the exact install line — not
 * one `Cannot find package` per run. The version ranges are the package's own `peerDependencies`.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { peerDependencies } from '../../package.json';
import { CliError } from './errors';

/** The optional packages of each rail's client and server (`x402-rails/evm`, `/solana`, `/lightning`). */
export const railPackages = {
  evm: ['viem'],
  solana: ['@solana/web3.js', '@solana/spl-token'],
  lightning: ['ln-service'],
} as const satisfies Record<string, readonly string[]>;

/** What `x402-rails/devnet` (`devnet up`, `demo`) loads: anvil, litesvm's Solana RPC, the Lightning stand-in. */
export const devnetPackages = [
  '@foundry-rs/anvil',
  'viem',
  '@solana/web3.js',
  '@solana/spl-token',
  '@solana/kit',
  'litesvm',
  'ws',
  'ln-service',
  'bolt11',
  'selfsigned',
  '@grpc/grpc-js',
  '@grpc/proto-loader',
] as const;

/** What the paid servers of `demo` and `facilitator` load besides their rails. */
export const serverPackages = ['hono', '@hono/node-server'] as const;

function requireHere(): NodeRequire {
  return createRequire(typeof __filename === 'string' ? __filename : import.meta.url);
}

/**
 * Whether `name` can be imported from this package: a `node_modules/<name>/package.json` on Node's search path
 * (checked on disk, so an ESM-only package whose exports hide package.json counts as installed).
 */
export function isInstalled(name: string): boolean {
  const dirs = requireHere().resolve.paths(name) ?? [];
  return dirs.some((dir) => existsSync(join(dir, name, 'package.json')));
}

/** `name@range` as npm install takes it, the range from our peerDependencies. */
function installSpec(name: string): string {
  const range = (peerDependencies as Record<string, string | undefined>)[name];
  return range === undefined ? name : `'${name}@${range}'`;
}

/** The `npm install` line for `names` (as dev dependencies with `dev`). */
export function installLine(names: readonly string[], options: { dev?: boolean } = {}): string {
  return `npm install ${options.dev ? '--save-dev ' : ''}${names.map(installSpec).join(' ')}`;
}

/**
 * Throws one {@link CliError} naming every package of `names` that is missing, and the install line, when any
 * is; `what` says what needs them.
 *
 * @example requirePackages('devnet up', devnetPackages, { dev: true });
 * // devnet up needs 3 packages that are not installed: litesvm, bolt11, selfsigned. Install them with:
 * //   npm install --save-dev 'litesvm@^1.5.0' 'bolt11@^1.4.0' 'selfsigned@^5.0.0'
 */
export function requirePackages(what: string, names: readonly string[], options: { dev?: boolean } = {}): void {
  const missing = [...new Set(names)].filter((name) => !isInstalled(name));
  if (missing.length === 0) return;
  const count =
    missing.length === 1 ? 'a package that is not installed' : `${missing.length} packages that are not installed`;
  throw new CliError(
    `${what} needs ${count}: ${missing.join(', ')}. Install ${missing.length === 1 ? 'it' : 'them'} with:\n  ${installLine(missing, options)}`,
  );
}
