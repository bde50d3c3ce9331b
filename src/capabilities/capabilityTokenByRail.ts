import type { CapabilityToken } from './capabilityToken';

/** Parameters of {@link capabilityTokenByRail}. */
export type CapabilityTokenByRailParameters = {
  /** Format of capabilities bought on rails not listed in `rails` (typically {@link jwsCapabilityToken}). */
  default: CapabilityToken;
  /** Format per rail id, e.g. `{ 'lightning-l402': macaroonCapabilityToken({ rootKey }) }`. */
  rails: Record<string, CapabilityToken>;
};

/**
 * Several token formats behind one {@link CapabilityToken}: a capability is issued in the format of the rail
 * that paid for it (`claims.rail`), and a presented token is read by whichever format recognizes it. So a
 * server taking EVM and Lightning hands out JWS to EVM payers and macaroons to Lightning payers, and accepts
 * both.
 *
 * @example
 * const token = capabilityTokenByRail({ default: await jwsCapabilityToken({ privateJwk }), rails: { 'lightning-l402': macaroonCapabilityToken({ rootKey }) } });
 */
export function capabilityTokenByRail(parameters: CapabilityTokenByRailParameters): CapabilityToken {
  const formats = [parameters.default, ...Object.values(parameters.rails).filter((f) => f !== parameters.default)];
  const formatOf = (token: string) => formats.find((f) => f.recognizes(token));
  return {
    format: [...new Set(formats.map((f) => f.format))].join('|'),
    recognizes: (token) => formatOf(token) !== undefined,
    issue: (claims) => (parameters.rails[claims.rail] ?? parameters.default).issue(claims),
    async read(token) {
      // Each format answers `malformed` for a token that is not its own (after a cheap cache lookup).
      for (const format of formats) {
        const read = await format.read(token);
        if (read.ok || read.reason !== 'malformed') return read;
      }
      return {
        ok: false,
        reason: 'malformed',
        message: `The capability is none of the formats ${formats.map((f) => f.format).join(', ')}.`,
      };
    },
  };
}
