import { Redis } from 'ioredis';
import { afterAll, describe, it } from 'vitest';
import { redisServerBinary, startRedisServer, type RedisServer } from './redisServer';

/** One redis-server for a test file, and connected clients on it (closed after the file). */
export type RedisForTests = { binary: string; server: RedisServer; connect(): Redis };

/**
 * Starts redis-server for the calling test file (stopped, with every client, in `afterAll`), or registers one
 * skipped test named after `suite` and returns undefined when redis-server is not installed. Call at the top
 * level of a test file.
 *
 * @example
 * const redis = await redisForTests('Redis capability store');
 * if (redis) describe('…', () => { const client = redis.connect(); … });
 */
export async function redisForTests(suite: string): Promise<RedisForTests | undefined> {
  const binary = redisServerBinary();
  if (!binary) {
    if (process.env.X402_REQUIRE_SERVERS === '1')
      throw new Error(
        `${suite}: redis-server is not installed and X402_REQUIRE_SERVERS=1 (apt-get install redis-server).`,
      );
    describe(suite, () => {
      it.skip('SKIPPED: redis-server is not installed (apt-get install redis-server, or set REDIS_SERVER_BIN)', () => {});
    });
    return undefined;
  }
  const server = await startRedisServer(binary);
  const clients: Redis[] = [];
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.quit().catch(() => undefined)));
    await server.stop();
  });
  return {
    binary,
    server,
    connect() {
      const client = new Redis(server.url, { lazyConnect: false, maxRetriesPerRequest: 2 });
      clients.push(client);
      return client;
    },
  };
}
