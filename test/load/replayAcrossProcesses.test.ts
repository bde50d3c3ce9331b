/**
 * Two real server processes share one store (a SQLite file; a Redis server) and settle on one anvil with the
 * real EVM EIP-3009 rail. 200 concurrent requests replay ONE valid payment, spread over both processes:
 * exactly one on-chain settlement (the token moved once), exactly one receipt, served once plus the replay bound
 * (3) between both processes, and every other answer is a 409 `replay_limit_reached` carrying that same receipt —
 * never a 5xx. Every tenth copy is presented for another URL and is refused with a 402 reason.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECEIPT_EXTENSION_KEY, SignedReceiptSchema, type SignedReceipt } from '../../src/core/receipt/receipt';
import {
  decodePaymentRequiredHeader,
  decodePaymentResponseHeader,
  encodePaymentSignatureHeader,
} from '../../src/protocol/headers';
import { evmEip3009Client, exactTokenAbi } from '../../adapters/evm/index';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import { redisServerBinary, startRedisServer } from '../support/redisServer';
import { LOAD_HOST, LOAD_PRICE, balances, payerWallet, twoServerConfigs } from './support/loadFixture';
import type { LoadServerConfig } from './support/server';
import { getPinned, startServerProcesses, type RawAnswer } from './support/serverProcesses';

const REPLAYS = 200;

let evm: EvmDevnet;
beforeAll(async () => {
  evm = await startEvmDevnet();
});
afterAll(async () => {
  await evm?.stop();
});

/** The signed receipt of a paid answer. */
function receiptOfAnswer(answer: RawAnswer): SignedReceipt {
  const settle = decodePaymentResponseHeader(answer.headers['payment-response'] ?? '');
  return SignedReceiptSchema.parse(settle.extensions?.[RECEIPT_EXTENSION_KEY]);
}

/** Runs the replay storm against two processes on `store`; returns what was seen, for the report line. */
async function replayStorm(store: LoadServerConfig['store']): Promise<string> {
  const servers = await startServerProcesses(await twoServerConfigs(evm, store));
  try {
    const [a, b] = servers;
    if (!a || !b) throw new Error('two servers');
    const unpaid = await getPinned(a.url, '/paid', LOAD_HOST);
    expect(unpaid.status).toBe(402);
    const [offer] = decodePaymentRequiredHeader(unpaid.headers['payment-required'] ?? '').accepts;
    if (!offer) throw new Error('no offer');
    const payload = await evmEip3009Client().createPayment(offer, payerWallet(evm), {
      resource: { url: `http://${LOAD_HOST}/paid` },
      x402Version: 2,
      now: Date.now(),
    });
    const header = encodePaymentSignatureHeader({ x402Version: 2, accepted: offer, payload });
    const before = await balances(evm);

    // Every tenth copy is sent for another request (another URL): it must be refused, not served.
    const elsewhere = (i: number) => i % 10 === 9;
    const answers = await Promise.all(
      Array.from({ length: REPLAYS }, (_, i) =>
        getPinned((i % 2 === 0 ? a : b).url, elsewhere(i) ? '/paid?elsewhere' : '/paid', LOAD_HOST, {
          'PAYMENT-SIGNATURE': header,
        }),
      ),
    );

    const receiptIds = new Set<string>();
    const references = new Set<string>();
    const seen: Record<string, number> = {};
    for (const [i, answer] of answers.entries()) {
      let label = String(answer.status);
      if (elsewhere(i)) {
        expect(answer.status, answer.body).toBe(402);
        const reason = decodePaymentRequiredHeader(answer.headers['payment-required'] ?? '').error ?? '';
        expect(reason).toMatch(/^(challenge|payment)_/);
        label += `:elsewhere:${reason}`;
      } else {
        const receipt = receiptOfAnswer(answer);
        receiptIds.add(receipt.id);
        references.add(receipt.reference);
        if (answer.status !== 200) {
          expect(answer.status, answer.body).toBe(409);
          expect(answer.body).toContain('"reason":"replay_limit_reached"');
          label += ':replay_limit_reached';
        }
      }
      seen[label] = (seen[label] ?? 0) + 1;
    }
    // served once + 3 replays; one receipt, one settlement reference, and the token moved once
    expect(seen['200']).toBe(4);
    expect(receiptIds.size).toBe(1);
    expect(references.size).toBe(1);
    const after = await balances(evm);
    expect(before.payer - after.payer).toBe(LOAD_PRICE);
    expect(after.payee - before.payee).toBe(LOAD_PRICE);
    const authorization = payload.authorization as { nonce: `0x${string}` };
    const used = await evm.publicClient.getContractEvents({
      address: evm.token.address,
      abi: exactTokenAbi,
      eventName: 'AuthorizationUsed',
      args: { authorizer: evm.accounts.payer.address, nonce: authorization.nonce },
      fromBlock: 0n,
    });
    expect(used.map((log) => log.transactionHash)).toEqual([...references]);
    // both processes answered, and each still answers a late retry with that receipt (and no more service)
    const stats = await Promise.all(servers.map((s) => s.stats()));
    for (const s of stats) expect(s.paymentHeaders).toBe(REPLAYS / 2);
    for (const server of servers) {
      const again = await getPinned(server.url, '/paid', LOAD_HOST, { 'PAYMENT-SIGNATURE': header });
      expect(again.status).toBe(409);
      expect(receiptIds.has(receiptOfAnswer(again).id)).toBe(true);
    }
    return JSON.stringify(seen);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

describe(`two server processes, one store, ${REPLAYS} concurrent replays of one EIP-3009 payment`, () => {
  it('SQLite file: one settlement on anvil, one receipt, served 4 times, everyone else gets it with a 409', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'x402-load-'));
    try {
      console.log(`sqlite replay answers: ${await replayStorm({ kind: 'sqlite', path: join(dir, 'store.sqlite') })}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);

  const binary = redisServerBinary();
  it.skipIf(!binary)(
    `Redis: the same${binary ? '' : ' (SKIPPED: redis-server is not installed; apt-get install redis-server or set REDIS_SERVER_BIN)'}`,
    async () => {
      const redis = await startRedisServer(binary);
      try {
        console.log(
          `redis replay answers: ${await replayStorm({ kind: 'redis', url: redis.url, keyPrefix: 'load:' })}`,
        );
      } finally {
        await redis.stop();
      }
    },
    90_000,
  );
});
