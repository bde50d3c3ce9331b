/**
 * Headers of capability credentials (names are case-insensitive on the wire).
 *
 * @example fetch(url, { headers: { [capabilityHeaders.capability]: token } })
 */
export const capabilityHeaders = {
  /** Response: the capability a paid call bought. Request: the capability presented (or `Authorization: Bearer`). */
  capability: 'X402-Capability',
  /** Response to a capability call: calls left. */
  remaining: 'X402-Capability-Remaining',
  /** Response to a metered capability call: atomic units left. */
  remainingAmount: 'X402-Capability-Remaining-Amount',
  /** Response refusing a capability (402/400/429): the reason code, e.g. `capability_exhausted`. */
  error: 'X402-Capability-Error',
} as const;

/** Largest capability token read from a request, in characters. */
export const CAPABILITY_MAX_LENGTH = 16 * 1024;

/**
 * Returns `response` with `headers` set and listed in `Access-Control-Expose-Headers` (so browser clients
 * can read them). Headers are set in place when the response allows it (the hot path of a capability call);
 * a response with immutable headers (e.g. from `fetch` or `Response.redirect`) is rebuilt around its body.
 *
 * @example return withExposedHeaders(response, { 'X402-Capability-Remaining': '9' });
 */
export function withExposedHeaders(response: Response, headers: Record<string, string>): Response {
  try {
    expose(response.headers, headers);
    return response;
  } catch {
    const out = new Headers(response.headers);
    expose(out, headers);
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers: out });
  }
}

function expose(target: Headers, headers: Record<string, string>): void {
  const names = Object.keys(headers);
  for (const name of names) target.set(name, headers[name] ?? '');
  const exposed = target.get('Access-Control-Expose-Headers');
  if (exposed === null || exposed === '') {
    target.set('Access-Control-Expose-Headers', names.join(', '));
    return;
  }
  const listed = new Set(exposed.split(',').map((h) => h.trim().toLowerCase()));
  const missing = names.filter((name) => !listed.has(name.toLowerCase()));
  if (missing.length > 0) target.set('Access-Control-Expose-Headers', `${exposed}, ${missing.join(', ')}`);
}
