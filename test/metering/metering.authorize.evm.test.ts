/**
 * "Authorize max, settle actual" on anvil (`settle: 'authorize'`): the client signs an EIP-2612 permit for the
 * route's maximum to the server's gas account; nothing moves at open; calls draw down with signed incremental
 * receipts; the close submits the permit and ONE transferFrom of the actual total (no refund), once. Permits for
 * another spender, with a deadline too short or past, or from a payer short of funds are refused at open (402).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evmEip2612Client, evmEip2612Server, evmPermitAuthorizer, exactTokenAbi } from '../../adapters/evm/index';
import { startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import { jwsCapabilityToken } from '../../src/capabilities/jwsCapabilityToken';
import { meteredFetch } from '../../src/client/meteredFetch';
import { payingFetch, type FetchLike } from '../../src/client/payingFetch';
import { verifyReceipt } from '../../src/core/receipt';
import { createReceiptSigner } from '../../src/core/receipt/signer';
import { metering, type Metering } from '../../src/metering/metering';
import type { MeteringAuthorizer } from '../../src/metering/meteringAuthorizer';
import { decodeMeteringReceipt } from '../../src/metering/meteringReceipt';
import { X402RailsError } from '../../src/core/errors';
import { decodePaymentRequiredHeader, encodePaymentSignatureHeader } from '../../src/protocol/headers';
import { paywall, type Paywall } from '../../src/server/paywall';
import { walletFor } from '../support/evmHarness';
import { ORIGIN, usageHandler } from './support';

const MAX = 100_000n; // 0.1 rUSD authorized per session
const TTL = 3_600;
let devnet: EvmDevnet;
let pw: Paywall;
let meter: Metering;
let fetch: FetchLike;
let authorizer: MeteringAuthorizer;
const clock = { offsetMs: 0, now: () => Date.now() + clock.offsetMs };

beforeAll(async () => {
  devnet = await startEvmDevnet();
  const settler = {
    publicClient: devnet.publicClient,
    walletClient: devnet.walletClientFor('facilitator'),
    confirmTimeoutMs: 10_000,
    pollingIntervalMs: 5,
  };
  const common = { ...settler, chainId: devnet.chainId, token: devnet.token, payTo: devnet.accounts.payee.address };
  const signer = await createReceiptSigner();
  authorizer = evmPermitAuthorizer(common);
  const metered = { maxUnitsPerCall: 1_000n, unitPrice: 10n, settle: 'authorize', ttlSeconds: TTL } as const;
  meter = metering({
    token: await jwsCapabilityToken(),
    signer,
    routes: { 'POST /llm': metered, 'POST /short': metered },
    authorizers: { 'evm-eip2612': authorizer },
    closeWaitMs: 300,
    now: clock.now,
  });
  pw = paywall(
    {
      'POST /llm': { accepts: [{ rail: 'evm-eip2612', amount: MAX, maxTimeoutSeconds: TTL + 900 }] },
      // The default 300 s offer: its permits lapse long before a one-hour session could be settled.
      'POST /short': { accepts: [{ rail: 'evm-eip2612', amount: MAX }] },
    },
    { rails: [evmEip2612Server(common)], signer, extensions: [meter], now: clock.now },
  );
  const app = pw.wrap(usageHandler);
  fetch = async (input, init) => app(new Request(input, init));
});
afterAll(async () => {
  await devnet?.stop();
});

type Payer = 'payer' | 'payer2' | 'poor';
const clientOf = (name: Payer) =>
  meteredFetch({
    pay: payingFetch(fetch, {
      adapters: [evmEip2612Client()],
      wallets: [walletFor(devnet, name)],
      capabilities: false,
    }),
    fetch,
  });
const llm = (client: FetchLike, units: string, path = '/llm') =>
  client(`${ORIGIN}${path}`, { method: 'POST', headers: { 'x-units': units }, body: 'prompt' });
const balance = (name: Payer | 'payee') => devnet.balanceOf(devnet.accounts[name].address);
const read = (functionName: 'nonces' | 'allowance', name: Payer) =>
  functionName === 'nonces'
    ? devnet.publicClient.readContract({
        address: devnet.token.address,
        abi: exactTokenAbi,
        functionName,
        args: [devnet.accounts[name].address],
      })
    : devnet.publicClient.readContract({
        address: devnet.token.address,
        abi: exactTokenAbi,
        functionName,
        args: [devnet.accounts[name].address, devnet.accounts.facilitator.address],
      });
/** Token Transfer events in blocks after `head`. */
const transfersSince = async (head: bigint) =>
  (
    await devnet.publicClient.getContractEvents({
      address: devnet.token.address,
      abi: exactTokenAbi,
      eventName: 'Transfer',
      fromBlock: head,
    })
  )
    .filter((e) => e.blockNumber > head)
    .map((e) => ({
      from: e.args.from,
      to: e.args.to,
      value: e.args.value,
      hash: e.transactionHash,
    }));
/** The chain state a refused or zero session must leave untouched. */
const chainState = async (name: Payer) => ({
  payer: await balance(name),
  payee: await balance('payee'),
  nonce: await read('nonces', name),
  allowance: await read('allowance', name),
});

/** A permit signed for the route's real offer, with `tweak` applied to what the client signs. */
async function craftedCall(
  name: Payer,
  tweak: (extra: Record<string, unknown>) => { extra?: Record<string, unknown>; maxTimeoutSeconds?: number },
  path = '/llm',
) {
  const challenge = await fetch(`${ORIGIN}${path}`, { method: 'POST', body: 'prompt' });
  const required = decodePaymentRequiredHeader(challenge.headers.get('PAYMENT-REQUIRED') ?? '');
  const accepted = required.accepts[0];
  if (!accepted) throw new Error('no offer');
  const signed = { ...accepted, ...tweak(accepted.extra) };
  const payload = await evmEip2612Client().createPayment(signed, walletFor(devnet, name), {
    resource: required.resource,
    x402Version: 2,
    now: Date.now(),
  });
  const header = encodePaymentSignatureHeader({ x402Version: 2, resource: required.resource, accepted, payload });
  return fetch(`${ORIGIN}${path}`, {
    method: 'POST',
    headers: { 'PAYMENT-SIGNATURE': header, 'x-units': '10' },
    body: 'prompt',
  });
}

describe('metered usage: authorize max, settle actual (EIP-2612) on the EVM devnet', () => {
  it('opens on a permit for the maximum without moving a token, meters calls, settles exactly the total in ONE transfer on close, once', async () => {
    const client = clientOf('payer');
    const start = await chainState('payer');
    const used: string[] = [];
    for (const units of ['123', '1000', '7', '450']) {
      const res = await llm(client, units);
      expect(res.status).toBe(200);
      const receipt = await verifyReceipt(decodeMeteringReceipt(res.headers.get('X402-Metering-Receipt')), pw.jwks());
      used.push(`${receipt.metering?.seq}:${receipt.metering?.used}/${receipt.metering?.remaining}`);
    }
    expect(used).toEqual(['1:1230/98770', '2:11230/88770', '3:11300/88700', '4:15800/84200']);
    // Opened and drawn down: no permit submitted, no token moved.
    expect(await chainState('payer')).toEqual(start);

    const fromBlock = await devnet.publicClient.getBlockNumber({ cacheTime: 0 });
    const [closed] = await client.close(ORIGIN);
    expect(closed?.settlement).toMatchObject({ status: 'sent', amount: '15800' });
    expect(closed?.refund).toEqual({ status: 'none', amount: '0' });
    const final = await verifyReceipt(closed?.receipt, pw.jwks());
    expect(final.metering).toMatchObject({
      final: true,
      used: '15800',
      settlement: { status: 'sent', amount: '15800', reference: closed?.settlement?.reference },
    });
    expect(final.metering?.refund).toBeUndefined();
    expect(final.reference).toBe(closed?.settlement?.reference);
    expect(final.amount).toBe('15800');
    const transfers = await transfersSince(fromBlock);
    expect(transfers).toEqual([
      {
        from: devnet.accounts.payer.address,
        to: devnet.accounts.payee.address,
        value: 15_800n,
        hash: closed?.settlement?.reference,
      },
    ]);
    const after = await chainState('payer');
    expect(after).toMatchObject({
      payer: start.payer - 15_800n,
      payee: start.payee + 15_800n,
      nonce: start.nonce + 1n,
      allowance: MAX - 15_800n,
    });

    // Closing again (operator side, and the client's close request again) answers the recorded close; nothing moves.
    const again = await meter.close(closed?.session ?? '');
    expect(again?.receipt).toEqual(closed?.receipt);
    const session = await meter.store.get(closed?.session ?? '');
    const replay = await fetch(`${ORIGIN}/llm`, {
      method: 'POST',
      headers: { 'X402-Metering-Session': session?.token ?? '', 'X402-Metering-Close': '1' },
    });
    expect(replay.status).toBe(200);
    expect(((await replay.json()) as { receipt: unknown }).receipt).toEqual(closed?.receipt);
    expect(await transfersSince(fromBlock)).toHaveLength(1);
    expect(await chainState('payer')).toEqual(after);
  });

  it('30 concurrent calls at the end of the authorization never pass the maximum; the settlement is the metered total', async () => {
    const client = clientOf('payer2');
    const start = await balance('payer2');
    const first = await llm(client, '5500'); // capped at 1,000 units: 10,000
    expect(first.status).toBe(200);
    const session = first.headers.get('X402-Metering-Session') ?? '';
    const call = (units: string) =>
      fetch(`${ORIGIN}/llm`, { method: 'POST', headers: { 'X402-Metering-Session': session, 'x-units': units } });
    for (let i = 0; i < 5; i++) expect((await call('1000')).status).toBe(200);
    // 60,000 used, 40,000 left: four reservations of 10,000 fit, 26 are refused.
    const answers = await Promise.all(Array.from({ length: 30 }, () => call('999')));
    expect(answers.filter((r) => r.status === 200)).toHaveLength(4);
    expect(
      answers.filter((r) => r.status === 402 && r.headers.get('X402-Metering-Error') === 'metering_exhausted'),
    ).toHaveLength(26);
    expect(await balance('payer2')).toBe(start);
    const [closed] = await client.close(ORIGIN);
    const total = 60_000n + 4n * 9_990n;
    expect(total).toBeLessThanOrEqual(MAX);
    expect(closed?.settlement).toMatchObject({ status: 'sent', amount: String(total) });
    expect(await balance('payer2')).toBe(start - total);
  });

  it('a spent authorization is settled by the client before it authorizes again (the permit nonce it holds is pledged)', async () => {
    const client = clientOf('payer');
    const start = await balance('payer');
    for (let i = 0; i < 10; i++) expect((await llm(client, '1000')).status).toBe(200); // 10 × 10,000: the whole 100,000
    expect(await balance('payer')).toBe(start);
    const renewed = await llm(client, '5'); // refused (spent) → a new permit over the same nonce → pledged → close, authorize anew
    expect(renewed.status).toBe(200);
    expect(await balance('payer')).toBe(start - MAX);
    const [held] = client.sessions(ORIGIN);
    expect(client.sessions(ORIGIN)).toHaveLength(1);
    expect(
      (await verifyReceipt(decodeMeteringReceipt(renewed.headers.get('X402-Metering-Receipt')), pw.jwks())).metering,
    ).toMatchObject({ session: held?.id, seq: 1, used: '50' });
    const [closed] = await client.close(ORIGIN);
    expect(closed?.settlement).toMatchObject({ status: 'sent', amount: '50' });
    expect(await balance('payer')).toBe(start - MAX - 50n);
  });

  it('crash-aware: a settlement left in progress is recorded from its transaction on record if it landed, and never sent twice', async () => {
    // Session A: the server "died" after broadcasting its transferFrom (recorded at broadcast), before recording it sent.
    const client = clientOf('payer2');
    const start = await balance('payer2');
    expect((await llm(client, '77')).status).toBe(200);
    const [held] = client.sessions(ORIGIN);
    const id = held?.id ?? '';
    const session = await meter.store.get(id);
    await meter.store.close(id);
    await meter.store.setRefund(id, [undefined], { status: 'in_progress', amount: 770n });
    const onBroadcast = async (reference: string) => {
      await meter.store.setRefund(id, ['in_progress'], { status: 'in_progress', amount: 770n, reference });
    };
    const sent = await authorizer.settle({
      session: id,
      authorization: JSON.parse(session?.authorization ?? '{}') as Record<string, unknown>,
      amount: 770n,
      onBroadcast,
    });
    expect(sent.status).toBe('sent');
    const head = await devnet.publicClient.getBlockNumber({ cacheTime: 0 });
    const [closed] = await client.close(ORIGIN); // waits closeWaitMs on the in-progress settlement, then finds it landed
    expect(closed?.settlement).toEqual({
      status: 'sent',
      amount: '770',
      reference: sent.status === 'sent' ? sent.reference : '',
    });
    expect((await verifyReceipt(closed?.receipt, pw.jwks())).reference).toBe(closed?.settlement?.reference);
    expect(await transfersSince(head)).toEqual([]);
    expect(await balance('payer2')).toBe(start - 770n);

    // Session B: claimed in progress but nothing on record (died before broadcast): 503 until the operator says it was not sent.
    const other = clientOf('payer2');
    expect((await llm(other, '3')).status).toBe(200);
    const [heldB] = other.sessions(ORIGIN);
    const idB = heldB?.id ?? '';
    await meter.store.close(idB);
    await meter.store.setRefund(idB, [undefined], { status: 'in_progress', amount: 30n });
    await expect(meter.close(idB)).rejects.toSatisfy(
      (e: unknown) => e instanceof X402RailsError && e.status === 503 && e.code === 'METERING__CLOSE__PENDING',
    );
    expect(await balance('payer2')).toBe(start - 770n);
    await meter.resolveRefund(idB, { notSent: true });
    const [closedB] = await other.close(ORIGIN);
    expect(closedB?.settlement).toMatchObject({ status: 'sent', amount: '30' });
    expect(await balance('payer2')).toBe(start - 800n);
  });

  it('two closes at once settle once', async () => {
    const client = clientOf('payer2');
    const start = await balance('payer2');
    expect((await llm(client, '12')).status).toBe(200);
    const [held] = client.sessions(ORIGIN);
    const head = await devnet.publicClient.getBlockNumber({ cacheTime: 0 });
    const [byClient, byOperator] = await Promise.all([client.close(ORIGIN), meter.close(held?.id ?? '')]);
    expect(byOperator?.settlement).toEqual(byClient[0]?.settlement);
    expect((await transfersSince(head)).map((t) => t.value)).toEqual([120n]);
    expect(await balance('payer2')).toBe(start - 120n);
  });

  it('a route that settles by authorize without any authorizer is a configuration error (no silent full settlement)', async () => {
    const [token, signer] = await Promise.all([jwsCapabilityToken(), createReceiptSigner()]);
    expect(() =>
      metering({ token, signer, routes: { 'POST /llm': { maxUnitsPerCall: 1n, settle: 'authorize' } } }),
    ).toThrow(/no authorizers/);
  });

  it('a total of 0 sends nothing (no permit, no transfer), and the unused permit nonce can open the next session', async () => {
    const client = clientOf('payer');
    const start = await chainState('payer');
    const fromBlock = await devnet.publicClient.getBlockNumber({ cacheTime: 0 });
    expect((await llm(client, '0')).status).toBe(200);
    const [closed] = await client.close(ORIGIN);
    expect(closed?.settlement).toEqual({ status: 'none', amount: '0' });
    expect((await verifyReceipt(closed?.receipt, pw.jwks())).metering).toMatchObject({
      final: true,
      used: '0',
      settlement: { status: 'none', amount: '0' },
    });
    expect(await transfersSince(fromBlock)).toEqual([]);
    expect(await chainState('payer')).toEqual(start);

    const next = clientOf('payer');
    expect((await llm(next, '10')).status).toBe(200);
    const [reopened] = next.sessions(ORIGIN);
    expect(reopened?.id).toBe(`${closed?.session}:g1`);
    const [settled] = await next.close(ORIGIN);
    expect(settled?.settlement).toMatchObject({ status: 'sent', amount: '100' });
    expect(await balance('payer')).toBe(start.payer - 100n);
  });

  describe('refused at open (402, metering_unauthorized), nothing moved, no session', () => {
    const cases: Array<[string, Payer, () => Promise<Response>, string]> = [
      [
        'a permit for another spender',
        'payer',
        () => craftedCall('payer', (extra) => ({ extra: { ...extra, spender: devnet.accounts.payer2.address } })),
        'spender_mismatch',
      ],
      [
        'an expired deadline',
        'payer',
        () => craftedCall('payer', () => ({ maxTimeoutSeconds: -60 })),
        'deadline_too_short',
      ],
      [
        'a deadline that ends before the session can be settled',
        'payer',
        () => llm(clientOf('payer'), '10', '/short'),
        'deadline_too_short',
      ],
      ['a payer without the balance', 'poor', () => llm(clientOf('poor'), '10'), 'insufficient_funds'],
    ];
    for (const [name, payer, send, reason] of cases) {
      it(name, async () => {
        const start = await chainState(payer);
        const res = await send();
        expect(res.status).toBe(402);
        expect(res.headers.get('X402-Metering-Error')).toBe('metering_unauthorized');
        expect(res.headers.get('X402-Metering-Session')).toBeNull();
        const required = decodePaymentRequiredHeader(res.headers.get('PAYMENT-REQUIRED') ?? '');
        expect(required.error).toBe('metering_unauthorized');
        expect(required.extensions?.['x402-rails/rejection']).toMatchObject({
          message: expect.stringContaining(reason),
        });
        expect(await chainState(payer)).toEqual(start);
      });
    }
  });

  it('meter.settleExpired() settles an expired session once; a second permit over a pledged nonce is refused meanwhile', async () => {
    const client = clientOf('payer2');
    const start = await balance('payer2');
    expect((await llm(client, '42')).status).toBe(200);
    // Another permit over the same (still unused) nonce while that session is open: refused, it could never settle both.
    const pledged = await craftedCall('payer2', () => ({ maxTimeoutSeconds: TTL + 901 }));
    expect(pledged.status).toBe(402);
    expect(pledged.headers.get('X402-Metering-Error')).toBe('metering_pledged');
    expect(
      decodePaymentRequiredHeader(pledged.headers.get('PAYMENT-REQUIRED') ?? '').extensions?.['x402-rails/rejection'],
    ).toMatchObject({ message: expect.stringContaining('authorization_pledged') });
    clock.offsetMs = (TTL + 1) * 1000;
    try {
      const settled = await meter.settleExpired();
      expect(settled.map((s) => s.settlement)).toEqual([expect.objectContaining({ status: 'sent', amount: '420' })]);
      expect(await meter.settleExpired()).toEqual([]);
    } finally {
      clock.offsetMs = 0;
    }
    expect(await balance('payer2')).toBe(start - 420n);
    // The client's session is settled: its next call is refused and paid again with a new permit (the next nonce).
    const renewed = await llm(client, '1');
    expect(renewed.status).toBe(200);
    expect(client.sessions(ORIGIN).map((s) => s.retired)).toEqual([true, false]);
    const closes = await client.close(ORIGIN);
    expect(closes.map((c) => c.settlement?.amount)).toEqual(['420', '10']);
    expect(await balance('payer2')).toBe(start - 430n);
  });
});

describe('authorize mode under the risk controls (metering admit)', () => {
  it('a denied payer cannot open a session (nothing moves); an admitted payer opens one', async () => {
    const { riskControls } = await import('../../src/risk/index');
    const settler = {
      publicClient: devnet.publicClient,
      walletClient: devnet.walletClientFor('facilitator'),
      confirmTimeoutMs: 10_000,
      pollingIntervalMs: 5,
    };
    const common = { ...settler, chainId: devnet.chainId, token: devnet.token, payTo: devnet.accounts.payee.address };
    const risk = riskControls({ denyPayers: [devnet.accounts.payer2.address.toLowerCase()], breaker: false });
    const signer = await createReceiptSigner();
    const guarded = metering({
      token: await jwsCapabilityToken(),
      signer,
      routes: { 'POST /llm': { maxUnitsPerCall: 1_000n, unitPrice: 10n, settle: 'authorize', ttlSeconds: TTL } },
      authorizers: { 'evm-eip2612': evmPermitAuthorizer(common) },
      admit: (ctx) => risk.afterVerify?.(ctx) ?? Promise.resolve(undefined),
    });
    const guardedPw = paywall(
      { 'POST /llm': { accepts: [{ rail: 'evm-eip2612', amount: MAX, maxTimeoutSeconds: TTL + 900 }] } },
      { rails: [evmEip2612Server(common)], signer, extensions: [guarded] },
    );
    const app = guardedPw.wrap(usageHandler);
    const guardedFetch: FetchLike = async (input, init) => app(new Request(input, init));
    const client = (name: Payer) =>
      meteredFetch({
        pay: payingFetch(guardedFetch, {
          adapters: [evmEip2612Client()],
          wallets: [walletFor(devnet, name)],
          capabilities: false,
        }),
        fetch: guardedFetch,
      });

    const before = await chainState('payer2');
    const denied = await llm(client('payer2'), '10');
    expect(denied.status).toBe(402);
    expect(denied.headers.get('X402-Metering-Error')).toBe('metering_unauthorized');
    expect(
      decodePaymentRequiredHeader(denied.headers.get('PAYMENT-REQUIRED') ?? '').extensions?.['x402-rails/rejection'],
    ).toMatchObject({ message: expect.stringContaining('payer_denied') });
    expect(await chainState('payer2')).toEqual(before);

    const admitted = await llm(client('payer'), '10');
    expect(admitted.status).toBe(200);
    expect(admitted.headers.get('X402-Metering-Session')).toBeTruthy();
  });
});
