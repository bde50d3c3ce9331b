import { describeRailConformance } from '../../../src/testing/index';
import { ledgerRail, ledgerWallet, type Ledger } from './ledgerRail';

await describeRailConformance('ledger-exact', () => {
  const ledger: Ledger = new Map();
  const rail = ledgerRail(ledger, 'shop');
  const alice = ledgerWallet(ledger, 1_000_000n);
  return {
    server: rail,
    client: rail,
    wallet: alice,
    secondWallet: ledgerWallet(ledger, 1_000_000n),
    offer: { amount: 1_000n },
    balances: async () => ({ payer: ledger.get(alice.account) ?? 0n, payee: ledger.get('shop') ?? 0n }),
    payer: alice.account,
    variants: { payTo: 'mallory', asset: 'OTHER' }, // another payee and asset of this rail
    expectReasons: { wrongAmount: 'invalid_signature', expired: 'expired', replayed: 'payment_already_used' },
  };
});
