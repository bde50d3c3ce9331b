/**
 * True for a loopback interface: `localhost`, 127.0.0.0/8, `::1` (also bracketed or IPv4-mapped).
 *
 * @example isLoopback('127.0.0.1'); // true — isLoopback('0.0.0.0'); // false
 */
export function isLoopback(hostname: string): boolean {
  const host = hostname
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (host === 'localhost' || host === '::1' || host === '0:0:0:0:0:0:0:1') return true;
  const v4 = host.startsWith('::ffff:') ? host.slice(7) : host;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}
