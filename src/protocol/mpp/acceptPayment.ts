import { mppMalformed } from './encoding';

/** One entry of an `Accept-Payment` header: `method/intent` (either may be `*`) and its weight `q` (0–1). */
export type AcceptPaymentEntry = { method: string; intent: string; q: number };

const TOKEN = /^(?:\*|[a-z0-9][a-z0-9:_-]*)$/i;

/**
 * Reads `Accept-Payment: evm/charge, lightning/*;q=0.5, *\/*;q=0`. Throws MalformedInputError on a malformed entry.
 *
 * @example parseAcceptPayment('evm/charge;q=0.9, lightning/charge') // [{ method: 'evm', intent: 'charge', q: 0.9 }, …]
 */
export function parseAcceptPayment(header: string): AcceptPaymentEntry[] {
  if (header.length > 4096)
    throw mppMalformed('Accept-Payment', 'too_large', 'The Accept-Payment value is longer than 4096 characters.');
  const parts = header
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  if (parts.length === 0 || parts.length > 64)
    throw mppMalformed('Accept-Payment', 'bad_entry', 'Accept-Payment lists 1 to 64 method/intent entries.');
  return parts.map((part) => {
    const [range = '', ...params] = part.split(';').map((s) => s.trim());
    const [method = '', intent = '', extra] = range.split('/').map((s) => s.trim());
    if (extra !== undefined || !TOKEN.test(method) || !TOKEN.test(intent))
      throw mppMalformed('Accept-Payment', 'bad_entry', `"${part.slice(0, 64)}" is not a method/intent entry.`);
    let q = 1;
    for (const param of params) {
      const m = /^q\s*=\s*(0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/i.exec(param);
      if (m?.[1] !== undefined) q = Number(m[1]);
    }
    return { method: method.toLowerCase(), intent: intent.toLowerCase(), q };
  });
}

/** Writes entries as an `Accept-Payment` value. */
export function serializeAcceptPayment(entries: readonly AcceptPaymentEntry[]): string {
  return entries.map((e) => `${e.method}/${e.intent}${e.q === 1 ? '' : `;q=${Number(e.q.toFixed(3))}`}`).join(', ');
}

/** The weight the preferences give `method/intent`: the most specific matching entry's q (1 when none are given; 0 when none match). */
export function acceptPaymentWeight(
  entries: readonly AcceptPaymentEntry[],
  offer: { method: string; intent: string },
): number {
  let best: { specificity: number; q: number } | undefined;
  for (const e of entries) {
    if ((e.method !== '*' && e.method !== offer.method) || (e.intent !== '*' && e.intent !== offer.intent)) continue;
    const specificity = Number(e.method !== '*') + Number(e.intent !== '*');
    if (!best || specificity > best.specificity) best = { specificity, q: e.q };
  }
  return best?.q ?? 0;
}

/**
 * Orders offers by the client's preferences (highest weight first, the server's order among equals) and drops
 * those weighted 0. No or an unreadable header: the offers unchanged.
 */
export function rankByAcceptPayment<T extends { method: string; intent: string }>(
  offers: readonly T[],
  header: string | null | undefined,
): T[] {
  if (!header) return [...offers];
  let entries: AcceptPaymentEntry[];
  try {
    entries = parseAcceptPayment(header);
  } catch {
    return [...offers];
  }
  return offers
    .map((offer, index) => ({ offer, index, q: acceptPaymentWeight(entries, offer) }))
    .filter((x) => x.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index)
    .map((x) => x.offer);
}
