import { capabilityHeaders } from '../capabilities/capabilityHeaders';
import type { CapabilityClaims } from '../capabilities/capabilityClaims';
import { peekCapabilityClaims } from '../capabilities/peekCapabilityClaims';
import { compileRouteKey, matchRoute } from '../core/routeMatch';
import { discardBody } from './discardBody';

/** One capability a client holds. */
export type HeldCapability = {
  token: string;
  /** Its claims as read without a key (the server authenticates them). */
  claims: CapabilityClaims;
  /** Calls left as the server last said (`X402-Capability-Remaining`); undefined until known or when uncounted. */
  remaining: number | undefined;
};

/** Sends the request, with extra headers. */
export type SendRequest = (headers?: Record<string, string>) => Promise<Response>;

/** Options of {@link createCapabilityWallet}. */
export type CapabilityWalletOptions = {
  /** Most capabilities kept per origin; the oldest is dropped beyond (default 64). */
  maxPerOrigin?: number;
};

/** Capabilities a client bought, kept per origin and scope; see {@link createCapabilityWallet}. */
export type CapabilityWallet = {
  /**
   * Sends a request, presenting a held capability that covers it. A capability the server refuses
   * (`X402-Capability-Error`: exhausted, expired, revoked, …) is dropped and the server's answer returned
   * (a 402 with a fresh challenge, which the caller pays as usual); one refused as malformed (400) is dropped
   * and the request sent again without it. Rate-limited (429) capabilities are kept.
   */
  send(url: string, method: string, send: SendRequest, now: number): Promise<Response>;
  /** Keeps the capability a (paid) response carries in `X402-Capability`, bought for `url`. */
  keep(url: string, response: Response): void;
  /** The capabilities held for an origin. */
  held(origin: string): readonly HeldCapability[];
  /** Forgets one capability. */
  drop(token: string): void;
};

type Entry = HeldCapability & { routes: Array<ReturnType<typeof compileRouteKey>> };

/**
 * An in-memory wallet of capability credentials for `payingFetch`: after a paid response carries
 * `X402-Capability`, later requests to the same origin whose method and path fall in the capability's scope
 * present it instead of paying, until the server says it ran out, expired or was revoked (or the client
 * sees it expire or reach zero calls left); then the client pays again under its policy.
 *
 * @example
 * const pay = payingFetch(fetch, { adapters, wallets, capabilities: createCapabilityWallet() });
 */
export function createCapabilityWallet(options: CapabilityWalletOptions = {}): CapabilityWallet {
  const maxPerOrigin = options.maxPerOrigin ?? 64;
  const byOrigin = new Map<string, Entry[]>();

  function select(url: URL, method: string, now: number): Entry | undefined {
    const entries = byOrigin.get(url.origin);
    if (!entries) return undefined;
    const upper = method.toUpperCase();
    for (const entry of [...entries]) {
      if (entry.claims.exp * 1000 <= now || entry.remaining === 0) {
        drop(entry.token);
        continue;
      }
      const methodOk =
        entry.claims.scope.methods.includes(upper) || (upper === 'HEAD' && entry.claims.scope.methods.includes('GET'));
      if (methodOk && matchRoute(entry.routes, upper, url.pathname)) return entry;
    }
    return undefined;
  }

  function drop(token: string): void {
    for (const [origin, entries] of byOrigin) {
      const kept = entries.filter((e) => e.token !== token);
      if (kept.length === 0) byOrigin.delete(origin);
      else if (kept.length !== entries.length) byOrigin.set(origin, kept);
    }
  }

  function keep(url: string, response: Response): void {
    const token = response.headers.get(capabilityHeaders.capability);
    if (token === null) return;
    const claims = peekCapabilityClaims(token);
    if (!claims) return;
    let routes: Entry['routes'];
    try {
      routes = claims.scope.routes.map(compileRouteKey);
    } catch {
      return;
    }
    const origin = new URL(url).origin;
    const entries = (byOrigin.get(origin) ?? []).filter((e) => e.token !== token);
    entries.push({ token, claims, remaining: claims.calls, routes });
    byOrigin.set(origin, entries.slice(-maxPerOrigin));
  }

  return {
    async send(url, method, send, now) {
      const entry = select(new URL(url), method, now);
      if (!entry) return send();
      const response = await send({ [capabilityHeaders.capability]: entry.token });
      const refusal = response.headers.get(capabilityHeaders.error);
      if (refusal !== null) {
        if (response.status === 429) return response;
        drop(entry.token);
        if (response.status !== 400) return response;
        discardBody(response);
        return send();
      }
      const remaining = Number(response.headers.get(capabilityHeaders.remaining) ?? Number.NaN);
      if (Number.isSafeInteger(remaining) && remaining >= 0) entry.remaining = remaining;
      return response;
    },
    keep,
    held: (origin) => byOrigin.get(origin) ?? [],
    drop,
  };
}
