import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { canonicalJson } from '../../../src/core/canonical';
import { PaymentInvalidError, RailUnavailableError } from '../../../src/core/errors';
import type { PriceOffer, RailAdapter, RailPayload, SettleResult, VerifyResult, Wallet } from '../../../src/core/rail';
import type { CaipNetwork } from '../../../src/protocol/caip';
import type { PaymentRequirements } from '../../../src/protocol/schemas';

/**
 * An in-memory rail for core tests: scheme `exact` on a fake CAIP-2 network, payload `{ from, nonce, sig }`
 * where `sig` is an HMAC (with the payer's key) over exactly what is paid. Settlement really moves fake
 * money in a {@link FakeLedger} and is idempotent per `from:nonce`.
 */

export const FAKE_NETWORK: CaipNetwork = 'fakenet:1';
export const FAKE_ASSET = 'FAKE';

/** A fake wallet: an address and its HMAC key. */
export type FakeWallet = Wallet & { kind: 'fake'; address: string; key: Buffer };

/** A ledger of fake balances shared by a rail's server and client halves. */
export type FakeLedger = {
  balances: Map<string, bigint>;
  /** Every transfer the ledger made, in order. */
  transfers: Array<{ paymentId: string; from: string; to: string; amount: bigint; reference: string }>;
  /** Creates a funded account and its wallet. */
  open(address: string, balance: bigint): FakeWallet;
  balanceOf(address: string): bigint;
  /** Public keys (here: HMAC keys) by address, as a chain would know them. */
  keys: Map<string, Buffer>;
};

export function createFakeLedger(): FakeLedger {
  const balances = new Map<string, bigint>();
  const keys = new Map<string, Buffer>();
  return {
    balances,
    keys,
    transfers: [],
    open(address, balance) {
      const key = randomBytes(32);
      balances.set(address, balance);
      keys.set(address, key);
      return { kind: 'fake', address, key };
    },
    balanceOf: (address) => balances.get(address) ?? 0n,
  };
}

/** Knobs for failure injection. */
export type FakeRailOptions = {
  ledger: FakeLedger;
  id?: string;
  network?: CaipNetwork;
  payTo?: string;
  /** Throw from quote (the rail's node is "down"). */
  failQuote?: () => boolean;
  /** Count of calls, for assertions. */
  calls?: { quote: number; verify: number; settle: number };
  /** Delay settle by this many ms (to widen race windows). */
  settleDelayMs?: number;
  /** Failure injection: runs before settle moves money; may throw or return a result to answer instead. */
  beforeSettle?: () => SettleResult | undefined;
  /** Failure injection: runs before verify; may throw. */
  beforeVerify?: () => void;
  /**
   * Record each transfer in `ledger.transfers` and remember settled payments (default true). `false` keeps the
   * rail's memory flat for long runs (the memory benchmark); settle is then idempotent only through the store.
   */
  keepHistory?: boolean;
};

type FakePayload = { from: string; nonce: string; sig: string };

function parsePayload(payload: RailPayload): FakePayload {
  const { from, nonce, sig } = payload;
  if (
    typeof from !== 'string' ||
    typeof nonce !== 'string' ||
    typeof sig !== 'string' ||
    !/^[0-9a-f]{32}$/.test(nonce)
  ) {
    throw new PaymentInvalidError(
      'invalid_payload',
      'The fake payload needs string from, sig and a 16-byte hex nonce.',
    );
  }
  return { from, nonce, sig };
}

function signedPart(req: PaymentRequirements, from: string, nonce: string): string {
  return canonicalJson({ from, nonce, network: req.network, asset: req.asset, amount: req.amount, payTo: req.payTo });
}

function sign(key: Buffer, req: PaymentRequirements, from: string, nonce: string): string {
  return createHmac('sha256', key)
    .update(signedPart(req, from, nonce))
    .digest('hex');
}

export function isFakeWallet(wallet: Wallet): wallet is FakeWallet {
  const w: Partial<Record<string, unknown>> = { ...wallet };
  return wallet.kind === 'fake' && typeof w.address === 'string' && Buffer.isBuffer(w.key);
}

/** Makes a `fake-exact` rail (server and client halves) over `ledger`. */
export function fakeRail(options: FakeRailOptions): RailAdapter {
  const { ledger } = options;
  const id = options.id ?? 'fake-exact';
  const network = options.network ?? FAKE_NETWORK;
  const settledByPayment = new Map<string, string>();
  const keepHistory = options.keepHistory ?? true;
  let transfers = 0;
  const calls = options.calls ?? { quote: 0, verify: 0, settle: 0 };

  const check = (p: FakePayload, req: PaymentRequirements): VerifyResult => {
    const key = ledger.keys.get(p.from);
    if (!key) return { isValid: false, reason: 'unknown_payer', message: `No account ${p.from}.` };
    const expected = Buffer.from(sign(key, req, p.from, p.nonce), 'hex');
    const got = Buffer.from(p.sig, 'hex');
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
      return {
        isValid: false,
        reason: 'invalid_signature',
        message: 'The signature does not cover this offer.',
        payer: p.from,
      };
    }
    if (ledger.balanceOf(p.from) < BigInt(req.amount)) {
      return {
        isValid: false,
        reason: 'insufficient_funds',
        message: `${p.from} cannot pay ${req.amount}.`,
        payer: p.from,
      };
    }
    return { isValid: true, payer: p.from, amount: req.amount };
  };

  return {
    id,
    walletKind: 'fake',
    supports: (req) => req.scheme === 'exact' && req.network === network,
    async quote(offer: PriceOffer): Promise<PaymentRequirements> {
      calls.quote++;
      if (options.failQuote?.()) throw new RailUnavailableError(`${id} is down.`, { rail: id });
      return {
        scheme: 'exact',
        network,
        amount: offer.amount.toString(),
        asset: offer.asset ?? FAKE_ASSET,
        payTo: offer.payTo ?? options.payTo ?? 'merchant',
        maxTimeoutSeconds: offer.maxTimeoutSeconds ?? 60,
        extra: { ...offer.extra },
      };
    },
    paymentId(payload) {
      const p = parsePayload(payload);
      return `${p.from}:${p.nonce}`;
    },
    async verify(payload, req) {
      calls.verify++;
      options.beforeVerify?.();
      return check(parsePayload(payload), req);
    },
    async settle(payload, req): Promise<SettleResult> {
      calls.settle++;
      const p = parsePayload(payload);
      const paymentId = `${p.from}:${p.nonce}`;
      if (options.settleDelayMs) await new Promise((resolve) => setTimeout(resolve, options.settleDelayMs));
      const injected = options.beforeSettle?.();
      if (injected) return injected;
      const done = settledByPayment.get(paymentId);
      if (done) return { status: 'settled', reference: done, payer: p.from, amount: req.amount };
      const verdict = check(p, req);
      if (!verdict.isValid) return { status: 'failed', reason: verdict.reason, message: verdict.message };
      const amount = BigInt(req.amount);
      const reference = `fake-tx-${++transfers}`;
      ledger.balances.set(p.from, ledger.balanceOf(p.from) - amount);
      ledger.balances.set(req.payTo, ledger.balanceOf(req.payTo) + amount);
      if (keepHistory) {
        ledger.transfers.push({ paymentId, from: p.from, to: req.payTo, amount, reference });
        settledByPayment.set(paymentId, reference);
      }
      return { status: 'settled', reference, payer: p.from, amount: req.amount };
    },
    async createPayment(req, wallet) {
      if (!isFakeWallet(wallet)) throw new TypeError('fake-exact pays from a fake wallet');
      const nonce = randomBytes(16).toString('hex');
      return { from: wallet.address, nonce, sig: sign(wallet.key, req, wallet.address, nonce) };
    },
  };
}
