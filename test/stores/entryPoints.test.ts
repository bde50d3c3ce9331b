import { readFileSync, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Every bare module specifier reachable from `entry` through relative imports (type-only imports skipped). */
function bareImportsOf(entry: string): Set<string> {
  const seen = new Set<string>();
  const bare = new Set<string>();
  const queue = [resolve(root, entry)];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    for (const match of source.matchAll(/^(?:import|export)\s+(type\s+)?[^'"]*?from\s+'([^']+)'/gm)) {
      const [, typeOnly, specifier] = match;
      if (typeOnly || !specifier) continue;
      if (!specifier.startsWith('.')) {
        bare.add(specifier);
        continue;
      }
      const base = resolve(dirname(file), specifier);
      const next = [`${base}.ts`, `${base}/index.ts`].find((candidate) => existsSync(candidate));
      if (next) queue.push(next);
    }
  }
  return bare;
}

describe('store entry points', () => {
  it('the core entry loads neither better-sqlite3 nor ioredis', () => {
    const bare = bareImportsOf('src/index.ts');
    expect(bare.has('better-sqlite3')).toBe(false);
    expect(bare.has('ioredis')).toBe(false);
  });

  it('x402-rails/stores imports neither better-sqlite3 (loaded when a SQLite store opens) nor ioredis nor pg (the caller brings the client)', () => {
    const bare = bareImportsOf('src/stores/index.ts');
    expect(bare.has('better-sqlite3')).toBe(false);
    expect(bare.has('ioredis')).toBe(false);
    expect(bare.has('pg')).toBe(false);
    expect(bare.has('@electric-sql/pglite')).toBe(false);
  });

  it('x402-rails/stores (src/stores/index.ts) exports', async () => {
    expect(Object.keys(await import('../../src/stores/index')).sort()).toMatchInlineSnapshot(`
      [
        "POSTGRES_TABLE_PREFIX",
        "SETTLED_LISTING_LIMIT",
        "SQLITE_BUSY_TIMEOUT_MS",
        "StoreCorruptError",
        "StoreUnavailableError",
        "canListSettled",
        "createMemoryPaymentStore",
        "createPostgresBudgetLedger",
        "createPostgresPaymentStore",
        "createRedisBudgetLedger",
        "createRedisPaymentStore",
        "createSqliteBudgetLedger",
        "createSqlitePaymentStore",
        "defaultPaymentStore",
        "migratePostgres",
        "postgresTables",
        "selectSettled",
      ]
    `);
  });
});
