import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { ConfigurationError, MalformedInputError, X402RailsError, errorCodes } from '../core/errors';
import { readsPayloadExtensions, type ServerRail } from '../core/rail';
import { createReceiptSigner, type ReceiptSigner } from '../core/receipt/signer';
import { parseWire } from '../protocol/headers';
import { parseBoundedJson } from '../protocol/jsonCodec';
import { errorResponse } from '../server/responses';
import { createMemoryPaymentStore } from '../stores/memoryPaymentStore';
import type { PaymentStore } from '../stores/paymentStore';
import { bearerCheck } from './bearerAuth';
import { keyedLock } from './keyedLock';
import { settlePayment, type SettleDeps } from './settlePayment';
import { supportedKinds } from './supportedKinds';
import { createResourceCatalog, type ResourceCatalog } from './resourceCatalog';
import { verifyPayment } from './verifyPayment';
import {
  FacilitatorRequestSchema,
  type FacilitatorRequest,
  type SettleResponse,
  type SupportedKind,
  type SupportedResponse,
} from './wire';

/** Options of {@link createFacilitator}. */
export type FacilitatorOptions = {
  /** Server rails that verify and settle; a request goes to the first rail whose `supports` takes its requirements. */
  rails: ServerRail[];
  /** Bearer keys (≥ 16 characters) accepted in `Authorization: Bearer <key>`. Omit for an open facilitator. */
  apiKeys?: string[];
  /** Idempotency store of settlements (default: memory). Use a persistent one so a restart never pays twice. */
  store?: PaymentStore;
  /** `/supported` kinds per rail id; rails not listed are described by a probe quote. */
  kinds?: Record<string, SupportedKind[]>;
  /** `/supported` signers by CAIP family, e.g. `{ 'eip155:*': [gasAccount] }` (default: none). */
  signers?: Record<string, string[]>;
  /** Path prefix the endpoints live under, e.g. `/facilitator` (default: none). */
  basePath?: string;
  /** Largest request body, bytes (default 64 KiB). Larger → 413. */
  maxBodyBytes?: number;
  /** How long one settlement may hold its claim, ms (default 120 s). */
  settleLeaseMs?: number;
  /**
   * How long a repeated `/settle` of a pending settlement waits for its transaction to land before answering
   * `settlement_pending` again, ms (default 5 s; the official resource server retries once, at once).
   */
  reconcileWaitMs?: number;
  /** Signs the receipts the store keeps (default: an ephemeral key). */
  signer?: ReceiptSigner;
  /** Issuer written into stored receipts (default `x402-rails-facilitator`). */
  issuer?: string;
  /** Observes requests; receives no keys, payloads or signatures. */
  onEvent?: (event: FacilitatorEvent) => void;
  /** Where settled resources are listed for `GET /discovery/resources` (default: in memory). */
  catalog?: ResourceCatalog;
  /** Clock, for tests. */
  now?: () => number;
};

/** What {@link FacilitatorOptions.onEvent} observes. */
export type FacilitatorEvent =
  | { type: 'unauthorized'; path: string }
  | { type: 'verified'; network: string; isValid: boolean; reason?: string }
  | { type: 'settled'; network: string; success: boolean; reason?: string; transaction: string }
  | { type: 'error'; path: string; code: string; status: number }
  /** A settlement's resource could not be recorded in the discovery catalog (the settlement itself stands). */
  | { type: 'catalog_error'; message: string };

/** A facilitator as a Fetch-API handler. */
export type Facilitator = {
  /** Serves `POST /verify`, `POST /settle`, `GET /supported` and `GET /discovery/resources` (under `basePath`). */
  fetch(request: Request): Promise<Response>;
  /** The store in use. */
  store: PaymentStore;
};

/**
 * An x402 v2 facilitator over our rails, wire-compatible with `@x402/core`'s `HTTPFacilitatorClient`:
 * `POST /verify` → VerifyResponse, `POST /settle` → SettleResponse, `GET /supported` → SupportedResponse.
 * Bad payments answer 200 with `isValid: false` / `success: false` and a reason (as the official
 * facilitator does), including `settlement_pending` with the transaction for a broadcast not yet confirmed;
 * malformed bodies 400, oversized 413, missing or wrong bearer key 401, rail or RPC outages 502/503.
 * Settlement is idempotent per payment: a repeated `/settle` answers the same and never pays twice.
 *
 * @example
 * const facilitator = createFacilitator({ rails: [evmEip3009Server({ … })], apiKeys: [process.env.FACILITATOR_KEY!] });
 * serve({ fetch: facilitator.fetch, port: 4021 });
 * // resource server side: new HTTPFacilitatorClient({ url, createAuthHeaders: async () => ({ verify: auth, settle: auth, supported: auth }) })
 */
export function createFacilitator(options: FacilitatorOptions): Facilitator {
  const ids = new Set<string>();
  for (const rail of options.rails) {
    if (ids.has(rail.id)) throw new ConfigurationError(`Two facilitator rails share the id "${rail.id}".`);
    ids.add(rail.id);
  }
  const now = options.now ?? Date.now;
  const store = options.store ?? createMemoryPaymentStore();
  const authorized = options.apiKeys && options.apiKeys.length > 0 ? bearerCheck(options.apiKeys) : undefined;
  const emit = options.onEvent ?? (() => undefined);
  const kinds = supportedKinds({ rails: options.rails, kinds: options.kinds, now });
  // The PaymentPayload extensions the rails read (e.g. `eip2612GasSponsoring`), as x402's `/supported` lists them.
  const supportedExtensions = [
    ...new Set(options.rails.flatMap((rail) => (readsPayloadExtensions(rail) ? rail.payloadExtensionKeys : []))),
  ];
  let signer: Promise<ReceiptSigner> | undefined = options.signer ? Promise.resolve(options.signer) : undefined;
  const deps: SettleDeps = {
    rails: options.rails,
    store,
    signer: () => (signer ??= createReceiptSigner()),
    issuer: options.issuer ?? 'x402-rails-facilitator',
    leaseMs: options.settleLeaseMs ?? 120_000,
    reconcileWaitMs: options.reconcileWaitMs ?? 5_000,
    now,
    lock: keyedLock(),
  };
  const maxSize = options.maxBodyBytes ?? 64 * 1024;

  const app = new Hono().basePath(options.basePath ?? '/');
  const catalog = options.catalog ?? createResourceCatalog();
  app.use('*', async (c, next) => {
    // Discovery is public: it lists what anyone may buy.
    const discovery = c.req.method === 'GET' && c.req.path.endsWith('/discovery/resources');
    if (authorized && !discovery && !authorized(c.req.header('Authorization'))) {
      emit({ type: 'unauthorized', path: c.req.path });
      return c.json(
        {
          error: 'Unauthorized',
          code: errorCodes.FACILITATOR_AUTH_REQUIRED,
          message: 'Send the facilitator API key as "Authorization: Bearer <key>".',
        },
        401,
        { 'WWW-Authenticate': 'Bearer realm="x402-facilitator"', 'Cache-Control': 'no-store' },
      );
    }
    await next();
  });
  const limit = bodyLimit({
    maxSize,
    onError: () => {
      const response = errorResponse(
        new X402RailsError(errorCodes.BODY_TOO_LARGE, `The request body exceeds ${maxSize} bytes.`, {
          status: 413,
          details: { limit: maxSize },
        }),
      );
      // The rest of the body is not read: close the connection so the client does not reuse it mid-upload.
      response.headers.set('Connection', 'close');
      return response;
    },
  });

  app.get('/supported', async (c) => {
    const body: SupportedResponse = {
      kinds: await kinds(),
      extensions: supportedExtensions,
      signers: options.signers ?? {},
    };
    return c.json(body);
  });
  app.post('/verify', limit, async (c) => {
    const body = await readRequest(c);
    const answer = await verifyPayment(options.rails, body, now());
    emit({
      type: 'verified',
      network: body.paymentRequirements.network,
      isValid: answer.isValid,
      ...(answer.invalidReason ? { reason: answer.invalidReason } : {}),
    });
    return c.json(answer);
  });
  app.post('/settle', limit, async (c) => {
    const body = await readRequest(c);
    const answer: SettleResponse = await settlePayment(deps, body);
    if (answer.success) {
      // The settlement stands whatever the catalog does: a catalog failure only leaves the resource unlisted.
      try {
        await catalog.record(body, now());
      } catch (error) {
        emit({ type: 'catalog_error', message: error instanceof Error ? error.message : String(error) });
      }
    }
    emit({
      type: 'settled',
      network: answer.network,
      success: answer.success,
      transaction: answer.transaction,
      ...(answer.errorReason ? { reason: answer.errorReason } : {}),
    });
    return c.json(answer);
  });
  app.get('/discovery/resources', async (c) => {
    const number = (name: string) => {
      const value = Number(c.req.query(name));
      return Number.isSafeInteger(value) ? value : undefined;
    };
    const type = c.req.query('type');
    const limit = number('limit');
    const offset = number('offset');
    return c.json(
      await catalog.list({
        ...(type ? { type } : {}),
        ...(limit !== undefined ? { limit } : {}),
        ...(offset !== undefined ? { offset } : {}),
      }),
    );
  });
  app.notFound((c) =>
    c.json(
      {
        error: 'NotFound',
        code: 'FACILITATOR__ROUTE__NOT_FOUND',
        message: 'Use POST /verify, POST /settle or GET /supported.',
      },
      404,
    ),
  );
  app.onError((error, c) => {
    if (error instanceof X402RailsError) {
      emit({ type: 'error', path: c.req.path, code: error.code, status: error.status });
      return errorResponse(error);
    }
    emit({ type: 'error', path: c.req.path, code: 'INTERNAL', status: 500 });
    return c.json(
      {
        error: 'InternalError',
        code: 'FACILITATOR__INTERNAL',
        message: 'The facilitator failed unexpectedly; nothing is known to have been paid. Try again.',
      },
      500,
    );
  });

  return { fetch: async (request) => app.fetch(request), store };
}

/** Reads and parses a `/verify` or `/settle` body: bounded JSON, then the x402 v2 schema (400 on failure). */
async function readRequest(c: Context): Promise<FacilitatorRequest> {
  const text = await c.req.text();
  const json = parseBoundedJson(text, { what: 'The request body' });
  if (typeof json === 'object' && json !== null && 'x402Version' in json && json.x402Version !== 2) {
    throw new MalformedInputError(
      errorCodes.UNSUPPORTED_VERSION,
      `This facilitator speaks x402 version 2; the request is version ${String(json.x402Version)}.`,
    );
  }
  return parseWire(FacilitatorRequestSchema, json, 'The request body');
}
