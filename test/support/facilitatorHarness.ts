import { Hono } from 'hono';
import { HTTPFacilitatorClient } from '@x402/core/server';
import { ExactEvmScheme } from '@x402/evm/exact/server';
import { paymentMiddleware, x402ResourceServer } from '@x402/hono';
import { createPublicClient, http, type Address } from 'viem';
import type { FetchLike, PaymentPayload, PaymentRequirements, ServerRail } from '../../src/index';
import { evmEip2612Server, evmEip3009Client, evmEip3009Server } from '../../adapters/evm/index';
import type { EvmDevnet } from '../../fixtures/evm/index';
import { startFacilitator, type StartFacilitatorOptions, type StartedFacilitator } from '../../src/facilitator/index';
import { PRICE, walletFor } from './evmHarness';

/** The facilitator API key of the tests. */
export const FACILITATOR_KEY = 'test-facilitator-key-0123456789abcdef';

/** `Authorization` header carrying a bearer key. */
export const bearer = (key: string = FACILITATOR_KEY): Record<string, string> => ({ Authorization: `Bearer ${key}` });

/** Both EVM server rails over the devnet token, settling from the `facilitator` gas account. */
export function facilitatorRails(
  devnet: EvmDevnet,
  options: { confirmTimeoutMs?: number; rpcUrl?: string } = {},
): ServerRail[] {
  const publicClient = options.rpcUrl
    ? createPublicClient({ chain: devnet.chain, transport: http(options.rpcUrl, { retryCount: 0 }) })
    : devnet.publicClient;
  const settler = {
    publicClient,
    walletClient: devnet.walletClientFor('facilitator'),
    confirmTimeoutMs: options.confirmTimeoutMs ?? 10_000,
    pollingIntervalMs: 5,
  };
  const common = { ...settler, chainId: devnet.chainId, token: devnet.token, payTo: devnet.accounts.payee.address };
  return [evmEip3009Server(common), evmEip2612Server(common)];
}

/** Our facilitator over the devnet's EVM rails on an ephemeral port, keyed with {@link FACILITATOR_KEY}. */
export function startEvmFacilitator(
  devnet: EvmDevnet,
  options: Partial<StartFacilitatorOptions> & { confirmTimeoutMs?: number; rpcUrl?: string } = {},
): Promise<StartedFacilitator> {
  const { confirmTimeoutMs, rpcUrl, ...rest } = options;
  return startFacilitator({
    rails: facilitatorRails(devnet, {
      ...(confirmTimeoutMs !== undefined ? { confirmTimeoutMs } : {}),
      ...(rpcUrl !== undefined ? { rpcUrl } : {}),
    }),
    apiKeys: [FACILITATOR_KEY],
    signers: { 'eip155:*': [devnet.accounts.facilitator.address] },
    ...rest,
  });
}

/** The EIP-3009 requirements a resource server would send: the devnet token, the payee, {@link PRICE}. */
export function requirementsFor(devnet: EvmDevnet, overrides: Partial<PaymentRequirements> = {}): PaymentRequirements {
  return {
    scheme: 'exact',
    network: devnet.network,
    amount: PRICE.toString(),
    asset: devnet.token.address,
    payTo: devnet.accounts.payee.address,
    maxTimeoutSeconds: 300,
    extra: { name: devnet.token.name, version: devnet.token.version },
    ...overrides,
  };
}

/** A PaymentPayload for `requirements`, signed by a devnet account with EIP-3009 (signed against `signed` when given). */
export async function signedPayment(
  devnet: EvmDevnet,
  requirements: PaymentRequirements,
  options: { wallet?: 'payer' | 'payer2' | 'poor'; signed?: PaymentRequirements } = {},
): Promise<PaymentPayload> {
  const payload = await evmEip3009Client().createPayment(
    options.signed ?? requirements,
    walletFor(devnet, options.wallet ?? 'payer'),
    {
      resource: { url: 'http://shop.test/paid' },
      x402Version: 2,
      now: Date.now(),
    },
  );
  return { x402Version: 2, resource: { url: 'http://shop.test/paid' }, accepted: requirements, payload };
}

/** The JSON body of `/verify` and `/settle`. */
export const facilitatorBody = (
  payment: PaymentPayload,
  requirements: PaymentRequirements = payment.accepted,
): string => JSON.stringify({ x402Version: 2, paymentPayload: payment, paymentRequirements: requirements });

/**
 * An official x402 resource server: Hono + `@x402/hono` paymentMiddleware + the official EVM exact server
 * scheme, whose facilitator (via the official HTTPFacilitatorClient) is ours. `GET /weather` costs {@link PRICE}.
 */
export function officialHonoServer(
  devnet: EvmDevnet,
  facilitatorUrl: string,
  key: string = FACILITATOR_KEY,
): FetchLike {
  const auth = bearer(key);
  const client = new HTTPFacilitatorClient({
    url: facilitatorUrl,
    createAuthHeaders: async () => ({ verify: auth, settle: auth, supported: auth }),
  });
  const server = new x402ResourceServer(client).register(devnet.network, new ExactEvmScheme());
  const app = new Hono();
  app.use(
    paymentMiddleware(
      {
        'GET /weather': {
          accepts: {
            scheme: 'exact',
            network: devnet.network,
            payTo: devnet.accounts.payee.address as Address,
            price: {
              amount: PRICE.toString(),
              asset: devnet.token.address,
              extra: { name: devnet.token.name, version: devnet.token.version },
            },
          },
          description: 'Weather, paid through our facilitator',
        },
      },
      server,
    ),
  );
  app.get('/weather', (c) => c.json({ weather: 'sunny' }));
  return async (input, init) => app.fetch(new Request(input, init));
}
