import { X402RailsError, errorCodes } from '../core/errors';
import { sha256Base64Url } from '../core/canonical';
import type { RequestBinding } from '../core/rail';

/**
 * Hashes the request body (bounded, from a clone) and returns the binding a receipt carries; the
 * original request stays readable by the handler.
 */
export async function readBinding(
  request: Request,
  maxBodyBytes: number,
): Promise<{ binding: RequestBinding; request: Request }> {
  const method = request.method.toUpperCase();
  if (method === 'GET' || method === 'HEAD' || request.body === null) {
    return { binding: { method, url: request.url, bodyHash: EMPTY_BODY_HASH }, request };
  }
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > maxBodyBytes) throw bodyTooLarge(maxBodyBytes);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.clone().body?.getReader();
  if (!reader) return { binding: { method, url: request.url, bodyHash: EMPTY_BODY_HASH }, request };
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBodyBytes) {
      // Cancelling one branch of a tee settles only once both are cancelled: cancel both, await neither.
      reader.cancel().catch(() => undefined);
      request.body?.cancel().catch(() => undefined);
      throw bodyTooLarge(maxBodyBytes);
    }
    chunks.push(value);
  }
  // The handler reads the original request; the clone was read only for the hash.
  return { binding: { method, url: request.url, bodyHash: sha256Base64Url(Buffer.concat(chunks)) }, request };
}

/** Hash of an empty body. */
export const EMPTY_BODY_HASH = sha256Base64Url('');

/** The 413 answer to a request body over `limit` bytes. */
export function bodyTooLarge(limit: number): X402RailsError {
  return new X402RailsError(errorCodes.BODY_TOO_LARGE, `The request body is larger than ${limit} bytes.`, {
    status: 413,
    details: { limit },
  });
}
