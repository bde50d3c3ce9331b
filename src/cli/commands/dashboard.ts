import { RECEIPT_JWKS_PATH } from '../../core/receipt/receipt';
import { expectPositionals, parsePort } from '../args';
import { defineCommand } from '../command';
import { CliError, UsageError } from '../errors';
import { print, printJson, progress } from '../output';
import { readJwks } from '../readJwks';
import { runUntilSignal } from '../waitForShutdown';

const help = `Usage: x402-rails dashboard (--sqlite <file> | --redis <url>) --jwks <url|file> [options]

Serves the receipts dashboard over a paywall's payment store: every settled receipt re-verified against the
issuer's JWKS (filters by rail, route, payer, time), revenue per rail and route per day, pending settlements,
metering sessions, the audit log's chain (with --audit-sqlite), and CSV / JSON-lines exports. The page asks for
the key in X402_DASHBOARD_KEY (at least 16 characters); nothing is readable without it.

Options:
  --sqlite <file>        the SQLite payment store file of the paywall
  --redis <url>          the Redis of a Redis payment store (redis://host:port)
  --prefix <p>           key/table prefix of the store (default x402_ for SQLite, x402: for Redis)
  --jwks <url|file>      the issuer's JWKS: a file, a URL, or the issuer's origin (then ${RECEIPT_JWKS_PATH})
  --issuer <origin>      flag receipts that name another issuer
  --audit-sqlite <file>  a SQLite audit log (risk controls) whose hash chain to check
  --port <n>             port (default 4022; 0 picks a free one)
  --host <addr>          interface (default 127.0.0.1)
  --json                 print {"url": …} once listening
  -h, --help             show this help`;

/** `dashboard`: serve the receipts dashboard over a SQLite or Redis payment store. */
export const dashboard = defineCommand({
  name: 'dashboard',
  summary: 'serve the receipts dashboard over a payment store (bearer key)',
  help,
  options: {
    sqlite: { type: 'string' },
    redis: { type: 'string' },
    prefix: { type: 'string' },
    jwks: { type: 'string' },
    issuer: { type: 'string' },
    'audit-sqlite': { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
  },
  async run({ values, positionals }) {
    expectPositionals('dashboard', positionals, []);
    if ((values.sqlite === undefined) === (values.redis === undefined))
      throw new UsageError('Give the payment store: --sqlite <file> or --redis <url> (one of them).', 'dashboard');
    if (values.jwks === undefined)
      throw new UsageError(
        "Missing --jwks <url|file>: receipts are re-verified against the issuer's keys.",
        'dashboard',
      );
    const key = process.env['X402_DASHBOARD_KEY'] ?? '';
    if (key.length < 16)
      throw new CliError(
        'Set X402_DASHBOARD_KEY to a key of at least 16 characters: the dashboard shows nothing without it.',
      );
    const port = values.port === undefined ? 4022 : parsePort('dashboard', values.port);
    const jwks = await readJwks(values.jwks, RECEIPT_JWKS_PATH);
    const start = async () => {
      const { dashboardHandler } = await import('../../dashboard/index');
      const { serveFetch } = await import('../../server/node');
      const closers: Array<() => Promise<void> | void> = [];
      let store;
      if (values.sqlite !== undefined) {
        const { createSqlitePaymentStore } = await import('../../stores/sqlitePaymentStore');
        const sqlite = createSqlitePaymentStore({
          path: values.sqlite,
          ...(values.prefix ? { tablePrefix: values.prefix } : {}),
        });
        closers.push(() => sqlite.close());
        store = sqlite;
      } else {
        const { Redis } = await import('ioredis');
        const { createRedisPaymentStore } = await import('../../stores/redisPaymentStore');
        const redis = new Redis(values.redis ?? '', { lazyConnect: false, maxRetriesPerRequest: 2 });
        closers.push(async () => void (await redis.quit()));
        store = createRedisPaymentStore({ redis, ...(values.prefix ? { keyPrefix: values.prefix } : {}) });
      }
      let auditLog;
      if (values['audit-sqlite'] !== undefined) {
        const { createSqliteAuditLog } = await import('../../risk/sqliteAuditLog');
        const log = createSqliteAuditLog({ path: values['audit-sqlite'] });
        closers.push(() => log.close());
        auditLog = log;
      }
      const handler = dashboardHandler({
        store,
        jwks,
        bearerKeys: [key],
        ...(values.issuer ? { issuer: values.issuer } : {}),
        ...(auditLog ? { auditLog } : {}),
      });
      const server = await serveFetch(handler, { port, hostname: values.host ?? '127.0.0.1' });
      return {
        url: `${server.url}/dashboard/`,
        async stop() {
          await server.close();
          for (const close of closers) await close();
        },
      };
    };
    return runUntilSignal('the dashboard', start, ({ url }) => {
      if (values.json) printJson({ url });
      else print(`Dashboard on ${url} (key: X402_DASHBOARD_KEY)`);
      progress('Receipts are re-verified on every load.');
    });
  },
});
