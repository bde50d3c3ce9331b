import { RECEIPT_JWKS_PATH } from '../../core/receipt/receipt';
import { expectPositionals, parsePort } from '../args';
import { defineCommand } from '../command';
import { CliError, UsageError } from '../errors';
import { print, printJson, progress } from '../output';
import { openDashboardStores, storeKindOf } from '../openDashboardStores';
import { readJwks } from '../readJwks';
import { runUntilSignal } from '../waitForShutdown';

const help = `Usage: x402-rails dashboard --store <url|file> --jwks <url|file> [options]

Serves the receipts dashboard over a paywall's payment store: every settled receipt re-verified against the
issuer's JWKS (filters by rail, route, payer, time), revenue per rail and route per day, pending settlements,
metering sessions, the audit log's chain (with --audit), and CSV / JSON-lines exports. The page asks for the
key in X402_DASHBOARD_KEY (at least 16 characters); nothing is readable without it.

Options:
  --store <url|file>     the payment store of the paywall: postgres://… (Postgres stores, needs pg),
                         redis://… (Redis stores, needs ioredis), or a SQLite file
  --sqlite <file>        the same as --store <file>
  --redis <url>          the same as --store <url>
  --prefix <p>           table prefix (SQLite, Postgres; default x402_) or key prefix (Redis; default x402:)
  --jwks <url|file>      the issuer's JWKS: a file, a URL, or the issuer's origin (then ${RECEIPT_JWKS_PATH})
  --issuer <origin>      flag receipts that name another issuer
  --audit <url|file>     the risk controls' audit log whose hash chain to check (postgres://, redis:// or SQLite file)
  --audit-sqlite <file>  the same as --audit <file>
  --port <n>             port (default 4022; 0 picks a free one)
  --host <addr>          interface (default 127.0.0.1)
  --json                 print {"url": …} once listening
  -h, --help             show this help`;

/** `dashboard`: serve the receipts dashboard over a Postgres, Redis or SQLite payment store. */
export const dashboard = defineCommand({
  name: 'dashboard',
  summary: 'serve the receipts dashboard over a payment store (bearer key)',
  help,
  options: {
    store: { type: 'string' },
    sqlite: { type: 'string' },
    redis: { type: 'string' },
    prefix: { type: 'string' },
    jwks: { type: 'string' },
    issuer: { type: 'string' },
    audit: { type: 'string' },
    'audit-sqlite': { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
  },
  async run({ values, positionals }) {
    expectPositionals('dashboard', positionals, []);
    const stores = [values.store, values.sqlite, values.redis].filter((v): v is string => v !== undefined);
    const [storeLocation] = stores;
    if (stores.length !== 1 || storeLocation === undefined)
      throw new UsageError(
        'Give the payment store once: --store <postgres://…|redis://…|file> (or --sqlite <file>, --redis <url>).',
        'dashboard',
      );
    if (values.audit !== undefined && values['audit-sqlite'] !== undefined)
      throw new UsageError('Give the audit log once: --audit <url|file>.', 'dashboard');
    const auditLocation = values.audit ?? values['audit-sqlite'];
    // Refuses an unknown scheme before anything starts.
    storeKindOf(storeLocation);
    if (auditLocation !== undefined) storeKindOf(auditLocation);
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
      const opened = await openDashboardStores({
        store: storeLocation,
        ...(auditLocation !== undefined ? { audit: auditLocation } : {}),
        ...(values.prefix ? { prefix: values.prefix } : {}),
      });
      const { store, auditLog } = opened;
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
          await opened.close();
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
