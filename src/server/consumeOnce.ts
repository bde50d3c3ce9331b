import { speaksMppServer } from '../core/mppRail';
import type { ServerRail } from '../core/rail';
import type { SignedReceipt } from '../core/receipt/receipt';
import type { PaidRequest } from './paymentFlow';

/**
 * Consume-once credentials (MPP methods whose specification says so: Lightning charge). The draft marks the
 * challenge consumed atomically with the first success: a consumed credential is never accepted again — the
 * identical request included, concurrent presentations get one success — and since its preimage is a bearer
 * secret, the payment it made buys nothing more through another protocol (L402 reuse, a replay) either.
 */

/** True when `paid` presents a credential of an MPP method that consumes it once. */
export function consumesOnce(paid: PaidRequest, rail: ServerRail): boolean {
  return paid.source.kind === 'mpp' && speaksMppServer(rail) && rail.mpp.consumeOnce === true;
}

/** True when a settled receipt was issued for a consume-once MPP credential. */
export function consumedOnce(receipt: SignedReceipt, rail: ServerRail): boolean {
  return receipt.protocol === 'mpp' && speaksMppServer(rail) && rail.mpp.consumeOnce === true;
}
