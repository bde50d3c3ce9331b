/**
 * Output of the command-line tool: results on stdout (human text, or one JSON document with `--json`),
 * progress and warnings on stderr so they never mix with what a script reads.
 */

/** Writes a progress line to stderr. */
export function progress(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** Writes text to stdout. */
export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** Writes one JSON document on one line to stdout (bigints as decimal strings). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`);
}

/** Milliseconds since `started` (a `performance.now()` value), rounded. */
export function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}

/** Formats rows of label/value pairs as aligned lines. */
export function table(rows: Array<[string, string]>, indent = '  '): string {
  const width = Math.max(0, ...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${indent}${label.padEnd(width)}  ${value}`).join('\n');
}

/**
 * An atomic amount in whole units for people: `formatUnits(10000n, 6)` is `'0.01'` (never a float).
 *
 * @example `${formatUnits(10_000n, 6)} rUSD` // '0.01 rUSD'
 */
export function formatUnits(atomic: bigint, decimals: number): string {
  const negative = atomic < 0n;
  const digits = (negative ? -atomic : atomic).toString().padStart(decimals + 1, '0');
  const whole = digits.slice(0, digits.length - decimals);
  const fraction = digits.slice(digits.length - decimals).replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction === '' ? '' : `.${fraction}`}`;
}
