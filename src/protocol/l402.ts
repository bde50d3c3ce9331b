/**
 * L402 header codec (formerly LSAT): the `WWW-Authenticate` challenge a 402 carries and the `Authorization`
 * credential of the retry. Reading is lenient where real servers and clients differ (parameter order,
 * spacing, missing commas, quoted or bare values, extra parameters, the `LSAT` alias, several challenges
 * in one header) and strict where it matters (base64 macaroons, bech32 invoices, a 32-byte hex preimage).
 * Input is bounded; anything malformed is a {@link MalformedInputError} (answer 400).
 *
 *   WWW-Authenticate: L402 macaroon="<base64 V2 macaroon>", invoice="<bolt11>"
 *   Authorization:    L402 <macaroon base64>[,<macaroon base64>…]:<preimage, 64 hex>
 */
import { MalformedInputError, errorCodes } from './errors';

/** Largest `WWW-Authenticate` / `Authorization` value read, in characters. */
export const L402_MAX_HEADER_LENGTH = 32 * 1024;
/** Most macaroons accepted in one credential. */
export const L402_MAX_MACAROONS = 8;
/** Most parameters read from one header. */
const MAX_PARAMS = 64;

/** Scheme names of L402, current first. `LSAT` is the legacy name of the same scheme. */
export const L402_SCHEMES = ['L402', 'LSAT'] as const;
/** An L402 scheme name. */
export type L402Scheme = (typeof L402_SCHEMES)[number];

/** An L402 challenge read from `WWW-Authenticate`. */
export type L402Challenge = {
  /** Scheme as the server named it (normalised to upper case). */
  scheme: L402Scheme;
  /** Base64 (standard or URL-safe) of the V2 binary macaroon, as sent. */
  macaroon: string;
  /** BOLT11 payment request, lower case. */
  invoice: string;
  /** Every parameter of the challenge, names in lower case (includes macaroon and invoice). */
  params: Record<string, string>;
};

/** An L402 credential read from `Authorization`. */
export type L402Credential = {
  scheme: L402Scheme;
  /** Base64 macaroons; the first is the token, any others are discharges. */
  macaroons: string[];
  /** Preimage, 64 lower-case hex characters. */
  preimage: string;
};

/** One challenge of a `WWW-Authenticate` header (any scheme). */
type RawChallenge = { scheme: string; params: Record<string, string> };

const BASE64 = /^[A-Za-z0-9+/\-_]+={0,2}$/;
const INVOICE = /^ln[a-z0-9]{8,}$/;
const PREIMAGE = /^[0-9a-f]{64}$/i;
const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

function malformed(header: 'WWW-Authenticate' | 'Authorization', reason: string, message: string): MalformedInputError {
  return new MalformedInputError(errorCodes.HEADER_SCHEMA, message, { details: { header, reason } });
}

function bounded(value: string, header: 'WWW-Authenticate' | 'Authorization'): string {
  if (value.length > L402_MAX_HEADER_LENGTH) {
    throw new MalformedInputError(
      errorCodes.HEADER_TOO_LARGE,
      `The ${header} header is ${value.length} characters; at most ${L402_MAX_HEADER_LENGTH} are read.`,
      {
        details: { header, length: value.length, limit: L402_MAX_HEADER_LENGTH },
      },
    );
  }
  return value;
}

function asScheme(name: string): L402Scheme | undefined {
  const upper = name.toUpperCase();
  return L402_SCHEMES.find((s) => s === upper);
}

/** A small cursor-based reader of RFC 9110 challenge lists, lenient about commas and bare values. */
function readChallenges(text: string): RawChallenge[] {
  const out: RawChallenge[] = [];
  let i = 0;
  let params = 0;
  const skip = (chars: RegExp) => {
    while (i < text.length && chars.test(text.charAt(i))) i += 1;
  };
  const token = (): string => {
    const start = i;
    while (i < text.length && TOKEN_CHAR.test(text.charAt(i))) i += 1;
    return text.slice(start, i);
  };
  const quoted = (): string => {
    i += 1; // opening quote
    let value = '';
    while (i < text.length) {
      const c = text.charAt(i);
      if (c === '"') {
        i += 1;
        return value;
      }
      if (c === '\\' && i + 1 < text.length) i += 1;
      value += text.charAt(i);
      i += 1;
    }
    throw malformed(
      'WWW-Authenticate',
      'unterminated_quote',
      'The WWW-Authenticate header has an unterminated quoted string.',
    );
  };
  const bare = (): string => {
    const start = i;
    while (i < text.length && !/[\s,]/.test(text.charAt(i))) i += 1;
    return text.slice(start, i);
  };

  while (i < text.length) {
    skip(/[\s,]/);
    if (i >= text.length) break;
    const scheme = token();
    if (scheme === '')
      throw malformed(
        'WWW-Authenticate',
        'bad_scheme',
        `The WWW-Authenticate header has an unexpected character at position ${i}.`,
      );
    const challenge: RawChallenge = { scheme, params: {} };
    out.push(challenge);
    for (;;) {
      skip(/[\s,]/);
      if (i >= text.length) break;
      const mark = i;
      const name = token();
      skip(/[ \t]/);
      if (name === '' || text.charAt(i) !== '=') {
        // Not a parameter: the next challenge starts here (or a token68 we do not need).
        i = mark;
        if (name === '') bare();
        break;
      }
      i += 1;
      skip(/[ \t]/);
      if (text.charAt(i) === '=' || text.charAt(i) === ',' || i >= text.length) {
        // token68 padding such as `abc==`: skip it.
        skip(/=/);
        continue;
      }
      const value = text.charAt(i) === '"' ? quoted() : bare();
      params += 1;
      if (params > MAX_PARAMS)
        throw malformed(
          'WWW-Authenticate',
          'too_many_params',
          `The WWW-Authenticate header has more than ${MAX_PARAMS} parameters.`,
        );
      const key = name.toLowerCase();
      if (!(key in challenge.params)) challenge.params[key] = value;
    }
  }
  return out;
}

/**
 * Every L402 (or LSAT) challenge of a `WWW-Authenticate` value, in order; other schemes are skipped.
 * Throws MalformedInputError when an L402 challenge lacks a well-formed macaroon or invoice.
 *
 * @example
 * parseL402Challenges('Bearer realm="x", LSAT invoice="lnbcrt1…" ,macaroon="AgEL…"') // [{ scheme: 'LSAT', … }]
 */
export function parseL402Challenges(header: string): L402Challenge[] {
  const challenges: L402Challenge[] = [];
  for (const raw of readChallenges(bounded(header, 'WWW-Authenticate'))) {
    const scheme = asScheme(raw.scheme);
    if (!scheme) continue;
    const macaroon = raw.params.macaroon?.trim() ?? '';
    const invoice = (raw.params.invoice?.trim() ?? '').toLowerCase().replace(/^lightning:/, '');
    if (!BASE64.test(macaroon))
      throw malformed(
        'WWW-Authenticate',
        'bad_macaroon',
        `The ${scheme} challenge has no macaroon="<base64>" parameter.`,
      );
    if (!INVOICE.test(invoice))
      throw malformed(
        'WWW-Authenticate',
        'bad_invoice',
        `The ${scheme} challenge has no invoice="<bolt11>" parameter.`,
      );
    challenges.push({ scheme, macaroon, invoice, params: raw.params });
  }
  return challenges;
}

/**
 * The first L402 (or LSAT) challenge of a `WWW-Authenticate` value, or undefined when it has none.
 * Throws MalformedInputError when an L402 challenge is malformed.
 *
 * @example
 * const c = parseL402Challenge(res.headers.get('WWW-Authenticate') ?? '');
 * if (c) await pay({ lnd, request: c.invoice });
 */
export function parseL402Challenge(header: string): L402Challenge | undefined {
  return parseL402Challenges(header)[0];
}

/**
 * Formats an L402 challenge.
 *
 * @example
 * formatL402Challenge({ macaroon, invoice }) // 'L402 macaroon="AgEL…", invoice="lnbcrt…"'
 */
export function formatL402Challenge(
  challenge: { macaroon: string; invoice: string },
  scheme: L402Scheme = 'L402',
): string {
  if (!BASE64.test(challenge.macaroon))
    throw malformed('WWW-Authenticate', 'bad_macaroon', 'The macaroon to send is not base64.');
  if (!INVOICE.test(challenge.invoice))
    throw malformed('WWW-Authenticate', 'bad_invoice', 'The invoice to send is not a BOLT11 payment request.');
  return `${scheme} macaroon="${challenge.macaroon}", invoice="${challenge.invoice}"`;
}

/**
 * Reads an L402 (or LSAT) `Authorization` value. Throws MalformedInputError for another scheme or a
 * malformed credential.
 *
 * @example
 * parseL402Authorization('L402 AgEL…:0f3c…') // { scheme: 'L402', macaroons: ['AgEL…'], preimage: '0f3c…' }
 */
export function parseL402Authorization(header: string): L402Credential {
  const text = bounded(header, 'Authorization').trim();
  const m = /^(\S+)\s+([\s\S]*)$/.exec(text);
  const scheme = m ? asScheme(m[1] ?? '') : undefined;
  if (!m || !scheme)
    throw malformed(
      'Authorization',
      'not_l402',
      'The Authorization header is not an L402 credential ("L402 <macaroon>:<preimage>").',
    );
  const token = (m[2] ?? '').trim();
  const colon = token.lastIndexOf(':');
  if (colon < 0) throw malformed('Authorization', 'no_preimage', 'The L402 credential has no ":<preimage>" part.');
  const preimage = token.slice(colon + 1).trim();
  if (!PREIMAGE.test(preimage))
    throw malformed('Authorization', 'bad_preimage', 'The L402 preimage must be 64 hex characters (32 bytes).');
  const macaroons = token
    .slice(0, colon)
    .split(',')
    .map((s) => s.trim());
  if (macaroons.length > L402_MAX_MACAROONS)
    throw malformed(
      'Authorization',
      'too_many_macaroons',
      `The L402 credential carries more than ${L402_MAX_MACAROONS} macaroons.`,
    );
  if (macaroons.some((mac) => !BASE64.test(mac)))
    throw malformed('Authorization', 'bad_macaroon', 'An L402 macaroon is empty or not base64.');
  return { scheme, macaroons, preimage: preimage.toLowerCase() };
}

/**
 * Formats an L402 `Authorization` value.
 *
 * @example
 * headers.set('Authorization', formatL402Authorization({ macaroons: [challenge.macaroon], preimage }));
 */
export function formatL402Authorization(
  credential: { macaroons: readonly string[]; preimage: string },
  scheme: L402Scheme = 'L402',
): string {
  if (
    credential.macaroons.length === 0 ||
    credential.macaroons.length > L402_MAX_MACAROONS ||
    credential.macaroons.some((mac) => !BASE64.test(mac))
  ) {
    throw malformed(
      'Authorization',
      'bad_macaroon',
      `An L402 credential carries 1 to ${L402_MAX_MACAROONS} base64 macaroons.`,
    );
  }
  if (!PREIMAGE.test(credential.preimage))
    throw malformed('Authorization', 'bad_preimage', 'The L402 preimage must be 64 hex characters (32 bytes).');
  return `${scheme} ${credential.macaroons.join(',')}:${credential.preimage.toLowerCase()}`;
}
