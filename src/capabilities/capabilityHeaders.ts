/** Headers of capability credentials (names are case-insensitive on the wire). */
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
 * can read them). The response is rebuilt, since a handler's response may have immutable headers.
 */
export function withExposedHeaders(response: Response, headers: Record<string, string>): Response {
  const out = new Headers(response.headers);
  for (const [name, value] of Object.entries(headers)) out.set(name, value);
  const exposed = (out.get('Access-Control-Expose-Headers') ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '');
  for (const name of Object.keys(headers)) if (!exposed.some((h) => h.toLowerCase() === name.toLowerCase())) exposed.push(name);
  out.set('Access-Control-Expose-Headers', exposed.join(', '));
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers: out });
}
