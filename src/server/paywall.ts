import { randomBytes } from '../core/cryptoPrimitives';
import { z } from 'zod';
import { ConfigurationError, X402RailsError } from '../core/errors';
import { hasAuthorizationScheme, type RequestBinding, type ServerRail } from '../core/rail';
import { RECEIPT_JWKS_PATH, type SignedReceipt } from '../core/receipt/receipt';
import type { ReceiptSigner } from '../core/receipt/signer';
import { createMemoryPaymentStore } from '../stores/memoryPaymentStore';
import type { PaymentStore } from '../stores/paymentStore';
import { headerNames } from '../protocol/headers';
import { isMppAuthorization } from '../protocol/mpp/mppCredential';
import { mppHeaderNames } from '../protocol/mpp/mppChallenge';
import { speaksMppServer } from '../core/mppRail';
import { compileRoutes, matchRoute, type CompiledRoute, type RoutesConfig } from './routes';
import { buildChallenge } from './buildChallenge';
import type { PaywallExtension } from './extensions';
import type { PaymentFlowDeps, PaymentSource } from './paymentFlow';
import { processPayment } from './processPayment';
import { errorResponse, jsonResponse } from './responses';
import { readBinding } from './readBinding';
import { reconcilePayments, type ReconcileReport } from './reconcilePayments';
import { refuseOversizedPaymentHeader } from './paymentHeaderLimits';
import { buildManifest } from '../discovery/buildManifest';
import { DISCOVERY_PATHS, type DiscoveryManifest } from '../discovery/manifest';

/** Options of {@link paywall}. */
export type PaywallOptions = {
  /** Server rails, each with its own id. Routes name them in their offers. */
  rails: ServerRail[];
  /** Signs receipts; its JWKS is served at {@link RECEIPT_JWKS_PATH}. */
  signer: ReceiptSigner;
  /** Replay / idempotency / receipt store (default: memory). */
  store?: PaymentStore;
  /** HMAC secret for challenge tokens, ≥ 32 bytes. Share it between instances behind one load balancer. */
  challengeSecret?: Uint8Array;
  /**
   * Receipt issuer, e.g. `https://api.example.com`: who signs the receipts (metering and capability tokens name it
   * too). Required unless `NODE_ENV` is `development` or `test`, where the request's origin stands in: a
   * production server must not sign receipts for whatever Host header a stranger sends.
   */
  issuer?: string;
  /**
   * How often a settled payment serves the identical request again (a client's resend after a lost answer):
   * at most `max` times (default 3) within `windowMs` of its settlement (default 60 s), counted in the store
   * across instances. Past that: 409 with the receipt, no service. `{ max: 0 }` never serves a payment twice.
   */
  replay?: { windowMs?: number; max?: number };
  /** Largest request body hashed for a paid route, in bytes (default 1 MiB). Larger → 413. */
  maxBodyBytes?: number;
  /** How long a claim on a payment lasts while it settles, ms (default 120 s). */
  settleLeaseMs?: number;
  /** Observes the flow (challenge, verified, settled, rejected). Receives no secrets. */
  onEvent?: (event: PaywallEvent) => void;
  /** Features layered on the payment flow (capabilities, metering, risk controls), run in order. */
  extensions?: PaywallExtension[];
  /** Clock, for tests. */
  now?: () => number;
};

/** What {@link PaywallOptions.onEvent} observes. */
export type PaywallEvent =
  | { type: 'challenge'; route: string; challengeId: string; binding: RequestBinding }
  | { type: 'rejected'; route: string; reason: string; status: number }
  | { type: 'settled'; route: string; receipt: SignedReceipt }
  | { type: 'replayed'; route: string; paymentId: string };

/** A request handler in Fetch-API form. */
export type FetchHandler = (request: Request) => Response | Promise<Response>;

/** A paywall: Fetch-API core every binding (Hono, Express, node:http) sits on. */
export type Paywall = {
  /** Runs `handler` behind the paywall when the request hits a paid route; passes others straight through. */
  handle(request: Request, handler: FetchHandler): Promise<Response>;
  /** `handle` bound to `handler`, plus the JWKS at its well-known path. */
  wrap(handler: FetchHandler): FetchHandler;
  /** The receipt-signing JWKS this server publishes. */
  jwks(): ReturnType<ReceiptSigner['jwks']>;
  /** True when a request with this method and URL path hits a paid route (bindings skip the others untouched). */
  covers(method: string, pathname: string): boolean;
  /** The store in use. */
  store: PaymentStore;
  /**
   * The discovery manifest of its routes at `origin` (served by `wrap` at `/.well-known/x402`); quoted once and kept
   * five minutes. `type: 'mcp'` describes them as MCP tools.
   */
  manifest(origin: string, type?: 'http' | 'mcp'): Promise<DiscoveryManifest>;
  /**
   * Settles the payments left pending in the store by a crash or a slow confirmation (see
   * {@link reconcilePayments}). Call it at startup, before serving.
   */
  reconcile(): Promise<ReconcileReport>;
};

/**
 * Creates a paywall over `routes`. Unpaid requests get a 402 with an x402 v2 challenge listing every offer;
 * paid requests are decoded, matched against the offer this server made, verified, handled, settled only
 * when the handler answered below 400, and answered with a signed receipt in PAYMENT-RESPONSE.
 *
 * @example
 * const pw = paywall({ 'GET /report': { accepts: [{ rail: 'evm-eip3009', amount: 10_000n }] } }, { rails: [evm], signer, issuer: 'https://api.example.com' });
 * serve({ fetch: pw.wrap(() => new Response('the report')) });
 */
export function paywall(routes: RoutesConfig, options: PaywallOptions): Paywall {
  const compiled = compileRoutes(routes);
  const railsById = new Map<string, ServerRail>();
  for (const rail of options.rails) {
    if (railsById.has(rail.id)) throw new ConfigurationError(`Two rails share the id "${rail.id}".`);
    railsById.set(rail.id, rail);
  }
  for (const route of compiled) {
    for (const offer of route.config.accepts) {
      if (!railsById.has(offer.rail)) {
        throw new ConfigurationError(
          `Route "${route.key}" offers rail "${offer.rail}", which is not among the rails given to paywall().`,
        );
      }
    }
  }
  const secret = options.challengeSecret ?? randomBytes(32);
  if (secret.length < 32) throw new ConfigurationError('challengeSecret must be at least 32 bytes.');
  const store = options.store ?? createMemoryPaymentStore();
  const now = options.now ?? Date.now;
  const issuer = checkIssuer(options.issuer);
  const replay = { windowMs: options.replay?.windowMs ?? 60_000, max: options.replay?.max ?? 3 };
  if (
    !(
      Number.isSafeInteger(replay.windowMs) &&
      replay.windowMs >= 0 &&
      Number.isSafeInteger(replay.max) &&
      replay.max >= 0
    )
  ) {
    throw new ConfigurationError('replay.windowMs and replay.max must be non-negative integers.');
  }
  const deps: PaymentFlowDeps = {
    railsById,
    secret,
    store,
    signer: options.signer,
    issuer,
    settleLeaseMs: options.settleLeaseMs ?? 120_000,
    replay,
    emit: fanOut(options.onEvent, options.extensions ?? []),
    now,
    extensions: options.extensions ?? [],
    settling: new Set(),
  };
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const manifests = new Map<string, { at: number; manifest: Promise<DiscoveryManifest> }>();
  const manifest = (origin: string, type: 'http' | 'mcp' = 'http'): Promise<DiscoveryManifest> => {
    const key = `${type} ${origin}`;
    const hit = manifests.get(key);
    if (hit && now() - hit.at < 300_000) return hit.manifest;
    const built = buildManifest({ routes: compiled, railsById, now }, origin, type);
    if (manifests.size > 64) manifests.clear();
    manifests.set(key, { at: now(), manifest: built });
    built.catch(() => manifests.delete(key));
    return built;
  };

  async function handle(request: Request, handler: FetchHandler): Promise<Response> {
    const url = new URL(request.url);
    const route = matchRoute(compiled, request.method, url.pathname);
    if (!route) return handler(request);
    try {
      // Headers first: an oversized payment header is refused before the body is read or hashed.
      const source = paymentSourceOf(request, route, railsById);
      if (source) refuseOversizedPaymentHeader(source);
      const { binding, request: replayable } = await readBinding(request, maxBodyBytes);
      const challenge = async (rejection?: { reason: string; message: string }) => {
        const built = await buildChallenge(
          route,
          binding,
          deps,
          rejection,
          request.headers.get(mppHeaderNames.acceptPayment),
        );
        deps.emit({ type: 'challenge', route: route.key, challengeId: built.challengeId, binding });
        return built.response;
      };
      for (const extension of deps.extensions) {
        const answered = await extension.beforePayment?.({
          request: replayable,
          route,
          binding,
          now: now(),
          serve: async () => handler(replayable),
          challenge,
        });
        if (answered) return answered;
      }
      if (source === undefined) return await challenge();
      return await processPayment({ source, route, binding, request: replayable, handler }, deps);
    } catch (error) {
      if (error instanceof X402RailsError) {
        deps.emit({ type: 'rejected', route: route.key, reason: error.code, status: error.status });
        return errorResponse(error);
      }
      throw error;
    }
  }

  return {
    handle,
    wrap(handler) {
      return (request) => {
        if (request.method === 'GET' && new URL(request.url).pathname === RECEIPT_JWKS_PATH) {
          return jsonResponse(200, options.signer.jwks(), { 'Cache-Control': 'public, max-age=300' });
        }
        if (
          request.method === 'GET' &&
          (DISCOVERY_PATHS as readonly string[]).includes(new URL(request.url).pathname)
        ) {
          return manifest(issuer ?? new URL(request.url).origin).then((m) =>
            jsonResponse(200, m, { 'Cache-Control': 'public, max-age=300' }),
          );
        }
        return handle(request, handler);
      };
    },
    jwks: () => options.signer.jwks(),
    covers: (method, pathname) => matchRoute(compiled, method, pathname) !== undefined,
    store,
    manifest,
    reconcile: () => reconcilePayments(deps),
  };
}

const IssuerSchema = z
  .string()
  .max(2048)
  .refine((value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol), 'an http(s) URL');

/**
 * The configured receipt issuer, checked; undefined (the request's origin stands in) only when `NODE_ENV` is
 * `development` or `test`.
 */
function checkIssuer(issuer: string | undefined): string | undefined {
  if (issuer === undefined) {
    const env = typeof process === 'undefined' ? undefined : process.env.NODE_ENV;
    if (env === 'development' || env === 'test') return undefined;
    throw new ConfigurationError(
      "paywall() needs `issuer` (e.g. 'https://api.example.com'): receipts name it, and without it they would name whatever Host a request sends. Only NODE_ENV=development or test may leave it out.",
    );
  }
  const parsed = IssuerSchema.safeParse(issuer);
  if (!parsed.success)
    throw new ConfigurationError(
      `paywall() issuer must be an http(s) URL such as 'https://api.example.com', got "${issuer.slice(0, 80)}".`,
    );
  return parsed.data;
}

/** One event sink for the user's observer and every extension's; an observer that throws is ignored. */
function fanOut(
  onEvent: ((event: PaywallEvent) => void) | undefined,
  extensions: readonly PaywallExtension[],
): (event: PaywallEvent) => void {
  const sinks = [onEvent, ...extensions.map((e) => e.observe?.bind(e))].filter(
    (f): f is (event: PaywallEvent) => void => f !== undefined,
  );
  return (event) => {
    for (const sink of sinks) {
      try {
        sink(event);
      } catch {
        // observing must never change the answer
      }
    }
  };
}

/** The payment a request presents: PAYMENT-SIGNATURE first, else `Authorization: Payment` (MPP) when a route's rail speaks it, else an Authorization scheme a route's rail reads (L402). */
function paymentSourceOf(
  request: Request,
  route: CompiledRoute,
  railsById: Map<string, ServerRail>,
): PaymentSource | undefined {
  const header = request.headers.get(headerNames.paymentSignature);
  if (header !== null) return { kind: 'x402', header };
  const authorization = request.headers.get(headerNames.authorization);
  if (authorization === null) return undefined;
  if (
    isMppAuthorization(authorization) &&
    route.config.accepts.some((o) => {
      const rail = railsById.get(o.rail);
      return rail !== undefined && speaksMppServer(rail);
    })
  ) {
    return { kind: 'mpp', header: authorization };
  }
  const scheme = authorization.trim().split(/\s+/, 1)[0]?.toLowerCase() ?? '';
  for (const offer of route.config.accepts) {
    const rail = railsById.get(offer.rail);
    if (rail && hasAuthorizationScheme(rail) && rail.authorizationSchemes.some((s) => s.toLowerCase() === scheme)) {
      return { kind: 'authorization', header: authorization, rail };
    }
  }
  return undefined;
}
