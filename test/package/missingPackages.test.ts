/**
 * A plain install that lacks optional packages: the built CLI, copied into a scratch project whose node_modules
 * holds only x402-rails' own dependencies (and, per case, some optional ones), names every missing package of
 * a command in one message with the install line, instead of failing on them one run at a time.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const shared = join(repoRoot, 'node_modules');
const dependencies = ['zod', 'jose', '@noble/curves', '@noble/hashes'];
let root: string;

/** A scratch project with x402-rails (the built files) and `extra` optional packages linked from this checkout. */
function scratchProject(name: string, extra: string[]): string {
  const dir = join(root, name);
  const pkg = join(dir, 'node_modules', 'x402-rails');
  mkdirSync(pkg, { recursive: true });
  for (const entry of ['bin', 'dist', 'package.json'])
    cpSync(join(repoRoot, entry), join(pkg, entry), { recursive: true });
  for (const dep of [...dependencies, ...extra]) {
    mkdirSync(join(dir, 'node_modules', dep, '..'), { recursive: true });
    symlinkSync(join(shared, dep), join(dir, 'node_modules', dep));
  }
  return dir;
}

async function cli(
  dir: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stderr: string }> {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('X402_') && k !== 'ANVIL_BINARY'),
  );
  try {
    await promisify(execFile)(process.execPath, [join(dir, 'node_modules/x402-rails/bin/x402-rails.js'), ...args], {
      cwd: dir,
      env: { ...clean, ...env },
    });
    return { code: 0, stderr: '' };
  } catch (error) {
    const e = error as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
}

beforeAll(() => {
  if (!existsSync(join(repoRoot, 'dist/cli.js')))
    throw new Error('dist/ is missing: run `npm run build` first (CI builds before testing).');
  root = mkdtempSync(join(tmpdir(), 'x402-rails-missing-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe.concurrent('a plain install without the optional packages', () => {
  it('devnet up names all twelve devnet packages in one message, with one install line', async () => {
    const run = await cli(scratchProject('bare', []), ['devnet', 'up']);
    expect(run.code).toBe(1);
    const all = [
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
    ];
    expect(run.stderr).toContain(
      `devnet up needs 12 packages that are not installed: ${all.join(', ')}. Install them with:`,
    );
    expect(run.stderr).toMatch(/npm install --save-dev '@foundry-rs\/anvil@[^']+' 'viem@\^2\.\d+\.\d+' /);
    expect(run.stderr).not.toContain('Cannot find');
  });

  it('devnet up with everything but @foundry-rs/anvil names it alone and does not blame --omit=optional', async () => {
    const others = [
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
    ];
    const run = await cli(scratchProject('no-anvil', others), ['devnet', 'up']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /devnet up needs a package that is not installed: @foundry-rs\/anvil\. Install it with:\n {2}npm install --save-dev '@foundry-rs\/anvil@/,
    );
    expect(run.stderr).not.toContain('omit=optional');
  });

  it('pay with an EVM and a Lightning wallet set but neither library installed names viem and ln-service', async () => {
    const env = {
      X402_EVM_PRIVATE_KEY: `0x${'11'.repeat(32)}`,
      X402_EVM_RPC_URL: 'http://127.0.0.1:8545',
      X402_LND_SOCKET: '127.0.0.1:10009',
      X402_LND_CERT: 'Y2VydA==',
      X402_LND_MACAROON: '0201',
    };
    const run = await cli(scratchProject('pay', []), ['pay', 'http://127.0.0.1:9/x'], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      'Paying with the evm, lightning wallets set in the environment needs 2 packages that are not installed: viem, ln-service.',
    );
    expect(run.stderr).toMatch(/npm install 'viem@[^']+' 'ln-service@[^']+'/);
    expect(run.stderr).not.toContain(`${'11'.repeat(8)}`);
  });
});
