/**
 * A raw HTTP/1.1 client over a TCP socket, for what fetch and node:http refuse to send: a huge Content-Length
 * with no body, or header bytes a client library would reject before the server sees them.
 */
import { connect } from 'node:net';

/**
 * A request head: request line, `Host`, the given headers, blank line. Values are sent as they are (latin1).
 *
 * @example requestHead('POST', '/paid', { 'Content-Length': 10 * 2 ** 20 })
 */
export function requestHead(
  method: string,
  path: string,
  headers: Record<string, string | number>,
  host = '127.0.0.1',
): string {
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`);
  return `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n${lines.join('')}\r\n`;
}

/**
 * Sends a raw request head (no body, whatever Content-Length says), as latin1 bytes, and returns the status
 * code of the answer. A server that waits for the body never answers: the socket is given up after 5 s and
 * that is a failure.
 *
 * @example expect(await statusOfHead(server.url, requestHead('POST', '/paid', { 'Content-Length': 1e7 }))).toBe(413)
 */
export function statusOfHead(url: string, head: string): Promise<number> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let reply = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('the server did not answer without the body: it waits to read it'));
    }, 5_000);
    socket.on('connect', () => socket.write(head, 'latin1'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      const match = /^HTTP\/1\.1 (\d{3})/.exec(reply);
      if (match) {
        clearTimeout(timer);
        socket.destroy();
        resolve(Number(match[1]));
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}
