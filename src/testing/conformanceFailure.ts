/** A conformance check that did not hold: the rail (or its setup) does not meet the contract. */
export class ConformanceFailure extends Error {
  override name = 'ConformanceFailure' as const;
  /** What was observed, for the report. */
  readonly details: Record<string, unknown>;
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(
      Object.keys(details).length === 0
        ? message
        : `${message} ${JSON.stringify(details, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`,
    );
    this.details = details;
  }
}

/**
 * Throws a {@link ConformanceFailure} unless `condition` holds.
 *
 * @example check(res.status === 402, 'expected a 402', { status: res.status });
 */
export function check(condition: unknown, message: string, details: Record<string, unknown> = {}): asserts condition {
  if (!condition) throw new ConformanceFailure(message, details);
}
