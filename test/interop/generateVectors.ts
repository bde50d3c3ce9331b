/**
 * Generates fixtures/vectors/official.json and fixtures/vectors/ours.json: x402 v2 wire objects
 * (PaymentRequired, PaymentPayload, SettleResponse) as the official SDK produces them and as we produce
 * them, each as the header value sent on the wire plus its decoded JSON, taken from real paid requests on
 * the EVM (anvil) and Solana (litesvm) devnets. test/interop/vectors.test.ts decodes each side with the
 * other side's decoders and schemas.
 *
 * Run: npx tsx test/interop/generateVectors.ts
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { encodePaymentSignatureHeader as officialEncodePaymentSignature } from '@x402/core/http';
import { wrapFetchWithPayment, type x402Client } from '@x402/fetch';
import { payingFetch, type ClientRail, type FetchLike, type Wallet } from '../../src/index';
import { evmEip2612Client, evmEip3009Client } from '../../adapters/evm/index';
import { solanaExactClient } from '../../adapters/solana/index';
import { startEvmDevnet } from '../../fixtures/evm/index';
import { startSolanaDevnet } from '../../fixtures/solana/index';
import { PRICE, evmPaywall, walletFor } from '../support/evmHarness';
import { SOL_PRICE, solanaPaywall, solanaWalletFor } from '../support/solanaHarness';
import { officialEvmClient, officialEvmFacilitator, officialEvmHonoApp, OFFICIAL_PRICE } from './support/officialEvm';
import {
  OFFICIAL_SOL_PRICE,
  SOLANA_DEVNET_REAL_GENESIS_HASH,
  officialSvmClient,
  officialSvmFacilitator,
  officialSvmHonoApp,
} from './support/officialSvm';

/** One wire object: the header value and what it decodes to. */
export type Vector = {
  name: string;
  kind: 'PaymentRequired' | 'PaymentPayload' | 'SettleResponse';
  header: string;
  decoded: unknown;
};
/** A vector file. */
export type VectorFile = {
  producer: string;
  generatedAt: number;
  evm: { network: string; token: string; payer: string; payee: string };
  solana: { network: string; mint: string; payer: string; payee: string; feePayer: string };
  vectors: Vector[];
};

const decode = (header: string): unknown => JSON.parse(Buffer.from(header, 'base64').toString('utf8'));
const vector = (name: string, kind: Vector['kind'], header: string | null): Vector => {
  if (!header) throw new Error(`${name}: no ${kind} header`);
  return { name, kind, header, decoded: decode(header) };
};

/** Fetch that records every PAYMENT-SIGNATURE it sends. */
function recording(inner: FetchLike, sent: string[]): FetchLike {
  return async (input, init) => {
    const request = new Request(input, init);
    const signature = request.headers.get('PAYMENT-SIGNATURE');
    if (signature) sent.push(signature);
    return inner(request);
  };
}

async function officialPayload(client: x402Client, paymentRequiredHeader: string | null): Promise<string> {
  if (!paymentRequiredHeader) throw new Error('no PAYMENT-REQUIRED');
  const required = decode(paymentRequiredHeader) as Parameters<x402Client['createPaymentPayload']>[0];
  return officialEncodePaymentSignature(await client.createPaymentPayload(required));
}

async function main(): Promise<void> {
  const generatedAt = Date.now();
  const evm = await startEvmDevnet();
  const sol = await startSolanaDevnet({ genesisHash: SOLANA_DEVNET_REAL_GENESIS_HASH, slotIntervalMs: 0 });
  try {
    const common = {
      generatedAt,
      evm: {
        network: evm.network,
        token: evm.token.address,
        payer: evm.accounts.payer.address,
        payee: evm.accounts.payee.address,
      },
      solana: {
        network: sol.network,
        mint: sol.mint.toBase58(),
        payer: sol.keypairs.payer.publicKey.toBase58(),
        payee: sol.keypairs.payee.publicKey.toBase58(),
        feePayer: sol.keypairs.feePayer.publicKey.toBase58(),
      },
    };

    // Official SDK: @x402/hono + official facilitators, paid by the official client.
    const officialVectors: Vector[] = [];
    const evmApp = officialEvmHonoApp(evm, officialEvmFacilitator(evm).client);
    const evmAppFetch: FetchLike = async (input, init) => evmApp.request(new Request(input, init));
    const evmClient = officialEvmClient(evm, 'payer', { maxAmountPerPayment: OFFICIAL_PRICE.toString() });
    const evm402 = await evmAppFetch('http://official.test/weather');
    officialVectors.push(vector('evm-exact-eip3009', 'PaymentRequired', evm402.headers.get('PAYMENT-REQUIRED')));
    officialVectors.push(
      vector(
        'evm-exact-eip3009',
        'PaymentPayload',
        await officialPayload(evmClient, evm402.headers.get('PAYMENT-REQUIRED')),
      ),
    );
    const evmPaid = await wrapFetchWithPayment(evmAppFetch, evmClient)('http://official.test/weather');
    officialVectors.push(vector('evm-exact-eip3009', 'SettleResponse', evmPaid.headers.get('PAYMENT-RESPONSE')));

    const svmApp = officialSvmHonoApp(sol, await officialSvmFacilitator(sol));
    const svmAppFetch: FetchLike = async (input, init) => svmApp.request(new Request(input, init));
    const svmClient = await officialSvmClient(sol, sol.keypairs.payer, OFFICIAL_SOL_PRICE.toString());
    const svm402 = await svmAppFetch('http://official.test/sol-weather');
    officialVectors.push(vector('svm-exact', 'PaymentRequired', svm402.headers.get('PAYMENT-REQUIRED')));
    officialVectors.push(
      vector('svm-exact', 'PaymentPayload', await officialPayload(svmClient, svm402.headers.get('PAYMENT-REQUIRED'))),
    );
    const svmPaid = await wrapFetchWithPayment(svmAppFetch, svmClient)('http://official.test/sol-weather');
    officialVectors.push(vector('svm-exact', 'SettleResponse', svmPaid.headers.get('PAYMENT-RESPONSE')));

    // Ours: our paywall, paid by payingFetch.
    const ourVectors: Vector[] = [];
    const { fetch: evmPaywallFetch } = await evmPaywall(evm);
    const { fetch: solPaywallFetch } = await solanaPaywall(sol);
    const ours = async (name: string, base: FetchLike, url: string, rails: ClientRail[], wallet: Wallet) => {
      const sent: string[] = [];
      ourVectors.push(vector(name, 'PaymentRequired', (await base(url)).headers.get('PAYMENT-REQUIRED')));
      const paid = await payingFetch(recording(base, sent), { adapters: rails, wallets: [wallet] })(url);
      if (paid.status !== 200) throw new Error(`${name}: paid request answered ${paid.status}`);
      ourVectors.push(vector(name, 'PaymentPayload', sent[0] ?? null));
      ourVectors.push(vector(name, 'SettleResponse', paid.headers.get('PAYMENT-RESPONSE')));
    };
    await ours(
      'evm-exact-eip3009',
      evmPaywallFetch,
      'http://shop.test/paid/3009',
      [evmEip3009Client()],
      walletFor(evm, 'payer'),
    );
    await ours(
      'evm-exact-eip2612 (x402-rails extension)',
      evmPaywallFetch,
      'http://shop.test/paid/2612',
      [evmEip2612Client()],
      walletFor(evm, 'payer'),
    );
    await ours(
      'svm-exact',
      solPaywallFetch,
      'http://shop.test/paid/sol',
      [solanaExactClient()],
      solanaWalletFor(sol, 'payer'),
    );
    // A refusal: the 402 after a payment that failed verification carries `error` (and our reason under extensions).
    const poor = await payingFetch(evmPaywallFetch, {
      adapters: [evmEip3009Client()],
      wallets: [walletFor(evm, 'poor')],
    })('http://shop.test/paid/3009');
    ourVectors.push(
      vector('evm-exact-eip3009 refused (insufficient_funds)', 'PaymentRequired', poor.headers.get('PAYMENT-REQUIRED')),
    );

    const dir = fileURLToPath(new URL('../../fixtures/vectors/', import.meta.url));
    const write = (file: string, body: VectorFile) => writeFile(`${dir}${file}`, `${JSON.stringify(body, null, 2)}\n`);
    await write('official.json', {
      producer: '@x402/core, @x402/evm, @x402/svm, @x402/fetch, @x402/hono 2.27.0',
      ...common,
      vectors: officialVectors,
    });
    await write('ours.json', { producer: 'x402-rails', ...common, vectors: ourVectors });
    console.log(
      `wrote ${officialVectors.length} official and ${ourVectors.length} x402-rails vectors (prices: ${PRICE}, ${SOL_PRICE}, ${OFFICIAL_PRICE}, ${OFFICIAL_SOL_PRICE})`,
    );
  } finally {
    await sol.stop();
    await evm.stop();
  }
}

await main();
