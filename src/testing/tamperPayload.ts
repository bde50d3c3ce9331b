import type { RailPayload } from '../core/rail';

const HEX = /^(0x)?[0-9a-fA-F]+$/;
const BASE58 = /^[1-9A-HJ-NP-Za-km-z]+$/;
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

/**
 * The kit's generic tampering: changes one character of the payload's longest string (a signature, a
 * transaction, a token) to another character of the same alphabet (hex, base58, base64), a third of the way
 * in, so the value still parses but no longer carries what was signed. Returns a deep copy.
 *
 * @example tamperPayload({ sig: 'ab12', from: 'x' }) // → { sig: 'a012', from: 'x' }
 */
export function tamperPayload(payload: RailPayload): RailPayload {
  const copy = structuredClone(payload);
  const target = longestString(copy);
  if (!target) throw new TypeError('The payload holds no string to tamper with; give hooks.tamper.');
  const { holder, key, value } = target;
  const start = value.startsWith('0x') ? 2 : 0;
  const index = start + Math.floor((value.length - start) / 3);
  const alphabet = HEX.test(value)
    ? '0123456789abcdef'
    : BASE58.test(value)
      ? '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
      : BASE64.test(value)
        ? 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
        : 'ab';
  const current = value[index] ?? '';
  const replacement = [...alphabet].find((c) => c.toLowerCase() !== current.toLowerCase()) ?? 'a';
  holder[key] = value.slice(0, index) + replacement + value.slice(index + 1);
  return copy;
}

function longestString(
  node: unknown,
): { holder: Record<string | number, unknown>; key: string | number; value: string } | undefined {
  let best: { holder: Record<string | number, unknown>; key: string | number; value: string } | undefined;
  const visit = (value: unknown, depth: number) => {
    if (depth > 16 || typeof value !== 'object' || value === null) return;
    const holder = value as Record<string | number, unknown>;
    for (const key of Object.keys(holder)) {
      const child = holder[key];
      if (typeof child === 'string') {
        if (!best || child.length > best.value.length) best = { holder, key, value: child };
      } else visit(child, depth + 1);
    }
  };
  visit(node, 0);
  return best;
}
