import { Hono } from 'hono';
import { privateKeyToAccount } from 'viem/accounts';
import type { Hex } from 'viem';
import { createReceiptSigner, payingFetch, receiptOf, type PaymentRequirements } from '../src/index';
import { honoPaywall } from '../src/server/hono';
import { evmEip3009Client, evmEip3009Server, evmWallet, verifyEip3009Signature, Eip3009PayloadSchema } from '../adapters/evm/index';
import { startEvmDevnet } from '../fixtures/evm/index';
import { latencies, percentile, rate, throughput, type BenchRow } from './measure';

/** EVM benchmarks: 402 challenge throughput vs a bare Hono route, offline EIP-3009 verify/s, paid requests on anvil. */
export async function benchEvm(): Promise<BenchRow[]> {
  const devnet = await startEvmDevnet();
  try {
    const settler = { publicClient: devnet.publicClient, walletClient: devnet.walletClientFor('facilitator'), pollingIntervalMs: 5, chainId: devnet.chainId, token: devnet.token, payTo: devnet.accounts.payee.address };
    const app = new Hono();
    app.use(honoPaywall({ 'GET /paid': { accepts: [{ rail: 'evm-eip3009', amount: 10_000n }] } }, { rails: [evmEip3009Server(settler)], signer: await createReceiptSigner() }));
    app.get('/paid', (c) => c.json({ ok: true }));
    app.get('/free', (c) => c.json({ ok: true }));
    const rows: BenchRow[] = [];

    const bare = await throughput(async () => app.fetch(new Request('http://bench.test/free')));
    const challenge = await throughput(async () => app.fetch(new Request('http://bench.test/paid')));
    rows.push({ rail: 'evm', metric: 'unpaid 402 challenges (in-process)', value: rate(challenge), baseline: `${rate(bare)} bare Hono route`, ratio: (challenge / bare).toFixed(2) });

    // Offline EIP-3009 verification: signature recovery + checks, no RPC.
    const wallet = evmWallet(privateKeyToAccount(devnet.accounts.payer.privateKey as Hex));
    const res = await app.fetch(new Request('http://bench.test/paid'));
    const offer = JSON.parse(Buffer.from(res.headers.get('PAYMENT-REQUIRED') ?? '', 'base64').toString()).accepts[0] as PaymentRequirements;
    const client = evmEip3009Client();
    const payloads = await Promise.all(Array.from({ length: 64 }, () => client.createPayment(offer, wallet, { resource: { url: '' }, x402Version: 2, now: Date.now() })));
    let i = 0;
    const verifyRate = await throughput(async () => {
      const parsed = Eip3009PayloadSchema.parse(payloads[i++ % payloads.length]);
      const result = await verifyEip3009Signature(parsed, offer, { network: devnet.network, token: devnet.token, now: Date.now() });
      if (!result.isValid) throw new Error(result.reason);
    });
    const signRate = await throughput(() => client.createPayment(offer, wallet, { resource: { url: '' }, x402Version: 2, now: Date.now() }));
    rows.push({ rail: 'evm', metric: 'EIP-3009 verifications (no RPC)', value: rate(verifyRate), baseline: `${rate(signRate)} client signatures`, ratio: (verifyRate / signRate).toFixed(2) });

    // Paid requests end to end on anvil (challenge, sign, verify with RPC reads, settle, mine, receipt).
    const pay = payingFetch(async (input, init) => app.fetch(new Request(input, init)), { adapters: [client], wallets: [wallet], verifyReceipts: false });
    const paid = async () => {
      const r = await pay('http://bench.test/paid');
      if (r.status !== 200 || !receiptOf(r)?.settleResponse?.success) throw new Error(`paid request failed: ${r.status}`);
    };
    const sample = await latencies(paid, 100);
    const paidRate = await throughput(paid, { ms: 2000, concurrency: 8, warmup: 0 });
    rows.push({ rail: 'evm', metric: 'paid requests (anvil, 8 in flight)', value: rate(paidRate), baseline: `${rate(challenge)} unpaid 402s`, ratio: (paidRate / challenge).toFixed(4) });
    rows.push({ rail: 'evm', metric: 'paid request latency p50 / p99 (sequential)', value: `${percentile(sample, 50).toFixed(1)} / ${percentile(sample, 99).toFixed(1)} ms` });
    return rows;
  } finally {
    await devnet.stop();
  }
}
