/**
 * True when an `Accept` header asks for HTML over JSON: a browser navigating to the URL
 * (`text/html,application/xhtml+xml,…,*\/*;q=0.8`), not `fetch()` (`*\/*`), curl or an agent (`application/json`).
 *
 * @example prefersHtml('text/html,application/xhtml+xml,application/xml;q=0.9,*\/*;q=0.8') // true
 */
export function prefersHtml(accept: string | null): boolean {
  if (accept === null) return false;
  let html = 0;
  let json = 0;
  let any = 0;
  for (const part of accept.slice(0, 1024).split(',')) {
    const [type = '', ...params] = part.trim().toLowerCase().split(';');
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (!Number.isFinite(q)) continue;
    if (type === 'text/html' || type === 'application/xhtml+xml') html = Math.max(html, q);
    else if (type === 'application/json') json = Math.max(json, q);
    else if (type === '*/*') any = Math.max(any, q);
  }
  return html > 0 && html > Math.max(json, any > 0 && json === 0 ? 0 : json);
}
