import { z } from 'zod';
import type { CachedResponse, IdempotencyEntry } from './idempotencyStore';

/**
 * How the persistent idempotency stores write a kept answer: JSON `{ status, headers, body }` with the body in
 * standard base64, so one text column (or one hash field) holds it on SQLite, Postgres and Redis alike.
 */
const CachedResponseSchema = z.object({
  status: z.number().int().min(100).max(599),
  headers: z.array(z.tuple([z.string(), z.string()])),
  body: z.string(),
});

/**
 * The stored text of a kept answer.
 *
 * @example encodeCachedResponse({ status: 200, headers: [['content-type', 'text/plain']], body: new TextEncoder().encode('ok') })
 */
export function encodeCachedResponse(response: CachedResponse): string {
  return JSON.stringify({
    status: response.status,
    headers: response.headers,
    body: Buffer.from(response.body).toString('base64'),
  });
}

/** A kept answer read back; undefined when the stored text is not one (the store reports it as corrupt). */
export function decodeCachedResponse(text: string): CachedResponse | undefined {
  try {
    const parsed = CachedResponseSchema.safeParse(JSON.parse(text));
    if (!parsed.success) return undefined;
    return {
      status: parsed.data.status,
      headers: parsed.data.headers,
      body: new Uint8Array(Buffer.from(parsed.data.body, 'base64')),
    };
  } catch {
    return undefined;
  }
}

/**
 * The entry of a stored row: its fingerprint, and its answer when one was recorded; `corrupt` when the answer text
 * does not decode.
 */
export function entryOf(fingerprint: string, response: string | null | undefined): IdempotencyEntry | 'corrupt' {
  if (response === null || response === undefined || response === '') return { fingerprint };
  const decoded = decodeCachedResponse(response);
  return decoded ? { fingerprint, response: decoded } : 'corrupt';
}
