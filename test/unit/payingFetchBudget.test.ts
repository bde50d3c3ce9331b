import { describe, expect, it } from 'vitest';
import { payingFetch } from '../../src/client/payingFetch';
import { createBudgetLedger } from '../../src/client/budgetLedger';
import { PaymentInvalidError, RailUnavailableError } from '../../src/core/errors';
import type { ClientRail } from '../../src/core/rail';
import { encodePaymentRequiredHeader } from '../../src/protocol/headers';
import type { PaymentRequirements } from '../../src/protocol/schemas';

const ORIGIN = 'https://api.example';
const offer: PaymentRequirements = {
  scheme: 'exact',
  network: 'bip122:0f9188f13cb7b2c71f2a335e3a4fc328',
  amount: '21000',
  asset: 'msat',
  payTo: 'node',
  maxTimeoutSeconds: 60,
  extra: {},
};
const challenge = async () =>
  new Response('{}', {
    status: 402,
    headers: {
      'PAYMENT-REQUIRED': encodePaymentRequiredHeader({
        x402Version: 2,
        resource: { url: `${ORIGIN}/r` },
        accepts: [offer],
      }),
    },
  });

/** A rail that pays while creating the payment (as Lightning does) and then fails with `error`. */
function failingPayer(error: Error, paysOnCreate: boolean): ClientRail {
  return {
    id: 'pays-first',
    walletKind: 'w',
    paysOnCreate,
    supports: () => true,
    createPayment: async () => Promise.reject(error),
  };
}

describe('payingFetch budget when creating the payment fails', () => {
  const budget = { asset: 'msat', limit: 21_000n, window: 'total' as const };
  it.each<[string, Error, boolean, bigint]>([
    [
      'a definite refusal of a pay-on-create rail (nothing paid): released',
      new PaymentInvalidError('insufficient_balance', 'no funds'),
      true,
      0n,
    ],
    [
      'a pay-on-create rail whose node went away mid-payment (may be in flight): kept',
      new RailUnavailableError('node gone'),
      true,
      21_000n,
    ],
    [
      'a rail that pays only when the credential is sent: released whatever failed',
      new RailUnavailableError('rpc down'),
      false,
      0n,
    ],
  ])('%s', async (_label, error, paysOnCreate, kept) => {
    const ledger = createBudgetLedger([budget]);
    const pay = payingFetch(challenge, {
      adapters: [failingPayer(error, paysOnCreate)],
      wallets: [{ kind: 'w' }],
      ledger,
    });
    await expect(pay(`${ORIGIN}/r`)).rejects.toBe(error);
    expect(ledger.used(budget, ORIGIN)).toBe(kept);
  });
});
