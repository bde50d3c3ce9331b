import {
  ConfigurationError,
  defineClientRail,
  type ClientRail,
  type MppClientRail,
  type PaymentRequirements,
  type Wallet,
} from '../../src/index';
import { lightningMppChargeClient } from './mppCharge';
import { LIGHTNING_RAIL_ID } from './invoiceState';
import { payInvoice } from './payInvoice';
import { isLightningWallet, type LightningWallet } from './wallet';

/** Parameters of {@link lightningClient}. */
export type LightningClientParameters = {
  /** Most routing fee per payment, msat (default: 1% of the amount, at least 1,000 msat). Fees are not counted in budgets. */
  maxFeeMsat?: bigint;
  /** Most this client pays for one invoice, msat (the spending policy's caps apply as well). */
  maxAmountMsat?: bigint;
};

function walletOf(wallet: Wallet): LightningWallet {
  if (!isLightningWallet(wallet))
    throw new ConfigurationError('The Lightning rail needs a wallet made by lightningWallet(lnd).');
  return wallet;
}

function stringExtra(req: PaymentRequirements, key: string): string | undefined {
  const value = req.extra[key];
  return typeof value === 'string' ? value : undefined;
}

/**
 * Client rail for Lightning offers (`exact`, `msat`, `bip122:*`, a BOLT11 invoice in `extra`). It pays while
 * creating the payment (`paysOnCreate`): decodes the invoice on the payer's node, checks amount, payment hash
 * and payee against the offer, pays under the fee cap, and returns `{ preimage, macaroon }`. A refused or
 * failed payment throws PaymentInvalidError (e.g. `insufficient_balance`) with nothing paid.
 *
 * @example
 * const pay = payingFetch(fetch, { adapters: [lightningClient({ maxFeeMsat: 2_000n })], wallets: [lightningWallet(lnd)] });
 */
export function lightningClient(parameters: LightningClientParameters = {}): ClientRail & MppClientRail {
  return defineClientRail({
    id: LIGHTNING_RAIL_ID,
    walletKind: 'lightning',
    paysOnCreate: true,
    mpp: lightningMppChargeClient(parameters),
    supports: (req) =>
      req.scheme === 'exact' &&
      req.network.startsWith('bip122:') &&
      req.asset === 'msat' &&
      stringExtra(req, 'invoice') !== undefined,
    async createPayment(req, w, ctx) {
      const wallet = walletOf(w);
      const invoice = stringExtra(req, 'invoice');
      if (invoice === undefined)
        throw new ConfigurationError('The Lightning offer carries no invoice in extra.invoice.');
      const amountMsat = BigInt(req.amount);
      const paymentHash = stringExtra(req, 'paymentHash');
      const { preimage } = await payInvoice({
        lnd: wallet.lnd,
        invoice,
        amountMsat,
        ...(paymentHash === undefined ? {} : { paymentHash }),
        destination: req.payTo,
        ...(parameters.maxFeeMsat === undefined ? {} : { maxFeeMsat: parameters.maxFeeMsat }),
        ...(parameters.maxAmountMsat === undefined ? {} : { maxAmountMsat: parameters.maxAmountMsat }),
        now: ctx.now,
      });
      const macaroon = stringExtra(req, 'macaroon');
      return macaroon === undefined ? { preimage } : { preimage, macaroon };
    },
  });
}
