/**
 * Why an HTTP request never got an answer, in words: Node's fetch throws `TypeError: fetch failed` and keeps
 * the reason (a system error code) in its cause; a message that says only "fetch failed" leaves the user guessing
 * between a wrong port, a wrong host name, a stopped server and a rejected certificate.
 */
import { CliError } from './errors';

const reasons: Record<string, string> = {
  ECONNREFUSED: 'connection refused: nothing is listening on that port',
  ENOTFOUND: 'the host name does not resolve (DNS)',
  EAI_AGAIN: 'the host name could not be resolved right now (DNS)',
  ETIMEDOUT: 'the connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'the connection timed out',
  UND_ERR_HEADERS_TIMEOUT: 'the server accepted the connection but sent no answer in time',
  ECONNRESET: 'the server closed the connection',
  UND_ERR_SOCKET: 'the server closed the connection',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
  EPROTO: 'the TLS handshake failed (is it an http:// server addressed as https://?)',
  ERR_SSL_WRONG_VERSION_NUMBER: 'the TLS handshake failed (is it an http:// server addressed as https://?)',
};

/** The first system error code in an error's cause chain (AggregateError members included). */
function codeIn(error: unknown, depth = 0): { code: string; message: string } | undefined {
  if (depth > 5 || typeof error !== 'object' || error === null) return undefined;
  if ('code' in error && typeof error.code === 'string' && error.code !== '') {
    return { code: error.code, message: error instanceof Error ? error.message : error.code };
  }
  if (error instanceof AggregateError) {
    for (const inner of error.errors) {
      const found = codeIn(inner, depth + 1);
      if (found) return found;
    }
  }
  return 'cause' in error ? codeIn(error.cause, depth + 1) : undefined;
}

/** The failure of a `fetch` that got no answer (undici's `TypeError: fetch failed`, its reason in `cause`). */
export function isFetchFailure(error: unknown): boolean {
  return error instanceof TypeError && error.message === 'fetch failed';
}

/**
 * Says why a request to `url` got no answer: the host and port, then the reason.
 *
 * @example whyUnreachable(error, new URL('http://127.0.0.1:1/x'))
 * // '127.0.0.1:1 could not be reached: connection refused: nothing is listening on that port (ECONNREFUSED)'
 */
export function whyUnreachable(error: unknown, url: URL): string {
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  const found = codeIn(error instanceof Error ? (error.cause ?? error) : error);
  const cause = error instanceof Error ? error.cause : undefined;
  let why: string;
  if (found === undefined && cause instanceof Error && cause.message === 'bad port') {
    why = `fetch refuses port ${port} (a blocked port of the Fetch standard); serve on another port`;
  } else if (found === undefined)
    why = cause instanceof Error ? cause.message : error instanceof Error ? error.message : String(error);
  else if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(found.code))
    why = `its TLS certificate was rejected: ${found.message}`;
  else why = reasons[found.code] ?? found.message;
  return `${url.hostname}:${port} could not be reached: ${why}${found === undefined ? '' : ` (${found.code})`}`;
}

/**
 * A {@link CliError} for a request to `url` that got no answer; `what` names the request
 * (`'the server'`, `'the JWKS'`).
 *
 * @example throw unreachable(error, url, 'The server');
 */
export function unreachable(error: unknown, url: URL, what: string): CliError {
  return new CliError(`${what} at ${url.href} did not answer: ${whyUnreachable(error, url)}.`, { cause: error });
}
