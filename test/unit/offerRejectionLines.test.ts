/**
 * The "no acceptable offer" list tells the four EVM offers of one token apart: EIP-3009 (`exact`), EIP-2612
 * (`exact/eip2612`), Permit2 (`exact/permit2`) and upto (`upto/permit2`), each on its own line with its reason.
 */
import { describe, expect, it } from 'vitest';
import { NoAcceptableOfferError, negotiate, type PaymentRequirements } from '../../src/index';

const TOKEN = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const base = {
  network: 'eip155:31337' as const,
  amount: '10000',
  asset: TOKEN,
  payTo: `0x${'3c'.repeat(20)}`,
  maxTimeoutSeconds: 60,
};
const offers: PaymentRequirements[] = [
  { ...base, scheme: 'exact', extra: { name: 'Rails USD', version: '2' } },
  { ...base, scheme: 'exact', extra: { assetTransferMethod: 'eip2612' } },
  { ...base, scheme: 'exact', extra: { assetTransferMethod: 'permit2' } },
  { ...base, scheme: 'upto', extra: { assetTransferMethod: 'permit2' } },
];

describe('NoAcceptableOfferError lines', () => {
  it('name each offer by scheme and transfer method', () => {
    const { candidates, rejections } = negotiate({ offers, rails: [], wallets: [], policy: {}, origin: 'http://x' });
    expect(candidates).toEqual([]);
    const message = new NoAcceptableOfferError(rejections, 'http://x/report').message;
    const lines = message.split('\n').slice(1);
    expect(lines).toEqual([
      `  #0 exact eip155:31337 10000 ${TOKEN}: no_adapter (no rail adapter of this client supports this scheme and network)`,
      `  #1 exact/eip2612 eip155:31337 10000 ${TOKEN}: no_adapter (no rail adapter of this client supports this scheme and network)`,
      `  #2 exact/permit2 eip155:31337 10000 ${TOKEN}: no_adapter (no rail adapter of this client supports this scheme and network)`,
      `  #3 upto/permit2 eip155:31337 10000 ${TOKEN}: no_adapter (no rail adapter of this client supports this scheme and network)`,
    ]);
  });
});
