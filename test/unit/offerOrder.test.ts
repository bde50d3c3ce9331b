import { describe, expect, it } from 'vitest';
import type { PaymentRequirements } from '../../src/protocol/schemas';
import { offerOrder } from '../../src/server/offerOrder';

const offer = (
  network: `${string}:${string}`,
  extra: Record<string, unknown> = {},
  scheme = 'exact',
): PaymentRequirements => ({
  scheme,
  network,
  amount: '10000',
  asset: '0x0000000000000000000000000000000000000001',
  payTo: '0x0000000000000000000000000000000000000002',
  maxTimeoutSeconds: 60,
  extra,
});

describe('offerOrder: what an official client takes first is never our extension', () => {
  it('moves an EIP-2612 offer to just after the last standard offer of its network, keeping every other position', () => {
    const offers = [
      offer('eip155:31337', { assetTransferMethod: 'eip2612' }),
      offer('solana:devnet'),
      offer('eip155:31337'),
      offer('eip155:31337', { assetTransferMethod: 'permit2' }),
    ];
    expect(offerOrder(offers)).toEqual([1, 2, 3, 0]);
    expect(offerOrder([offers[0], offers[2], offers[1]] as PaymentRequirements[])).toEqual([1, 0, 2]);
  });

  it("keeps the route's order when the extension offer has no standard sibling on its network, or is already last", () => {
    expect(offerOrder([offer('eip155:1', { assetTransferMethod: 'eip2612' }), offer('solana:devnet')])).toEqual([0, 1]);
    expect(offerOrder([offer('eip155:1'), offer('eip155:1', { assetTransferMethod: 'eip2612' })])).toEqual([0, 1]);
    expect(offerOrder([offer('eip155:1', { assetTransferMethod: 'eip2612' }), offer('eip155:1', {}, 'upto')])).toEqual([
      0, 1,
    ]);
    // The demo's and the browser page's order (EIP-3009, EIP-2612, Solana, Lightning) stays as it is.
    const listed = [
      offer('eip155:1'),
      offer('eip155:1', { assetTransferMethod: 'eip2612' }),
      offer('solana:devnet'),
      offer('bip122:regtest'),
    ];
    expect(offerOrder(listed)).toEqual([0, 1, 2, 3]);
  });
});
