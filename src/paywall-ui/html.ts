import { createHash } from 'node:crypto';

/** Escapes text for HTML element content and double-quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON safe inside a `<script type="application/json">` element (no `</script>`, no HTML comment openers). */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** `'sha256-…'` CSP source of an inline script or style. */
export function cspHash(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/** A CSS colour from configuration, or the fallback when it holds anything that could escape the declaration. */
export function cssColor(value: string | undefined, fallback: string): string {
  return value !== undefined && /^[#a-zA-Z0-9(),.%\s-]{1,64}$/.test(value) ? value : fallback;
}

/** An image URL from configuration (https:, http: or data:image), else undefined. */
export function safeImageUrl(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (/^data:image\/(png|jpeg|gif|webp|svg\+xml);base64,[A-Za-z0-9+/=]+$/.test(value)) return value;
  return URL.canParse(value) && /^https?:$/.test(new URL(value).protocol) ? value : undefined;
}
