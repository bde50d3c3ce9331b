import { mppMalformed, MPP_MAX_HEADER_LENGTH } from './encoding';

/**
 * A reader and writer of RFC 9110 auth-params as the Payment scheme writes them: `name="quoted value"`
 * pairs after a scheme token, several challenges (of any scheme) in one header value. Quoted strings use `\`
 * escapes, plus `\uXXXX` for characters above Latin-1 (as mppx writes them: header values are byte strings).
 */

/** One challenge of a `WWW-Authenticate` value: its scheme and parameters (names lower-cased). */
export type AuthChallenge = { scheme: string; params: Record<string, string>; duplicates: string[] };

const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const MAX_CHALLENGES = 64;
const MAX_PARAMS = 128;

/** Reads every challenge of a `WWW-Authenticate` value. Throws MalformedInputError on an unterminated quote. */
export function readAuthChallenges(text: string): AuthChallenge[] {
  if (text.length > MPP_MAX_HEADER_LENGTH) {
    throw mppMalformed(
      'WWW-Authenticate',
      'too_large',
      `The WWW-Authenticate value is ${text.length} characters; at most ${MPP_MAX_HEADER_LENGTH} are read.`,
    );
  }
  const out: AuthChallenge[] = [];
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
    i += 1;
    let value = '';
    while (i < text.length) {
      const c = text.charAt(i);
      if (c === '"') {
        i += 1;
        return value;
      }
      if (c === '\\' && i + 1 < text.length) {
        const hex = text.slice(i + 2, i + 6);
        if (text.charAt(i + 1) === 'u' && /^[0-9A-Fa-f]{4}$/.test(hex)) {
          value += String.fromCharCode(Number.parseInt(hex, 16));
          i += 6;
          continue;
        }
        i += 1;
      }
      value += text.charAt(i);
      i += 1;
    }
    throw mppMalformed(
      'WWW-Authenticate',
      'unterminated_quote',
      'The WWW-Authenticate value has an unterminated quoted string.',
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
    if (scheme === '') {
      // Not a scheme token: skip the stray characters (another scheme's syntax is not ours to judge).
      i += 1;
      bare();
      continue;
    }
    if (out.length >= MAX_CHALLENGES)
      throw mppMalformed(
        'WWW-Authenticate',
        'too_many_challenges',
        `The WWW-Authenticate value holds more than ${MAX_CHALLENGES} challenges.`,
      );
    const challenge: AuthChallenge = { scheme, params: Object.create(null) as Record<string, string>, duplicates: [] };
    out.push(challenge);
    for (;;) {
      skip(/[\s,]/);
      if (i >= text.length) break;
      const mark = i;
      const name = token();
      skip(/[ \t]/);
      if (name === '' || text.charAt(i) !== '=') {
        i = mark;
        if (name === '') bare();
        break;
      }
      i += 1;
      skip(/[ \t]/);
      if (text.charAt(i) === '=' || text.charAt(i) === ',' || i >= text.length) {
        skip(/=/); // token68 padding of another scheme
        continue;
      }
      const value = text.charAt(i) === '"' ? quoted() : bare();
      params += 1;
      if (params > MAX_PARAMS)
        throw mppMalformed(
          'WWW-Authenticate',
          'too_many_params',
          `The WWW-Authenticate value has more than ${MAX_PARAMS} parameters.`,
        );
      const key = name.toLowerCase();
      if (key in challenge.params) challenge.duplicates.push(key);
      else challenge.params[key] = value;
    }
  }
  return out;
}

/** `name="value"` with `\` and `"` escaped and characters above Latin-1 as `\uXXXX`; refuses CR/LF. */
export function formatAuthParam(name: string, value: string): string {
  if (/[\r\n]/.test(value))
    throw mppMalformed('WWW-Authenticate', 'bad_value', `The ${name} parameter may not hold a line break.`);
  const escaped = value
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/[\u0100-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `${name}="${escaped}"`;
}
