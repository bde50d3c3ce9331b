/**
 * The first-party caveats of our L402 tokens, Aperture-style (`services=<name>:<tier>`,
 * `<name>_<condition>=<value>`). A token binds one route (URL path), its method(s), its price and an expiry.
 * A holder may add caveats (they only narrow: every occurrence of a condition must hold); any condition we
 * do not know refuses the token.
 *
 *   services=x402:0
 *   x402_route=/weather/paris
 *   x402_method=GET
 *   x402_amount_msat=21000
 *   x402_valid_until=1767225600
 */

/** What a token's caveats must be checked against. */
export type L402CaveatContext = {
  /** Service name the caveats are scoped to (default `x402`). */
  serviceName: string;
  /** URL path of the request. */
  path: string;
  /** Upper-case HTTP method of the request. */
  method: string;
  /** Price the token must have been issued for, msat (decimal string). */
  amountMsat: string;
  /** Current time, unix seconds. */
  nowSeconds: number;
};

/** What a token grants, for minting. */
export type L402Grant = { serviceName: string; path: string; method: string; amountMsat: string; validUntil: number };

/** A caveat check failure: `caveat_failed` (route, method, amount, service, unknown condition) or `macaroon_expired`. */
export type L402CaveatFailure = { reason: 'caveat_failed' | 'macaroon_expired'; message: string };

const REQUIRED = ['services', 'route', 'method', 'amount_msat', 'valid_until'] as const;
type Condition = (typeof REQUIRED)[number];

/**
 * The caveats of a new token, in order.
 *
 * @example l402Caveats({ serviceName: 'x402', path: '/report', method: 'GET', amountMsat: '21000', validUntil: 1767225600 })
 */
export function l402Caveats(grant: L402Grant): string[] {
  const s = grant.serviceName;
  return [
    `services=${s}:0`,
    `${s}_route=${grant.path}`,
    `${s}_method=${grant.method}`,
    `${s}_amount_msat=${grant.amountMsat}`,
    `${s}_valid_until=${grant.validUntil}`,
  ];
}

function conditionOf(caveat: string, serviceName: string): { condition: Condition; value: string } | undefined {
  const eq = caveat.indexOf('=');
  if (eq <= 0) return undefined;
  const name = caveat.slice(0, eq).trim();
  const value = caveat.slice(eq + 1).trim();
  if (name === 'services') return { condition: 'services', value };
  const prefix = `${serviceName}_`;
  if (!name.startsWith(prefix)) return undefined;
  const condition = REQUIRED.find((c) => c !== 'services' && c === name.slice(prefix.length));
  return condition ? { condition, value } : undefined;
}

/**
 * The first value of each known condition (what the token was issued for), e.g. to rebuild the offer it paid.
 *
 * @example l402CaveatValues(firstPartyCaveats(m), 'x402').amount_msat // '21000'
 */
export function l402CaveatValues(caveats: readonly string[], serviceName: string): Partial<Record<Condition, string>> {
  const out: Partial<Record<Condition, string>> = {};
  for (const caveat of caveats) {
    const c = conditionOf(caveat, serviceName);
    if (c && out[c.condition] === undefined) out[c.condition] = c.value;
  }
  return out;
}

/**
 * Checks every caveat against the request. Returns the first failure, or undefined when all hold.
 *
 * @example
 * const failure = checkL402Caveats(firstPartyCaveats(m), { serviceName: 'x402', path: '/report', method: 'GET', amountMsat: '21000', nowSeconds });
 */
export function checkL402Caveats(caveats: readonly string[], ctx: L402CaveatContext): L402CaveatFailure | undefined {
  const seen = new Set<Condition>();
  const failed = (message: string): L402CaveatFailure => ({ reason: 'caveat_failed', message });
  for (const caveat of caveats) {
    const c = conditionOf(caveat, ctx.serviceName);
    if (!c)
      return failed(
        `The token carries a caveat this server does not know ("${caveat.slice(0, 64)}"); it cannot be honoured.`,
      );
    seen.add(c.condition);
    switch (c.condition) {
      case 'services': {
        const names = c.value.split(',').map((s) => s.trim().split(':')[0]);
        if (!names.includes(ctx.serviceName))
          return failed(`The token is not valid for the service "${ctx.serviceName}".`);
        break;
      }
      case 'route':
        if (c.value !== ctx.path)
          return failed(
            `The token was issued for another route; it does not cover ${ctx.path}. Pay this route's own challenge.`,
          );
        break;
      case 'method':
        if (
          !c.value
            .split(',')
            .map((m) => m.trim().toUpperCase())
            .includes(ctx.method)
        )
          return failed(`The token does not cover the method ${ctx.method}.`);
        break;
      case 'amount_msat':
        if (c.value !== ctx.amountMsat)
          return failed(`The token was issued for ${c.value} msat, not the ${ctx.amountMsat} msat of this offer.`);
        break;
      case 'valid_until': {
        if (!/^[0-9]{1,12}$/.test(c.value)) return failed('The token carries a malformed expiry caveat.');
        if (Number(c.value) < ctx.nowSeconds)
          return { reason: 'macaroon_expired', message: 'The token has expired. Pay a fresh challenge.' };
        break;
      }
    }
  }
  const missing = REQUIRED.find((c) => !seen.has(c));
  if (missing) return failed(`The token lacks its ${missing} caveat, so this server did not issue it as presented.`);
  return undefined;
}
