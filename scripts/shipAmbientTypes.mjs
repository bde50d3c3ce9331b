#!/usr/bin/env node
/**
 * After `tsup`: ships the declarations we wrote for packages that have none (better-sqlite3, ln-service) beside the
 * built declarations, and points every built .d.ts/.d.cts that imports such a package at them with a
 * `/// <reference path>`, so a consumer type-checks with `skipLibCheck: false` without those types of its own.
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'dist');
const ambient = {
  'better-sqlite3': 'src/stores/betterSqlite3.d.ts',
  'ln-service': 'adapters/lightning/ln-service.d.ts',
};

mkdirSync(join(dist, 'ambient'), { recursive: true });
for (const [name, source] of Object.entries(ambient))
  copyFileSync(join(root, source), join(dist, 'ambient', `${name}.d.ts`));
let patched = 0;
for (const file of readdirSync(dist)) {
  if (!/\.d\.c?ts$/.test(file)) continue;
  const path = join(dist, file);
  const text = readFileSync(path, 'utf8');
  const references = Object.keys(ambient)
    .filter((name) => text.includes(`from '${name}'`) && !text.includes(`ambient/${name}.d.ts`))
    .map((name) => `/// <reference path="./ambient/${name}.d.ts" />\n`);
  if (references.length === 0) continue;
  writeFileSync(path, references.join('') + text);
  patched++;
}
console.log(
  `ship-ambient-types: ${Object.keys(ambient).length} declarations, referenced from ${patched} built declaration files`,
);
