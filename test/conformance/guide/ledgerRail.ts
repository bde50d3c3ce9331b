import { generateKeyPairSync, createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { ConfigurationError, PaymentInvalidError, canonicalJson } from '../../../src/index';
import type { PaymentRequirements, RailAdapter, RailPayload, VerifyResult, Wallet } from '../../../src/index';

/** A toy ledger: balances by account, an account being the payer's Ed25519 public key (base64url DER). */
export type Ledger = Map<string, bigint>;
export type LedgerWallet = Wallet & { kind: 'ledger'; account: string; key: KeyObject };
type LedgerPayment = { from: string; nonce: string; validBefore: number; signature: string };

/** Opens a funded account and returns its wallet. */
export function ledgerWallet(ledger: Ledger, balance: bigint): LedgerWallet {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const account = publicKey.export({ format: 'der', type: 'spki' }).toString('base64url');
  ledger.set(account, balance);
  return { kind: 'ledger', account, key: privateKey };
}

function isLedgerWallet(wallet: Wallet): wallet is LedgerWallet {
  return wallet.kind === 'ledger' && 'account' in wallet && 'key' in wallet;
}

/** What the payer signs: everything that decides where the money goes, a nonce and a deadline. */
function signedBytes(req: PaymentRequirements, p: Omit<LedgerPayment, 'signature'>): Buffer {
  const { network, asset, amount, payTo } = req;
  return Buffer.from(
    canonicalJson({ network, asset, amount, payTo, from: p.from, nonce: p.nonce, validBefore: p.validBefore }),
  );
}

function parse(payload: RailPayload): LedgerPayment {
  const { from, nonce, validBefore, signature } = payload;
  if (
    typeof from !== 'string' ||
    typeof nonce !== 'string' ||
    typeof validBefore !== 'number' ||
    typeof signature !== 'string'
  ) {
    throw new PaymentInvalidError('invalid_payload', 'A ledger payment is { from, nonce, validBefore, signature }.');
  }
  return { from, nonce, validBefore, signature };
}

function signatureHolds(req: PaymentRequirements, p: LedgerPayment): boolean {
  try {
    const key = createPublicKey({ key: Buffer.from(p.from, 'base64url'), format: 'der', type: 'spki' });
    return verify(null, signedBytes(req, p), key, Buffer.from(p.signature, 'base64url'));
  } catch {
    return false; // not a key, not a signature
  }
}

/** The `ledger-exact` rail: both halves over one in-memory ledger. */
export function ledgerRail(ledger: Ledger, payTo: string): RailAdapter {
  const network = 'ledger:demo';
  const settled = new Map<string, string>(); // payment id → reference
  const check = (p: LedgerPayment, req: PaymentRequirements, now: number): VerifyResult => {
    if (now >= p.validBefore) return { isValid: false, reason: 'expired', message: 'The payment expired; pay again.' };
    if (!signatureHolds(req, p))
      return { isValid: false, reason: 'invalid_signature', message: 'The signature does not cover this offer.' };
    if ((ledger.get(p.from) ?? 0n) < BigInt(req.amount))
      return { isValid: false, reason: 'insufficient_funds', message: 'The payer cannot cover the price.' };
    return { isValid: true, payer: p.from, amount: req.amount };
  };
  return {
    id: 'ledger-exact',
    walletKind: 'ledger',
    supports: (req) => req.scheme === 'exact' && req.network === network,
    quote: async (offer) => ({
      scheme: 'exact',
      network,
      amount: offer.amount.toString(),
      asset: offer.asset ?? 'TOKEN',
      payTo: offer.payTo ?? payTo,
      maxTimeoutSeconds: offer.maxTimeoutSeconds ?? 60,
      extra: { ...offer.extra },
    }),
    paymentId: (payload) => `${parse(payload).from}:${parse(payload).nonce}`,
    verify: async (payload, req, ctx) => check(parse(payload), req, ctx.now),
    async settle(payload, req, ctx) {
      const p = parse(payload);
      const done = settled.get(`${p.from}:${p.nonce}`);
      if (done) return { status: 'settled', reference: done, payer: p.from, amount: req.amount }; // idempotent
      const verdict = check(p, req, ctx.now);
      if (!verdict.isValid) return { status: 'failed', reason: verdict.reason, message: verdict.message };
      const amount = BigInt(req.amount);
      ledger.set(p.from, (ledger.get(p.from) ?? 0n) - amount);
      ledger.set(req.payTo, (ledger.get(req.payTo) ?? 0n) + amount);
      const reference = `ledger-tx-${settled.size + 1}`;
      settled.set(`${p.from}:${p.nonce}`, reference);
      return { status: 'settled', reference, payer: p.from, amount: req.amount };
    },
    async createPayment(req, wallet, ctx) {
      if (!isLedgerWallet(wallet)) throw new ConfigurationError('ledger-exact pays from a ledgerWallet().');
      const p = {
        from: wallet.account,
        nonce: randomBytes(16).toString('hex'),
        validBefore: ctx.now + req.maxTimeoutSeconds * 1000,
      };
      return { ...p, signature: sign(null, signedBytes(req, p), wallet.key).toString('base64url') };
    },
  };
}
