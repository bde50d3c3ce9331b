import type { AuthenticatedLnd } from 'ln-service';
import type { Wallet } from '../../src/index';

/** A Lightning wallet: the payer's node, through ln-service (needs offchain:write and offchain:read). */
export type LightningWallet = Wallet & { readonly kind: 'lightning'; readonly lnd: AuthenticatedLnd };

/**
 * Wraps an ln-service `AuthenticatedLnd` as a payment wallet.
 *
 * @example const wallet = lightningWallet(authenticatedLndGrpc({ cert, macaroon, socket }).lnd);
 */
export function lightningWallet(lnd: AuthenticatedLnd): LightningWallet {
  return { kind: 'lightning', lnd };
}

/** True for a wallet made by {@link lightningWallet}. */
export function isLightningWallet(wallet: Wallet): wallet is LightningWallet {
  return wallet.kind === 'lightning' && 'lnd' in wallet && typeof wallet.lnd === 'object' && wallet.lnd !== null;
}
