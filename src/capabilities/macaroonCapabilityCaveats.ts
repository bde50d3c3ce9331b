import { CapabilityClaimsSchema, type CapabilityClaims } from './capabilityClaims';

/** Location written into capability macaroons; it tells them apart from L402 and lnd macaroons. */
export const CAPABILITY_MACAROON_LOCATION = 'x402-capability';

const IDENTIFIER_PREFIX = 'v1:';

/** Caveats a holder may add again to narrow the capability (attenuation); the others appear once. */
const NARROWING = new Set(['exp', 'routes', 'methods']);
const ONCE = new Set(['iss', 'sub', 'calls', 'amount_cap', 'rate_limit', 'iat', 'receipt', 'rail']);

/**
 * The macaroon identifier of a capability: its `jti`, versioned.
 *
 * @example capabilityMacaroonIdentifier('abc123') // 'v1:abc123'
 */
export function capabilityMacaroonIdentifier(jti: string): string {
  return `${IDENTIFIER_PREFIX}${jti}`;
}

/**
 * Claims as first-party caveats (`key=value`), in a fixed order: `iss`, `sub`, `routes` (JSON array of
 * route keys), `methods` (comma-separated), `calls`, `amount_cap`, `rate_limit`, `iat`, `exp`, `receipt`,
 * `rail`. The `jti` is the macaroon's identifier.
 *
 * @example claimsToCaveats(claims) // ['iss=https://api.example', 'sub=0xabc…', 'routes=["GET /a"]', …]
 */
export function claimsToCaveats(claims: CapabilityClaims): string[] {
  const caveats = [
    `iss=${claims.iss}`,
    `sub=${claims.sub}`,
    `routes=${JSON.stringify(claims.scope.routes)}`,
    `methods=${claims.scope.methods.join(',')}`,
  ];
  if (claims.calls !== undefined) caveats.push(`calls=${claims.calls}`);
  if (claims.amountCap !== undefined) caveats.push(`amount_cap=${claims.amountCap}`);
  if (claims.rateLimit !== undefined) caveats.push(`rate_limit=${claims.rateLimit}`);
  caveats.push(`iat=${claims.iat}`, `exp=${claims.exp}`, `receipt=${claims.receipt}`, `rail=${claims.rail}`);
  return caveats;
}

/**
 * Reads claims back from a capability macaroon's identifier and first-party caveats. Caveats a holder
 * appended only narrow: a later `exp` can only be earlier, later `routes` / `methods` intersect. Any unknown
 * caveat, a repeated one-time caveat or a value that does not parse refuses the whole macaroon (fail
 * closed, as macaroon verifiers do).
 *
 * @example const read = claimsFromCaveats(identifier, firstPartyCaveats(macaroon));
 */
export function claimsFromCaveats(
  identifier: string,
  caveats: readonly string[],
): { ok: true; claims: CapabilityClaims } | { ok: false; message: string } {
  if (!identifier.startsWith(IDENTIFIER_PREFIX))
    return { ok: false, message: 'The macaroon identifier is not a capability id.' };
  const once = new Map<string, string>();
  let exp: number | undefined;
  let routes: string[] | undefined;
  let methods: string[] | undefined;
  for (const caveat of caveats) {
    const eq = caveat.indexOf('=');
    const key = eq < 0 ? caveat : caveat.slice(0, eq);
    const value = eq < 0 ? '' : caveat.slice(eq + 1);
    if (ONCE.has(key)) {
      if (once.has(key)) return { ok: false, message: `The caveat ${key} appears twice.` };
      once.set(key, value);
    } else if (NARROWING.has(key)) {
      if (key === 'exp') {
        const at = integer(value);
        if (at === undefined) return { ok: false, message: 'An exp caveat is not a time in seconds.' };
        exp = exp === undefined ? at : Math.min(exp, at);
      } else if (key === 'methods') {
        const list = value.split(',');
        methods = methods === undefined ? list : methods.filter((m) => list.includes(m));
      } else {
        const list = stringArray(value);
        if (list === undefined) return { ok: false, message: 'A routes caveat is not a JSON array of route keys.' };
        routes = routes === undefined ? list : routes.filter((r) => list.includes(r));
      }
    } else {
      return { ok: false, message: `The macaroon has a caveat this server does not know (${key.slice(0, 32)}).` };
    }
  }
  const calls = once.get('calls');
  const amountCap = once.get('amount_cap');
  const rateLimit = once.get('rate_limit');
  const parsed = CapabilityClaimsSchema.safeParse({
    v: 1,
    jti: identifier.slice(IDENTIFIER_PREFIX.length),
    iss: once.get('iss'),
    sub: once.get('sub'),
    scope: { routes, methods },
    ...(calls !== undefined ? { calls: integer(calls) ?? Number.NaN } : {}),
    ...(amountCap !== undefined ? { amountCap } : {}),
    ...(rateLimit !== undefined
      ? { rateLimit: /^[0-9]+(\.[0-9]+)?$/.test(rateLimit) ? Number(rateLimit) : Number.NaN }
      : {}),
    iat: integer(once.get('iat') ?? ''),
    exp,
    receipt: once.get('receipt'),
    rail: once.get('rail'),
  });
  if (!parsed.success) return { ok: false, message: 'The macaroon caveats do not make a valid capability.' };
  return { ok: true, claims: parsed.data };
}

function integer(value: string): number | undefined {
  return /^[0-9]{1,15}$/.test(value) ? Number(value) : undefined;
}

function stringArray(value: string): string[] | undefined {
  try {
    const parsed: unknown = JSON.parse(value);
    return Array.isArray(parsed) && parsed.every((r): r is string => typeof r === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}
