import { describe, expect, it } from 'vitest';
import { createOriginStrikes } from '../../src/client/originStrikes';
import { ConfigurationError, OriginSuspendedError } from '../../src/core/errors';

const A = 'https://a.example';
const B = 'https://b.example';

describe('createOriginStrikes', () => {
  it('suspends an origin at the limit (default 1), per origin, until reset', () => {
    const strikes = createOriginStrikes();
    expect(() => strikes.assertPayable(A)).not.toThrow();
    strikes.strike(A, { status: 402, reason: 'invalid_signature', at: 1 });
    expect(() => strikes.assertPayable(A)).toThrow(OriginSuspendedError);
    expect(() => strikes.assertPayable(B)).not.toThrow();
    try {
      strikes.assertPayable(A);
    } catch (error) {
      expect(error).toMatchObject({
        code: 'CLIENT__ORIGIN__SUSPENDED',
        details: { origin: A, strikes: 1, limit: 1, lastStatus: 402, lastReason: 'invalid_signature' },
      });
      expect(String((error as Error).message)).toContain('strikes.reset(origin)');
    }
    strikes.reset(A);
    expect(() => strikes.assertPayable(A)).not.toThrow();
    expect(strikes.strikesOf(A)).toEqual([]);
  });

  it('a higher limit tolerates that many strikes minus one', () => {
    const strikes = createOriginStrikes({ limit: 3 });
    strikes.strike(A, { status: 500, at: 1 });
    strikes.strike(A, { status: 0, reason: 'no_answer', at: 2 });
    expect(() => strikes.assertPayable(A)).not.toThrow();
    strikes.strike(A, { status: 503, at: 3 });
    expect(() => strikes.assertPayable(A)).toThrow(OriginSuspendedError);
    expect(strikes.strikesOf(A).map((s) => s.status)).toEqual([500, 0, 503]);
  });

  it('refuses a limit that is not a positive integer', () => {
    for (const limit of [0, -1, 1.5, Number.NaN])
      expect(() => createOriginStrikes({ limit })).toThrow(ConfigurationError);
  });
});
