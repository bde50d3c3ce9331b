import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maxUint256, type Address } from 'viem';
import {
  createReceiptSigner,
  decodePaymentRequiredHeader,
  encodePaymentSignatureHeader,
  paywall,
  splitPayloadExtensions,
  type FetchLike,
  type PaymentRequirements,
} from '../../src/index';
import { jwsCapabilityToken } from '../../src/capabilities/jwsCapabilityToken';
import { metering, type Metering } from '../../src/metering/metering';
import type { MeteringAuthorizer } from '../../src/metering/meteringAuthorizer';
import {
  PERMIT2_ADDRESS,
  UPTO_SETTLEMENT_EXCEEDS_AMOUNT,
  evmUptoAuthorizer,
  evmUptoClient,
  evmUptoServer,
} from '../../adapters/evm/index';
import { railsTokenAbi, startEvmDevnet, type EvmDevnet } from '../../fixtures/evm/index';
import { walletFor } from '../support/evmHarness';
import { ORIGIN, usageHandler } from '../metering/support';

/**
 * Issue 14 item 4, attacks on a metered route paid by x402 `upto` (authorize max, settle actual) on anvil: a
 * session never settles above the authorized maximum (calls beyond it are refused, a charge above it moves
 * nothing), a replayed upto payload opens no second session and settles nothing twice, closes at once or again
 * settle once, a settlement left in progress is recovered from its transaction and never re-sent, and permits
 * naming another facilitator or payee, or lapsing before the session can be settled, open nothing.
 */

const MAX = 25_000n; // each call reserves 1_000 units × 10 = 10_000: two calls fit, a third does not
const TTL = 600;
let devnet: EvmDevnet;
let meter: Metering;
let authorizer: MeteringAuthorizer;
let app: FetchLike;
let capabilities: Awaited<ReturnType<typeof jwsCapabilityToken>>;
/** The session id a session token names. */
const idOf = async (token: string) => {
  const read = await capabilities.read(token);
  return read.ok ? read.claims.jti : '';
};

beforeAll(async () => {
  devnet = await startEvmDevnet();
  const approve = await devnet.walletClientFor('payer2').writeContract({
    address: devnet.token.address,
    abi: railsTokenAbi,
    functionName: 'approve',
    args: [PERMIT2_ADDRESS, maxUint256],
  });
  await devnet.publicClient.waitForTransactionReceipt({ hash: approve });
  const common = {
    publicClient: devnet.publicClient,
    walletClient: devnet.walletClientFor('facilitator'),
    confirmTimeoutMs: 10_000,
    pollingIntervalMs: 5,
    chainId: devnet.chainId,
    token: devnet.token,
    payTo: devnet.accounts.payee.address,
  };
  const signer = await createReceiptSigner();
  authorizer = evmUptoAuthorizer(common);
  const metered = { maxUnitsPerCall: 1_000n, unitPrice: 10n, settle: 'authorize', ttlSeconds: TTL } as const;
  capabilities = await jwsCapabilityToken();
  meter = metering({
    token: capabilities,
    signer,
    routes: { 'POST /llm': metered, 'POST /short': metered },
    authorizers: { 'evm-upto': authorizer },
    closeWaitMs: 300,
  });
  const pw = paywall(
    {
      'POST /llm': { accepts: [{ rail: 'evm-upto', amount: MAX, maxTimeoutSeconds: TTL + 900 }] },
      // Permits signed for this offer lapse before a session could be settled.
      'POST /short': { accepts: [{ rail: 'evm-upto', amount: MAX, maxTimeoutSeconds: 300 }] },
    },
    { rails: [evmUptoServer(common)], signer, extensions: [meter] },
  );
  const handler = pw.wrap(usageHandler);
  app = async (input, init) => handler(new Request(input, init));
});
afterAll(async () => {
  await devnet?.stop();
});

/** Every balance an attack could move, and the chain head. */
const ledger = async () => ({
  balances: await Promise.all(
    (['payer', 'payer2', 'payee', 'facilitator'] as const).map((n) => devnet.balanceOf(devnet.accounts[n].address)),
  ),
});
const head = () => devnet.publicClient.getBlockNumber({ cacheTime: 0 });

/** The route's upto offer, and a PAYMENT-SIGNATURE over it signed by `payer` with `tweak` applied to what is signed. */
async function signedFor(
  path: string,
  payer: 'payer' | 'payer2',
  tweak: (r: PaymentRequirements) => PaymentRequirements = (r) => r,
) {
  const challenge = await app(`${ORIGIN}${path}`, { method: 'POST', body: 'prompt' });
  const required = decodePaymentRequiredHeader(challenge.headers.get('PAYMENT-REQUIRED') ?? '');
  const accepted = required.accepts[0];
  if (!accepted) throw new Error('no offer');
  const railPayload = await evmUptoClient().createPayment(tweak(accepted), walletFor(devnet, payer), {
    resource: required.resource,
    x402Version: 2,
    now: Date.now(),
  });
  const { payload, extensions } = splitPayloadExtensions(railPayload);
  const header = encodePaymentSignatureHeader({
    x402Version: 2,
    resource: required.resource,
    accepted,
    payload,
    ...(extensions ? { extensions } : {}),
  });
  return { header, railPayload };
}
const call = (path: string, headers: Record<string, string>) =>
  app(`${ORIGIN}${path}`, { method: 'POST', headers, body: 'prompt' });

describe('metered upto sessions under attack (anvil)', () => {
  it('calls beyond the maximum are refused; a charge above the maximum moves nothing; the session settles ≤ max once', async () => {
    const { header, railPayload } = await signedFor('/llm', 'payer2');
    const opened = await call('/llm', { 'PAYMENT-SIGNATURE': header, 'x-units': '1000' });
    expect(opened.status).toBe(200);
    const session = opened.headers.get('X402-Metering-Session') ?? '';
    expect((await call('/llm', { 'X402-Metering-Session': session, 'x-units': '1000' })).status).toBe(200);
    const third = await call('/llm', { 'X402-Metering-Session': session, 'x-units': '1' });
    expect(third.status).toBe(402); // 5_000 left, a call reserves 10_000
    expect(third.headers.get('X402-Metering-Error')).toBe('metering_exhausted');

    // The authorizer itself refuses to settle above the maximum: nothing moves, the nonce stays unused.
    const before = await ledger();
    const over = await authorizer.settle({ session: 'attack', authorization: railPayload, amount: MAX + 1n });
    expect(over).toMatchObject({ status: 'refused', reason: UPTO_SETTLEMENT_EXCEEDS_AMOUNT });
    expect(await ledger()).toEqual(before);

    const closed = await (await call('/llm', { 'X402-Metering-Session': session, 'X402-Metering-Close': '1' })).json();
    expect(closed.settlement).toMatchObject({ status: 'sent', amount: '20000' });
    const after = await ledger();
    expect(after.balances[1]).toBe((before.balances[1] ?? 0n) - 20_000n);
    expect(after.balances[2]).toBe((before.balances[2] ?? 0n) + 20_000n);
  });

  it('a replayed upto payload draws on its own session (no second session, nothing moved) and after the close opens nothing', async () => {
    const { header } = await signedFor('/llm', 'payer2');
    const start = await ledger();
    const first = await call('/llm', { 'PAYMENT-SIGNATURE': header, 'x-units': '100' });
    const again = await call('/llm', { 'PAYMENT-SIGNATURE': header, 'x-units': '100' });
    expect([first.status, again.status]).toEqual([200, 200]);
    const session = first.headers.get('X402-Metering-Session') ?? '';
    expect(again.headers.get('X402-Metering-Session')).toBe(session);
    expect(await ledger()).toEqual(start);
    const closed = await (await call('/llm', { 'X402-Metering-Session': session, 'X402-Metering-Close': '1' })).json();
    expect(closed.settlement).toMatchObject({ status: 'sent', amount: '2000' });
    const settled = await ledger();
    const h = await head();
    const replayed = await call('/llm', { 'PAYMENT-SIGNATURE': header, 'x-units': '100' });
    expect(replayed.status).toBe(402);
    expect(replayed.headers.get('X402-Metering-Error')).toBe('metering_unauthorized'); // its Permit2 nonce is spent
    expect(await ledger()).toEqual(settled);
    expect(await head()).toBe(h);
  });

  it('a session closed twice at once, then again, and swept, settles once', async () => {
    const { header } = await signedFor('/llm', 'payer2');
    const opened = await call('/llm', { 'PAYMENT-SIGNATURE': header, 'x-units': '42' });
    expect(opened.status).toBe(200);
    const session = opened.headers.get('X402-Metering-Session') ?? '';
    const id = await idOf(session);
    const h = await head();
    const before = await ledger();
    const close = () => call('/llm', { 'X402-Metering-Session': session, 'X402-Metering-Close': '1' });
    // Three closes at once: one settles; the others answer the same settlement, or 503 (settling) when it outlasts
    // their wait. Never a second settlement.
    const [one, two, operator] = await Promise.all([close(), close(), meter.close(id).catch(() => undefined)]);
    const answered = [
      ...(await Promise.all([one, two].filter((r) => r.status === 200).map((r) => r.json()))),
      ...(operator ? [operator] : []),
    ];
    for (const r of [one, two]) expect([200, 503]).toContain(r.status);
    expect(answered.length).toBeGreaterThan(0);
    const late = await (await close()).json();
    expect(late.settlement).toMatchObject({ status: 'sent', amount: '420' });
    for (const a of answered) expect(a.settlement).toEqual(late.settlement);
    await meter.settleExpired();
    expect(await head()).toBe(h + 1n); // one transaction: the settlement
    const after = await ledger();
    expect(after.balances[1]).toBe((before.balances[1] ?? 0n) - 420n);
    expect(after.balances[2]).toBe((before.balances[2] ?? 0n) + 420n);
  });

  it('crash-aware: a settlement left in progress is recorded from its transaction on record and never sent twice', async () => {
    const { header, railPayload } = await signedFor('/llm', 'payer2');
    const opened = await call('/llm', { 'PAYMENT-SIGNATURE': header, 'x-units': '77' });
    const session = opened.headers.get('X402-Metering-Session') ?? '';
    const id = await idOf(session);
    // The server "died" after broadcasting the settlement (recorded at broadcast), before recording it sent.
    await meter.store.close(id);
    await meter.store.setRefund(id, [undefined], { status: 'in_progress', amount: 770n });
    const sent = await authorizer.settle({
      session: id,
      authorization: railPayload,
      amount: 770n,
      onBroadcast: async (reference) => {
        await meter.store.setRefund(id, ['in_progress'], { status: 'in_progress', amount: 770n, reference });
      },
    });
    expect(sent.status).toBe('sent');
    const h = await head();
    const before = await ledger();
    const closed = await (await call('/llm', { 'X402-Metering-Session': session, 'X402-Metering-Close': '1' })).json();
    expect(closed.settlement).toEqual({
      status: 'sent',
      amount: '770',
      reference: sent.status === 'sent' ? sent.reference : '',
    });
    expect(await head()).toBe(h);
    expect(await ledger()).toEqual(before);
    // Settling the same authorization again answers the earlier transaction (its Permit2 nonce is spent by it).
    expect(await authorizer.settle({ session: id, authorization: railPayload, amount: 770n })).toEqual(sent);
    expect(await head()).toBe(h);
  });

  for (const [name, path, tweak, reason] of [
    [
      'a permit naming another facilitator',
      '/llm',
      (r: PaymentRequirements) => ({ ...r, extra: { ...r.extra, facilitatorAddress: devnet.accounts.payer2.address } }),
      'upto_facilitator_mismatch',
    ],
    [
      'a permit paying another payee',
      '/llm',
      (r: PaymentRequirements) => ({ ...r, payTo: devnet.accounts.payer2.address as Address }),
      'payee_mismatch',
    ],
    [
      'a permit lapsing before the session can be settled',
      '/short',
      (r: PaymentRequirements) => r,
      'deadline_too_short',
    ],
  ] as const) {
    it(`${name} opens nothing and moves nothing (${reason})`, async () => {
      const { header } = await signedFor(path, 'payer2', tweak);
      const before = await ledger();
      const h = await head();
      const res = await call(path, { 'PAYMENT-SIGNATURE': header, 'x-units': '1' });
      expect(res.status).toBe(402);
      expect(res.headers.get('X402-Metering-Error')).toBe('metering_unauthorized');
      const required = decodePaymentRequiredHeader(res.headers.get('PAYMENT-REQUIRED') ?? '');
      expect(JSON.stringify(required.extensions?.['x402-rails/rejection'])).toContain(reason);
      expect(res.headers.get('X402-Metering-Session')).toBeNull();
      expect(await ledger()).toEqual(before);
      expect(await head()).toBe(h);
    });
  }
});
