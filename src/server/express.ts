import type { NextFunction, Request as ExpressRequest, RequestHandler, Response as ExpressResponse } from 'express';
import { RECEIPT_JWKS_PATH } from '../core/receipt/receipt';
import { MalformedInputError, X402RailsError, errorCodes } from '../core/errors';
import { errorResponse } from './responses';
import { bodyTooLarge } from './readBinding';
import type { Paywall, PaywallOptions } from './paywall';
import { paywallFrom } from './paywallFrom';
import type { RoutesConfig } from './routes';

/**
 * Express middleware over the Fetch-API paywall. The downstream handler's answer is buffered so that
 * settlement happens before anything is sent, and only when the handler answered below 400.
 *
 * @example app.use(express.json(), expressPaywall(routes, { rails, signer, issuer: 'https://api.example.com' }));
 */
export function expressPaywall(routes: RoutesConfig | Paywall, options?: PaywallOptions): RequestHandler {
  const pw = paywallFrom(routes, options);
  return (req, res, next) => {
    if (req.method === 'GET' && req.path === RECEIPT_JWKS_PATH) {
      res.json(pw.jwks());
      return;
    }
    const url = routedUrlOf(req);
    if (url === undefined) {
      void sendFetchResponse(
        res,
        errorResponse(
          new MalformedInputError(errorCodes.HEADER_SCHEMA, 'The request target or Host header is not a valid URL.'),
        ),
      );
      return;
    }
    // Free routes pass straight on: their bodies are neither read nor bounded here.
    if (!pw.covers(req.method, url.pathname)) {
      next();
      return;
    }
    bufferUnparsedBody(req)
      .then(() => pw.handle(toFetchRequest(req, url), () => captureDownstream(res, next)))
      .then((response) => sendFetchResponse(res, response))
      .catch((error: unknown) =>
        error instanceof X402RailsError ? sendFetchResponse(res, errorResponse(error)) : next(error),
      );
  };
}

/**
 * The URL of a request as Express routes it: the path Express matches (`baseUrl + path`, which for an
 * absolute-form target such as `GET http://other/paid` is `/paid`), the query, and the Host. The paywall must
 * see the very path the router will serve, or a paid handler could be reached unpaid.
 */
function routedUrlOf(req: ExpressRequest): URL | undefined {
  try {
    const url = new URL(`${req.protocol}://${req.get('host') ?? 'localhost'}`);
    url.pathname = `${req.baseUrl}${req.path}`;
    const query = req.originalUrl.indexOf('?');
    if (query >= 0) url.search = req.originalUrl.slice(query);
    return url;
  } catch {
    return undefined;
  }
}

/** Largest raw body buffered when no body parser ran before the paywall. */
const MAX_RAW_BODY_BYTES = 1024 * 1024;

/**
 * When no body parser ran, the paywall reads the raw body itself (so the receipt binds the real bytes) and
 * leaves it in `req.body` as a Buffer, as `express.raw()` would.
 */
async function bufferUnparsedBody(req: ExpressRequest): Promise<void> {
  const method = req.method.toUpperCase();
  if (method === 'GET' || method === 'HEAD' || req.body !== undefined || req.readableEnded) return;
  // A declared length over the limit is refused before a byte of the body is read.
  if (Number(req.headers['content-length'] ?? '0') > MAX_RAW_BODY_BYTES) throw bodyTooLarge(MAX_RAW_BODY_BYTES);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > MAX_RAW_BODY_BYTES) throw bodyTooLarge(MAX_RAW_BODY_BYTES);
    chunks.push(buffer);
  }
  req.body = Buffer.concat(chunks);
}

function toFetchRequest(req: ExpressRequest, url: URL): Request {
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (Array.isArray(v)) v.forEach((x) => headers.append(k, x));
    else if (v !== undefined) headers.set(k, v);
  }
  const method = req.method.toUpperCase();
  const body: unknown = req.body;
  let payload: string | Uint8Array<ArrayBuffer> | undefined;
  if (method !== 'GET' && method !== 'HEAD' && body !== undefined) {
    payload = Buffer.isBuffer(body) ? Uint8Array.from(body) : typeof body === 'string' ? body : JSON.stringify(body);
  }
  return new Request(url, { method, headers, ...(payload !== undefined ? { body: payload } : {}) });
}

type Writer = { write: ExpressResponse['write']; end: ExpressResponse['end']; writeHead: ExpressResponse['writeHead'] };

/** Runs the rest of the Express chain with the response writes captured into a Fetch Response. */
function captureDownstream(res: ExpressResponse, next: NextFunction): Promise<Response> {
  return new Promise((resolve) => {
    const original: Writer = { write: res.write, end: res.end, writeHead: res.writeHead };
    const chunks: Buffer[] = [];
    const push = (chunk: unknown, encoding?: unknown) => {
      if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
      chunks.push(
        Buffer.isBuffer(chunk)
          ? chunk
          : Buffer.from(String(chunk), typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8'),
      );
    };
    res.writeHead = function writeHead(this: ExpressResponse, status: number) {
      res.statusCode = status;
      return res;
    } as ExpressResponse['writeHead'];
    res.write = function write(chunk: unknown, encoding?: unknown) {
      push(chunk, encoding);
      return true;
    } as ExpressResponse['write'];
    res.end = function end(chunk?: unknown, encoding?: unknown) {
      push(chunk, encoding);
      Object.assign(res, original);
      const headers = new Headers();
      for (const [k, v] of Object.entries(res.getHeaders())) {
        if (Array.isArray(v)) v.forEach((x) => headers.append(k, x));
        else if (v !== undefined) headers.set(k, String(v));
        // The captured Response now holds the header: an extension that drops it (e.g. metering's X402-Usage)
        // must not find it still set on the socket's response.
        res.removeHeader(k);
      }
      const status = res.statusCode;
      const nullBody = status === 204 || status === 304;
      resolve(new Response(nullBody ? null : Buffer.concat(chunks), { status, headers }));
      return res;
    } as ExpressResponse['end'];
    next();
  });
}

async function sendFetchResponse(res: ExpressResponse, response: Response): Promise<void> {
  res.status(response.status);
  response.headers.forEach((value, key) => {
    if (key !== 'content-length') res.setHeader(key, value);
  });
  const body = response.body ? Buffer.from(await response.arrayBuffer()) : undefined;
  res.end(body);
}
