import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, describe, it } from 'vitest';
import type { PostgresSource } from '../../src/stores/postgres';
import { migratePostgres } from '../../src/stores/postgresSchema';
import { postgresBinDir, startPostgresServer, type PostgresServer } from './postgresServer';

/** A Postgres database for one fixture: its source, the table prefix it was migrated under, and its own second handle. */
export type PostgresFixture = { source: PostgresSource; peer: PostgresSource; tablePrefix: string };

/** What a test file gets: the two kinds of Postgres, each making fresh migrated fixtures. */
export type PostgresForTests = {
  /** Fixtures on the real server (two pools), or undefined when the binaries are missing outside CI. */
  server?: { server: PostgresServer; fresh(): Promise<PostgresFixture>; pool(): pg.Pool };
  /** Fixtures on one embedded PGlite per file (one connection: the peer is the same handle), each under its own prefix. */
  pglite: { fresh(): Promise<PostgresFixture> };
};

let prefixes = 0;

/**
 * Starts a PostgreSQL server for the calling test file (stopped with every pool in `afterAll`) and offers PGlite
 * fixtures too. When the server binaries are missing, the server part is skipped with a named skipped test, unless
 * `X402_REQUIRE_SERVERS=1` (set by `.ci/run`), where that is an error. Call at the top level of a test file.
 *
 * @example const pgs = await postgresForTests('Postgres payment store'); const { source } = await pgs.pglite.fresh();
 */
export async function postgresForTests(suite: string): Promise<PostgresForTests> {
  const pools: pg.Pool[] = [];
  let embedded: PGlite | undefined;
  const binDir = postgresBinDir();
  let server: PostgresServer | undefined;
  if (binDir) server = await startPostgresServer(binDir);
  else if (process.env.X402_REQUIRE_SERVERS === '1')
    throw new Error(`${suite}: PostgreSQL is not installed and X402_REQUIRE_SERVERS=1 (apt-get install postgresql).`);
  else
    describe(suite, () =>
      it.skip('SKIPPED: PostgreSQL server binaries are not installed (apt-get install postgresql, or set POSTGRES_BIN_DIR)', () => {}),
    );
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
    await embedded?.close().catch(() => undefined);
    await server?.stop();
  });
  const pool = (): pg.Pool => {
    if (!server) throw new Error('no server');
    const p = new pg.Pool({ connectionString: server.url, max: 10 });
    p.on('error', () => {}); // an idle client dropped by a stopped server must not crash the test process
    pools.push(p);
    return p;
  };
  return {
    ...(server
      ? {
          server: {
            server,
            pool,
            async fresh() {
              const tablePrefix = `t${prefixes++}_${process.pid}_`;
              const source = { pool: pool() };
              await migratePostgres(source, { tablePrefix });
              return { source, peer: { pool: pool() }, tablePrefix };
            },
          },
        }
      : {}),
    pglite: {
      async fresh() {
        // One embedded database per file (starting PGlite takes seconds); each fixture gets its own tables.
        embedded ??= new PGlite();
        const tablePrefix = `e${prefixes++}_`;
        const source = { pglite: embedded };
        await migratePostgres(source, { tablePrefix });
        return { source, peer: source, tablePrefix };
      },
    },
  };
}
