/**
 * The package as a downstream project gets it: `npm pack`, the tarball unpacked into a scratch project's
 * node_modules (its dependencies and optional peers linked from this checkout, nothing downloaded), and consumer
 * code importing every subpath type-checked with `skipLibCheck: false` — ESM under `node16` and `bundler`, CommonJS
 * under `nodenext`. Also checks what the tarball holds: the built files, no fixture sources.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const shared = join(repoRoot, 'node_modules');
const tsc = join(shared, 'typescript/bin/tsc');
let project: string;
let files: string[];
let subpaths: string[];

type PackageJson = {
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  exports: Record<string, unknown>;
};

beforeAll(async () => {
  if (!existsSync(join(repoRoot, 'dist/index.d.ts')))
    throw new Error('dist/ is missing: run `npm run build` first (CI builds before testing).');
  project = mkdtempSync(join(tmpdir(), 'x402-rails-consumer-'));
  const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', project], {
    cwd: repoRoot,
    maxBuffer: 64 * 1024 * 1024,
  });
  const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  files = packed!.files.map((f) => f.path);
  const pkgDir = join(project, 'node_modules/x402-rails');
  mkdirSync(pkgDir, { recursive: true });
  await run('tar', ['-xzf', join(project, packed!.filename), '-C', pkgDir, '--strip-components=1']);
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as PackageJson;
  subpaths = Object.keys(pkg.exports)
    .filter((s) => s !== './package.json')
    .map((s) => (s === '.' ? 'x402-rails' : `x402-rails/${s.slice(2)}`));
  // What a consumer installs: the dependencies, the optional peers of every subpath, the types of the frameworks.
  const installed = [
    ...Object.keys(pkg.dependencies ?? {}),
    ...Object.keys(pkg.peerDependencies ?? {}),
    '@types/node',
    '@types/express',
    'express',
    'lightning',
    '@noble/hashes',
  ];
  for (const name of new Set(installed)) {
    if (!existsSync(join(shared, name))) continue;
    mkdirSync(join(project, 'node_modules', name, '..'), { recursive: true });
    symlinkSync(join(shared, name), join(project, 'node_modules', name));
  }
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  const imports = subpaths.map((s, i) => `import * as m${i} from '${s}';`).join('\n');
  const uses = `export const loaded = [${subpaths.map((_, i) => `m${i}`).join(', ')}];\n`;
  const usage = [
    "import { paywall, payingFetch, verifyReceipt, type Receipt } from 'x402-rails';",
    "import { evmEip3009Server, evmClients } from 'x402-rails/evm';",
    "import { honoPaywall } from 'x402-rails/hono';",
    'export const check: [typeof paywall, typeof payingFetch, typeof verifyReceipt, typeof evmEip3009Server, typeof evmClients, typeof honoPaywall] = [paywall, payingFetch, verifyReceipt, evmEip3009Server, evmClients, honoPaywall];',
    'export type R = Receipt;',
  ].join('\n');
  writeFileSync(join(project, 'esm.mts'), `${imports}\n${uses}${usage}\n`);
  writeFileSync(join(project, 'cjs.cts'), `${imports}\n${uses}${usage}\n`);
  writeFileSync(join(project, 'bundler.ts'), `${imports}\n${uses}${usage}\n`);
  const common = {
    strict: true,
    skipLibCheck: false,
    noEmit: true,
    types: ['node'],
    target: 'ES2022',
    lib: ['ES2023', 'DOM'],
    esModuleInterop: true,
  };
  writeFileSync(
    join(project, 'tsconfig.node16.json'),
    JSON.stringify({
      compilerOptions: { ...common, module: 'node16', moduleResolution: 'node16' },
      files: ['esm.mts'],
    }),
  );
  // CommonJS consumers: viem and jose type themselves as ES modules, which a CommonJS file may require only where
  // require(esm) is allowed (TypeScript's nodenext, Node 20.19+ / 22).
  writeFileSync(
    join(project, 'tsconfig.cjs.json'),
    JSON.stringify({
      compilerOptions: { ...common, module: 'nodenext', moduleResolution: 'nodenext' },
      files: ['cjs.cts'],
    }),
  );
  writeFileSync(
    join(project, 'tsconfig.bundler.json'),
    JSON.stringify({
      compilerOptions: { ...common, module: 'esnext', moduleResolution: 'bundler' },
      files: ['bundler.ts'],
    }),
  );
}, 600_000);
afterAll(() => rmSync(project, { recursive: true, force: true }));

/**
 * The type errors in x402-rails' own declarations (none expected). Errors inside another package's declarations
 * are not ours to fix: `lightning` (behind ln-service) types a CommonJS package with ESM-only imports, which
 * node16 reports inside its own files.
 */
async function typecheck(config: string): Promise<string> {
  try {
    await run(process.execPath, [tsc, '-p', config], { cwd: project, maxBuffer: 16 * 1024 * 1024 });
    return '';
  } catch (error) {
    const out = (error as { stdout: string }).stdout;
    const errors = out.split('\n').filter((line) => / error TS\d+/.test(line));
    if (errors.length === 0) return out;
    // Ours: the consumer's files and the unpacked package (linked packages report their real path, outside the project).
    return errors
      .filter((line) => line.startsWith('node_modules/x402-rails/') || !line.includes('node_modules/'))
      .join('\n');
  }
}

describe.concurrent('the packed package', () => {
  it('holds the bin, the built files, the license and the compiled artifacts, and no fixture sources', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'LICENSE',
        'README.md',
        'package.json',
        'bin/x402-rails.js',
        'dist/index.js',
        'dist/index.d.ts',
        'dist/cli.js',
        'dist/devnet.js',
      ]),
    );
    expect(
      files.filter((f) => f.startsWith('fixtures/') && !/^fixtures\/evm\/artifacts\/[^/]+\.json$/.test(f)),
    ).toEqual([]);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.endsWith('.d.cts'))).toEqual([]);
  });

  it('type-checks every subpath with skipLibCheck off under node16 (ESM; errors inside other packages left out)', async () => {
    expect(await typecheck('tsconfig.node16.json')).toBe('');
  }, 600_000);

  it('type-checks every subpath with skipLibCheck off from CommonJS (nodenext)', async () => {
    expect(await typecheck('tsconfig.cjs.json')).toBe('');
  }, 600_000);

  it('type-checks every subpath with skipLibCheck off under bundler resolution', async () => {
    expect(await typecheck('tsconfig.bundler.json')).toBe('');
  }, 600_000);
});
