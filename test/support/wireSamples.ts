import type { PaymentRequirements } from '../../src/protocol/schemas';

/**
 * A well-formed x402 v2 offer (USDC on Base Sepolia) for codec tests that need a valid starting point.
 *
 * @example encodePaymentSignatureHeader({ x402Version: 2, accepted: sampleOffer, payload: {} })
 */
export const sampleOffer: PaymentRequirements = {
  scheme: 'exact',
  network: 'eip155:84532',
  amount: '10000',
  asset: '0x036CbD53842c5426634e7929541eC2318f3dCF7e',
  payTo: '0x209693Bc6afc0C5328bA36FaF03C514EF312287C',
  maxTimeoutSeconds: 60,
  extra: { name: 'USDC', version: '2' },
};
