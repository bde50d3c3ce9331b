import type { CapabilityToken } from '../../src/capabilities/capabilityToken';
import { jwsCapabilityToken } from '../../src/capabilities/jwsCapabilityToken';
import { meteredFetch, type MeteredFetchOptions } from '../../src/client/meteredFetch';
import { payingFetch, type FetchLike, type PayingFetchOptions } from '../../src/client/payingFetch';
import type { ServerRail } from '../../src/core/rail';
import { createReceiptSigner } from '../../src/core/receipt/signer';
import { metering, type Metering } from '../../src/metering/metering';
import type { MeteringRefunder } from '../../src/metering/meteringRefunder';
import { paywall, type Paywall } from '../../src/server/paywall';
import { usageHandler } from './support';

export const ORIGIN = 'http://meter.test';

/** What {@link devnetMetering} returns. */
export type DevnetMetering = {
  pw: Paywall;
  meter: Metering;
  /** The server, in-process. */
  fetch: FetchLike;
  /** A metered client paying with `client` options; `refundDestination` for rails that need one. */
  client(
    options: Pick<PayingFetchOptions, 'adapters' | 'wallets'> & Partial<PayingFetchOptions>,
    refundDestination?: MeteredFetchOptions['refundDestination'],
  ): ReturnType<typeof meteredFetch>;
};

/**
 * `POST /llm` on one devnet rail: the deposit is `deposit` atomic units, a call reserves `maxUnitsPerCall`
 * units at `unitPrice`, the handler reports the `x-units` request header as its usage, refunds by `refunder`;
 * session tokens in `token`'s format (default JWS).
 */
export async function devnetMetering(p: {
  rail: ServerRail;
  deposit: bigint;
  maxUnitsPerCall: bigint;
  unitPrice: bigint;
  refunder: MeteringRefunder;
  token?: CapabilityToken;
}): Promise<DevnetMetering> {
  const signer = await createReceiptSigner();
  const meter = metering({
    token: p.token ?? (await jwsCapabilityToken()),
    signer,
    routes: { 'POST /llm': { maxUnitsPerCall: p.maxUnitsPerCall, unitPrice: p.unitPrice } },
    refunds: { [p.rail.id]: p.refunder },
  });
  const pw = paywall(
    { 'POST /llm': { accepts: [{ rail: p.rail.id, amount: p.deposit }] } },
    { rails: [p.rail], signer, extensions: [meter] },
  );
  const app = pw.wrap(usageHandler);
  const fetch: FetchLike = async (input, init) => app(new Request(input, init));
  return {
    pw,
    meter,
    fetch,
    client: (options, refundDestination) =>
      meteredFetch({
        pay: payingFetch(fetch, { capabilities: false, ...options }),
        fetch,
        ...(refundDestination ? { refundDestination } : {}),
      }),
  };
}
