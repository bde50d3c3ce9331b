/**
 * The `x402-rails` bin from a clone: `npx x402-rails` and `npm run cli --` run the CLI whether or not the package
 * was built (bin/x402-rails.js runs dist/cli.js, or the TypeScript source through tsx before the first build).
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
const env = { ...process.env, NO_COLOR: '1' };
const scratch = mkdtempSync(join(tmpdir(), 'x402-rails-launcher-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe.concurrent('x402-rails bin from a clone', () => {
  it('npx x402-rails --help (the package runs its own bin)', async () => {
    const { stdout } = await run('npx', ['--offline', 'x402-rails', '--help'], { cwd: repoRoot, env });
    expect(stdout).toMatch(/^Usage: x402-rails <command>/);
  });

  it('npm run cli -- --version runs the source', async () => {
    const { stdout } = await run('npm', ['run', '-s', 'cli', '--', '--version'], { cwd: repoRoot, env });
    expect(stdout.trim()).toBe(`x402-rails ${version}`);
  });

  it('before the first build (no dist/), the bin runs the TypeScript source through tsx', async () => {
    // A clone without dist/: the bin copied, everything else linked to this checkout.
    mkdirSync(join(scratch, 'bin'));
    copyFileSync(join(repoRoot, 'bin/x402-rails.js'), join(scratch, 'bin/x402-rails.js'));
    for (const entry of ['package.json', 'src', 'adapters', 'fixtures', 'node_modules'])
      symlinkSync(join(repoRoot, entry), join(scratch, entry));
    const { stdout } = await run(process.execPath, [join(scratch, 'bin/x402-rails.js'), 'pay', '--help'], {
      cwd: scratch,
      env,
    });
    expect(stdout).toMatch(/^Usage: x402-rails pay <url>/);
  });
});
