/**
 * The fake rail of the core tests (in-memory ledger, HMAC-signed payloads) through the conformance kit: the
 * smallest adapter that passes it.
 */
import { describeRailConformance } from '../../src/testing/index';
import { createFakeLedger, fakeRail } from '../unit/support/fakeRail';

await describeRailConformance('fake-exact (in-memory)', () => {
  const ledger = createFakeLedger();
  const rail = fakeRail({ ledger, payTo: 'merchant' });
  const wallet = ledger.open('alice', 1_000_000n);
  const secondWallet = ledger.open('bob', 1_000_000n);
  return {
    server: rail,
    client: rail,
    wallet,
    secondWallet,
    offer: { amount: 1_000n },
    balances: async () => ({ payer: ledger.balanceOf('alice'), payee: ledger.balanceOf('merchant') }),
    payer: 'alice',
    payee: 'merchant',
    checkSettlement(receipt) {
      const transfer = ledger.transfers.find((t) => t.reference === receipt.reference);
      if (
        transfer?.from !== receipt.payer ||
        transfer.to !== receipt.payee ||
        transfer.amount !== BigInt(receipt.amount)
      ) {
        throw new Error(`No ledger transfer matches receipt ${receipt.reference}.`);
      }
    },
    variants: { payTo: 'mallory', asset: 'OTHER' },
    skip: { expired: 'fake payments carry no validity window' },
    expectReasons: {
      wrongAmount: 'invalid_signature',
      wrongPayee: 'invalid_signature',
      wrongNetwork: 'invalid_signature',
      wrongAsset: 'invalid_signature',
      tamperedPayload: 'invalid_signature',
      replayed: 'payment_already_used',
    },
  };
});
