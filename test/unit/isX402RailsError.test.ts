import { describe, expect, it } from 'vitest';
import { BudgetExceededError, errorCodes, isX402RailsError, X402RailsError } from '../../src/index';
import { decodePaymentSignatureHeader } from '../../src/protocol/headers';

describe('isX402RailsError', () => {
  it('narrows by code, and the wire codecs throw the same base class the core exports', () => {
    const budget = new BudgetExceededError('over the hourly budget', {
      budget: 'hourly',
      limit: '10',
      spent: '9',
      requested: '2',
      asset: 'usd',
    });
    expect(isX402RailsError(budget)).toBe(true);
    expect(isX402RailsError(budget, errorCodes.BUDGET_EXCEEDED)).toBe(true);
    expect(isX402RailsError(budget, errorCodes.PAYMENT_INVALID)).toBe(false);
    expect(isX402RailsError(new Error('plain'))).toBe(false);
    expect(isX402RailsError('a string', errorCodes.BUDGET_EXCEEDED)).toBe(false);

    let thrown: unknown;
    try {
      decodePaymentSignatureHeader('%%% not base64 %%%');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(X402RailsError);
    expect(isX402RailsError(thrown, errorCodes.HEADER_BAD_BASE64)).toBe(true);
  });
});
