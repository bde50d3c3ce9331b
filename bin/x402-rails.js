#!/usr/bin/env node
/**
 * The `x402-rails` executable (package.json `bin`). Installed, it runs the built CLI (dist/cli.js). In a clone
 * before `npm run build` there is no dist yet: it runs the TypeScript source through tsx (a dev dependency)
 * instead, so `npx x402-rails …` and `npm run cli -- …` work straight after `npm install`.
 */
import { existsSync } from 'node:fs';

const built = new URL('../dist/cli.js', import.meta.url);
const source = new URL('../src/cli/index.ts', import.meta.url);

if (existsSync(built)) {
  await import(built.href);
} else if (existsSync(source)) {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    process.stderr.write(
      'x402-rails: dist/cli.js is missing and tsx is not installed: run `npm install` then `npm run build`.\n',
    );
    process.exit(1);
  }
  register();
  await import(source.href);
} else {
  process.stderr.write('x402-rails: dist/cli.js is missing from this install; reinstall x402-rails.\n');
  process.exit(1);
}
