/**
 * The Lightning devnet stand-in, driven only through ln-service's public functions over real gRPC+TLS
 * with macaroons, exactly as an application would drive lnd.
 */
import { createHash, randomBytes } from 'node:crypto';
import bolt11 from 'bolt11';
import {
  authenticatedLndGrpc,
  createInvoice,
  decodePaymentRequest,
  getChannelBalance,
  getChannels,
  getInvoice,
  getWalletInfo,
  pay,
  payViaPaymentRequest,
  subscribeToInvoice,
  type SubscribeToInvoiceInvoiceUpdatedEvent,
} from 'ln-service';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REGTEST_NETWORK, encodeInvoice } from '../../fixtures/lightning/bolt11Codec';
import { REGTEST_CAIP2, startLightningDevnet, type LightningDevnet } from '../../fixtures/lightning/index';
import { addFirstPartyCaveat, createMacaroon, macaroonFromHex, macaroonToHex } from '../../src/protocol/macaroon';

/** Bitcoin regtest genesis hash as ln-service reports chains (byte-reversed). */
const REGTEST_CHAIN_ID = '06226e46111a0b59caaf126043eb5bbf28c34f3a5e332a1fc7b2b73cf188910f';

let devnet: LightningDevnet;
let startMs = 0;

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

const sha256Hex = (hex: string): string => createHash('sha256').update(Buffer.from(hex, 'hex')).digest('hex');

function balances(): Record<'alice' | 'bob' | 'carol', bigint> {
  return {
    alice: devnet.channelBalance('alice'),
    bob: devnet.channelBalance('bob'),
    carol: devnet.channelBalance('carol'),
  };
}

beforeAll(async () => {
  const started = performance.now();
  devnet = await startLightningDevnet();
  startMs = performance.now() - started;
});

afterAll(async () => {
  await devnet?.stop();
});

describe('Lightning devnet (LND-protocol stand-in) through ln-service', () => {
  it('starts three nodes on their own localhost ports, fast', () => {
    console.log(`[lightning devnet] start: ${startMs.toFixed(0)} ms`);
    expect(devnet.network).toBe(REGTEST_CAIP2);
    const sockets = Object.values(devnet.nodes).map((n) => n.socket);
    expect(new Set(sockets).size).toBe(3);
    for (const socket of sockets) expect(socket).toMatch(/^localhost:\d+$/);
    expect(startMs).toBeLessThan(5_000);
  });

  it('getWalletInfo reports each node as a synced regtest lnd', async () => {
    for (const node of Object.values(devnet.nodes)) {
      const info = await getWalletInfo({ lnd: node.lnd });
      expect(info.public_key).toBe(node.publicKey);
      expect(info.alias).toBe(node.name);
      expect(info.chains).toEqual([REGTEST_CHAIN_ID]);
      expect(info.is_synced_to_chain).toBe(true);
      expect(info.active_channels_count).toBe(2);
      expect(info.version).toMatch(/^0\.\d+\.\d+-beta/);
    }
  });

  it('createInvoice with a description hash: DecodePayReq and bolt11 agree, signed by the node key', async () => {
    const descriptionHash = createHash('sha256').update('GET https://api.example/report').digest('hex');
    const invoice = await createInvoice({
      lnd: devnet.nodes.bob.lnd,
      mtokens: '1234567',
      description_hash: descriptionHash,
    });
    expect(invoice.request.startsWith('lnbcrt')).toBe(true);
    expect(invoice.mtokens).toBe('1234567');

    const viaLnd = await decodePaymentRequest({ lnd: devnet.nodes.alice.lnd, request: invoice.request });
    const local = bolt11.decode(invoice.request, REGTEST_NETWORK);
    expect(viaLnd.id).toBe(invoice.id);
    expect(local.tagsObject.payment_hash).toBe(invoice.id);
    expect(viaLnd.mtokens).toBe('1234567');
    expect(local.millisatoshis).toBe('1234567');
    expect(viaLnd.description_hash).toBe(descriptionHash);
    expect(local.tagsObject.purpose_commit_hash).toBe(descriptionHash);
    expect(viaLnd.destination).toBe(devnet.nodes.bob.publicKey);
    // No `n` field: bolt11 recovers the payee key from the signature itself.
    expect(local.tagsObject.payee_node_key).toBeUndefined();
    expect(local.payeeNodeKey).toBe(devnet.nodes.bob.publicKey);
    expect(viaLnd.payment).toBe(local.tagsObject.payment_secret);
    expect(viaLnd.payment).toBe(invoice.payment);
    const required = viaLnd.features.filter((f) => f.is_required).map((f) => f.bit);
    expect(required).toEqual(expect.arrayContaining([8, 14]));
    expect(Date.parse(viaLnd.expires_at)).toBeGreaterThan(Date.now());
    // preimage: 32 bytes whose sha256 is the payment hash
    expect(invoice.secret).toMatch(/^[0-9a-f]{64}$/);
    expect(sha256Hex(invoice.secret)).toBe(invoice.id);
  });

  it('alice pays bob: preimage, settled invoice, exact balance move, subscription sees the settle', async () => {
    const invoice = await createInvoice({ lnd: devnet.nodes.bob.lnd, tokens: 2_500, description: 'report' });
    const settled = new Promise<SubscribeToInvoiceInvoiceUpdatedEvent>((resolve, reject) => {
      const sub = subscribeToInvoice({ lnd: devnet.nodes.bob.lnd, id: invoice.id });
      const seen: boolean[] = [];
      sub.on('invoice_updated', (update: SubscribeToInvoiceInvoiceUpdatedEvent) => {
        seen.push(update.is_confirmed);
        if (update.is_confirmed) {
          sub.removeAllListeners();
          expect(seen[0]).toBe(false); // current state first, then the settle
          resolve(update);
        }
      });
      sub.on('error', reject);
    });
    await new Promise((r) => setTimeout(r, 50)); // let the subscription reach the node
    const before = balances();
    const bobBefore = await getChannelBalance({ lnd: devnet.nodes.bob.lnd });

    const started = performance.now();
    const paid = await pay({ lnd: devnet.nodes.alice.lnd, request: invoice.request, max_fee: 10 });
    console.log(`[lightning devnet] first payment: ${(performance.now() - started).toFixed(1)} ms`);

    expect(paid.id).toBe(invoice.id);
    expect(sha256Hex(paid.secret)).toBe(invoice.id);
    expect(paid.secret).toBe(invoice.secret);
    expect(paid.tokens).toBe(2_500);
    expect(paid.fee).toBe(0);
    expect(paid.hops).toHaveLength(1);
    expect(paid.hops[0]).toMatchObject({
      public_key: devnet.nodes.bob.publicKey,
      forward_mtokens: '2500000',
      fee_mtokens: '0',
    });

    const looked = await getInvoice({ lnd: devnet.nodes.bob.lnd, id: invoice.id });
    expect(looked.is_confirmed).toBe(true);
    expect(looked.received_mtokens).toBe('2500000');
    expect(looked.received).toBe(2_500);
    expect(looked.confirmed_at).toBeDefined();
    expect(looked.secret).toBe(paid.secret);

    const after = balances();
    expect(before.alice - after.alice).toBe(2_500_000n);
    expect(after.bob - before.bob).toBe(2_500_000n);
    expect(after.carol).toBe(before.carol);
    const bobAfter = await getChannelBalance({ lnd: devnet.nodes.bob.lnd });
    expect(BigInt(bobAfter.channel_balance_mtokens ?? '0') - BigInt(bobBefore.channel_balance_mtokens ?? '0')).toBe(
      2_500_000n,
    );

    const update = await settled;
    expect(update.id).toBe(invoice.id);
    expect(update.received_mtokens).toBe('2500000');
  });

  it('per-payment time over 20 payments (payViaPaymentRequest)', async () => {
    const invoices = await Promise.all(
      Array.from({ length: 20 }, () => createInvoice({ lnd: devnet.nodes.bob.lnd, tokens: 10 })),
    );
    const before = devnet.channelBalance('alice');
    const started = performance.now();
    for (const invoice of invoices) {
      const paid = await payViaPaymentRequest({ lnd: devnet.nodes.alice.lnd, request: invoice.request, max_fee: 0 });
      expect(sha256Hex(paid.secret)).toBe(invoice.id);
    }
    const perPayment = (performance.now() - started) / invoices.length;
    console.log(`[lightning devnet] per payment (sequential, 20): ${perPayment.toFixed(1)} ms`);
    expect(before - devnet.channelBalance('alice')).toBe(20n * 10_000n);
  });

  it('paying the same invoice twice is refused as "invoice is already paid" (gRPC 6), nothing moves', async () => {
    const invoice = await createInvoice({ lnd: devnet.nodes.bob.lnd, tokens: 100 });
    await pay({ lnd: devnet.nodes.alice.lnd, request: invoice.request });
    const before = balances();
    const error = await rejection(pay({ lnd: devnet.nodes.alice.lnd, request: invoice.request }));
    expect(error).toMatchObject([
      503,
      'UnexpectedPaymentError',
      { err: { code: 6, details: 'invoice is already paid' } },
    ]);
    // Another payer is refused by the destination, as lnd's payee does for a settled invoice.
    const byCarol = await rejection(pay({ lnd: devnet.nodes.carol.lnd, request: invoice.request }));
    expect(byCarol).toEqual([503, 'PaymentRejectedByDestination']);
    expect(balances()).toEqual(before);
  });

  it('the same invoice paid twice at once settles once and moves the balance once', async () => {
    const invoice = await createInvoice({ lnd: devnet.nodes.bob.lnd, tokens: 777 });
    const before = balances();
    const results = await Promise.allSettled([
      pay({ lnd: devnet.nodes.alice.lnd, request: invoice.request }),
      pay({ lnd: devnet.nodes.alice.lnd, request: invoice.request }),
      pay({ lnd: devnet.nodes.carol.lnd, request: invoice.request }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(before.bob + 777_000n).toBe(devnet.channelBalance('bob'));
    expect(before.alice + before.carol - 777_000n).toBe(
      devnet.channelBalance('alice') + devnet.channelBalance('carol'),
    );
    expect((await getInvoice({ lnd: devnet.nodes.bob.lnd, id: invoice.id })).received_mtokens).toBe('777000');
  });

  it('a malformed or foreign-network payment request is refused by DecodePayReq and SendPaymentV2', async () => {
    const mainnet = bolt11.sign(
      bolt11.encode({
        satoshis: 10,
        tags: [
          { tagName: 'payment_hash', data: randomBytes(32).toString('hex') },
          { tagName: 'payment_secret', data: randomBytes(32).toString('hex') },
        ],
      }),
      randomBytes(32),
    ).paymentRequest;
    expect(mainnet?.startsWith('lnbc1')).toBe(true);
    expect(
      await rejection(decodePaymentRequest({ lnd: devnet.nodes.alice.lnd, request: mainnet ?? '' })),
    ).toMatchObject([
      503,
      'UnexpectedDecodePaymentRequestError',
      { err: { details: "invoice not for current active network 'regtest'" } },
    ]);
    expect(
      await rejection(decodePaymentRequest({ lnd: devnet.nodes.alice.lnd, request: 'lnbcrt1garbage' })),
    ).toMatchObject([503, 'UnexpectedDecodePaymentRequestError', { err: { code: 2 } }]);
    const before = balances();
    expect(await rejection(pay({ lnd: devnet.nodes.alice.lnd, request: mainnet ?? '' }))).toMatchObject([
      503,
      'UnexpectedPaymentError',
      { err: { details: "invoice not for current active network 'regtest'" } },
    ]);
    expect(balances()).toEqual(before);
  });

  it('an expired invoice is refused, nothing moves', async () => {
    const invoice = await createInvoice({
      lnd: devnet.nodes.bob.lnd,
      tokens: 100,
      expires_at: new Date(Date.now() + 1_000).toISOString(),
    });
    await new Promise((r) => setTimeout(r, Date.parse(invoice.created_at) + 2_100 - Date.now()));
    const decoded = await decodePaymentRequest({ lnd: devnet.nodes.alice.lnd, request: invoice.request });
    expect(Date.parse(decoded.expires_at)).toBeLessThan(Date.now());
    const before = balances();
    const error = await rejection(pay({ lnd: devnet.nodes.alice.lnd, request: invoice.request }));
    expect(error).toMatchObject([
      503,
      'UnexpectedPaymentError',
      { err: { details: expect.stringMatching(/^invoice expired/) } },
    ]);
    expect(balances()).toEqual(before);
    expect((await getInvoice({ lnd: devnet.nodes.bob.lnd, id: invoice.id })).is_confirmed).toBe(false);
  });

  it('carol cannot pay more than her balance: insufficient balance, nothing moves', async () => {
    const invoice = await createInvoice({ lnd: devnet.nodes.bob.lnd, tokens: 5_000 });
    const before = balances();
    expect(before.carol).toBe(1_000_000n);
    const error = await rejection(pay({ lnd: devnet.nodes.carol.lnd, request: invoice.request, max_fee: 10 }));
    expect(error).toEqual([503, 'InsufficientBalanceToAttemptPayment']);
    expect(balances()).toEqual(before);
    expect((await getInvoice({ lnd: devnet.nodes.bob.lnd, id: invoice.id })).is_confirmed).toBe(false);
    // ...but she can pay within it.
    const small = await createInvoice({ lnd: devnet.nodes.bob.lnd, tokens: 400 });
    await pay({ lnd: devnet.nodes.carol.lnd, request: small.request, max_fee: 0 });
    expect(devnet.channelBalance('carol')).toBe(before.carol - 400_000n);
  });

  it('an any-amount invoice is paid the amount the payer names', async () => {
    const invoice = await createInvoice({ lnd: devnet.nodes.bob.lnd });
    const before = devnet.channelBalance('bob');
    const paid = await pay({ lnd: devnet.nodes.alice.lnd, request: invoice.request, tokens: 321 });
    expect(paid.tokens).toBe(321);
    expect(devnet.channelBalance('bob') - before).toBe(321_000n);
    expect((await getInvoice({ lnd: devnet.nodes.bob.lnd, id: invoice.id })).received_mtokens).toBe('321000');
  });

  it('paying a node that is not in the ledger finds no route', async () => {
    const stranger = randomBytes(32);
    const request = encodeInvoice({
      privateKey: stranger,
      paymentHash: randomBytes(32),
      paymentSecret: randomBytes(32),
      amountMsat: 1_000n,
      description: '',
      timestamp: Math.floor(Date.now() / 1000),
      expirySeconds: 600,
      finalCltvDelta: 40,
    });
    const before = balances();
    const error = await rejection(pay({ lnd: devnet.nodes.alice.lnd, request }));
    expect(error).toEqual([503, 'PaymentPathfindingFailedToFindPossibleRoute']);
    expect(balances()).toEqual(before);
  });

  it('refuses calls with a wrong, forged, expired-caveat or missing macaroon', async () => {
    const alice = devnet.nodes.alice;
    const withMacaroon = (macaroon: string | undefined) =>
      authenticatedLndGrpc({ cert: alice.cert, socket: alice.socket, ...(macaroon === undefined ? {} : { macaroon }) })
        .lnd;
    const signatureMismatch = { err: { details: 'verification failed: signature mismatch after caveat verification' } };

    // bob's (valid) macaroon presented to alice
    expect(await rejection(getWalletInfo({ lnd: withMacaroon(devnet.nodes.bob.macaroon) }))).toMatchObject([
      503,
      'GetWalletInfoErr',
      signatureMismatch,
    ]);
    // alice's identifier, signed with another root key
    const forged = macaroonToHex(
      createMacaroon({
        rootKey: randomBytes(32),
        identifier: macaroonFromHex(alice.macaroon).identifier,
        location: 'lnd',
      }),
    );
    expect(await rejection(getWalletInfo({ lnd: withMacaroon(forged) }))).toMatchObject([
      503,
      'GetWalletInfoErr',
      signatureMismatch,
    ]);
    // alice's macaroon with a caveat whose signature chain is right but whose condition has passed
    const expired = macaroonToHex(
      addFirstPartyCaveat(macaroonFromHex(alice.macaroon), `time-before ${new Date(Date.now() - 1_000).toISOString()}`),
    );
    expect(await rejection(getWalletInfo({ lnd: withMacaroon(expired) }))).toMatchObject([
      503,
      'GetWalletInfoErr',
      { err: { details: expect.stringMatching(/not satisfied/) } },
    ]);
    const stillValid = macaroonToHex(
      addFirstPartyCaveat(
        macaroonFromHex(alice.macaroon),
        `time-before ${new Date(Date.now() + 60_000).toISOString()}`,
      ),
    );
    expect((await getWalletInfo({ lnd: withMacaroon(stillValid) })).public_key).toBe(alice.publicKey);
    // no macaroon at all
    expect(await rejection(getWalletInfo({ lnd: withMacaroon(undefined) }))).toMatchObject([
      503,
      'GetWalletInfoErr',
      { err: { details: 'expected 1 macaroon, got 0' } },
    ]);
    // streams are guarded too, and the refusal arrives (no hang)
    const invoice = await createInvoice({ lnd: devnet.nodes.bob.lnd, tokens: 1 });
    expect(
      await rejection(pay({ lnd: withMacaroon(devnet.nodes.bob.macaroon), request: invoice.request })),
    ).toMatchObject([503, 'UnexpectedPaymentError', signatureMismatch]);
  });

  it('an unknown invoice is NOT_FOUND "unable to locate invoice"', async () => {
    const error = await rejection(getInvoice({ lnd: devnet.nodes.bob.lnd, id: randomBytes(32).toString('hex') }));
    expect(error).toMatchObject([
      503,
      'UnexpectedLookupInvoiceErr',
      { err: { code: 5, details: 'unable to locate invoice' } },
    ]);
  });

  it('getChannels lists the fully connected ledger', async () => {
    const { channels } = await getChannels({ lnd: devnet.nodes.alice.lnd });
    expect(channels.map((c) => c.partner_public_key).sort()).toEqual(
      [devnet.nodes.bob.publicKey, devnet.nodes.carol.publicKey].sort(),
    );
    const withBob = channels.find((c) => c.partner_public_key === devnet.nodes.bob.publicKey);
    expect(BigInt(withBob?.local_balance ?? 0) * 1000n).toBe(devnet.channelBalanceWith('alice', 'bob'));
  });
});
