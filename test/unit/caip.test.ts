import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MalformedInputError, errorCodes } from '../../src/core/errors';
import {
  bitcoinNetworks,
  caipAssetId,
  evmChainId,
  evmNetwork,
  isAtomicAmount,
  isCaipNetwork,
  normalizeNetwork,
  parseAtomicAmount,
  parseCaipNetwork,
  solanaNetworks,
  v1NetworkNames,
} from '../../src/protocol/caip';

function thrown(fn: () => unknown): MalformedInputError {
  try {
    fn();
  } catch (error) {
    if (error instanceof MalformedInputError) return error;
    throw error;
  }
  throw new Error('expected a MalformedInputError');
}

describe('CAIP-2 networks', () => {
  it.each([
    ['eip155:1', 'eip155', '1'],
    ['eip155:84532', 'eip155', '84532'],
    ['solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp', 'solana', '5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp'],
    ['bip122:0f9188f13cb7b2c71f2a335e3a4fc328', 'bip122', '0f9188f13cb7b2c71f2a335e3a4fc328'],
    ['cosmos:cosmoshub-4', 'cosmos', 'cosmoshub-4'],
    ['abc:x_y', 'abc', 'x_y'],
  ])('parses %s', (id, namespace, reference) => {
    expect(isCaipNetwork(id)).toBe(true);
    expect(parseCaipNetwork(id)).toEqual({ namespace, reference });
  });

  it.each([
    'base-sepolia',
    'eip155',
    'eip155:',
    ':1',
    'EIP155:1',
    'ab:1', // namespace shorter than 3
    'abcdefghi:1', // namespace longer than 8
    'eip155:1:2',
    'eip155: 1',
    ' eip155:1',
    'eip155:1\n',
    `eip155:${'a'.repeat(33)}`,
    'eip155:1/erc20:0xabc',
    '',
  ])('rejects %j with PROTOCOL__CAIP__INVALID (400)', (id) => {
    expect(isCaipNetwork(id)).toBe(false);
    const error = thrown(() => parseCaipNetwork(id));
    expect(error.code).toBe(errorCodes.INVALID_CAIP);
    expect(error.code).toBe('PROTOCOL__CAIP__INVALID');
    expect(error.status).toBe(400);
  });

  it('keeps the reference length bound exactly at 32', () => {
    expect(isCaipNetwork(`solana:${'a'.repeat(32)}`)).toBe(true);
    expect(isCaipNetwork(`solana:${'a'.repeat(33)}`)).toBe(false);
  });

  it('does not echo an unbounded value in the error message', () => {
    const error = thrown(() => parseCaipNetwork('x'.repeat(10_000)));
    expect(error.message.length).toBeLessThan(200);
  });

  it('builds and reads EVM networks', () => {
    expect(evmNetwork(8453)).toBe('eip155:8453');
    expect(evmNetwork(31337n)).toBe('eip155:31337');
    expect(evmChainId('eip155:84532')).toBe(84532);
    expect(evmChainId('eip155:0')).toBeUndefined();
    expect(evmChainId('eip155:01')).toBeUndefined();
    expect(evmChainId('solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp')).toBeUndefined();
    expect(evmChainId('eip155:1x')).toBeUndefined();
  });

  it('builds CAIP-19 asset ids', () => {
    expect(caipAssetId('eip155:1', 'erc20', '0xa0b8')).toBe('eip155:1/erc20:0xa0b8');
  });

  it('names well-known networks with valid CAIP-2 ids', () => {
    for (const id of [
      ...Object.values(solanaNetworks),
      ...Object.values(bitcoinNetworks),
      ...Object.values(v1NetworkNames),
    ]) {
      expect(isCaipNetwork(id)).toBe(true);
    }
    expect(bitcoinNetworks.regtest).toBe('bip122:0f9188f13cb7b2c71f2a335e3a4fc328');
  });
});

describe('v1 short names → CAIP-2', () => {
  it.each([
    ['base', 'eip155:8453'],
    ['base-sepolia', 'eip155:84532'],
    ['avalanche', 'eip155:43114'],
    ['avalanche-fuji', 'eip155:43113'],
    ['polygon', 'eip155:137'],
    ['polygon-amoy', 'eip155:80002'],
    ['ethereum', 'eip155:1'],
    ['sepolia', 'eip155:11155111'],
    ['solana', 'solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp'],
    ['solana-devnet', 'solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1'],
  ])('%s → %s', (name, caip) => {
    expect(normalizeNetwork(name)).toBe(caip);
  });

  it('passes CAIP-2 ids through and returns undefined for unknown names', () => {
    expect(normalizeNetwork('eip155:10')).toBe('eip155:10');
    expect(normalizeNetwork('base-mainnet')).toBeUndefined();
    expect(normalizeNetwork('BASE')).toBeUndefined();
    expect(normalizeNetwork('')).toBeUndefined();
  });

  it('does not resolve inherited object keys as network names', () => {
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf']) {
      expect(normalizeNetwork(name)).toBeUndefined();
    }
  });
});

describe('atomic amounts', () => {
  it.each(['0', '1', '10000', '1000000000000000000', `1${'0'.repeat(77)}`])(
    'accepts %s as a bigint, exactly',
    (text) => {
      expect(isAtomicAmount(text)).toBe(true);
      const value = parseAtomicAmount(text);
      expect(typeof value).toBe('bigint');
      expect(value.toString()).toBe(text);
    },
  );

  it('keeps precision far past float range', () => {
    expect(parseAtomicAmount('9007199254740993')).toBe(9_007_199_254_740_993n);
    expect(parseAtomicAmount('123456789012345678901234567890')).toBe(123456789012345678901234567890n);
  });

  it.each([
    '1.5',
    '1.0',
    '-1',
    '+1',
    '01',
    '00',
    '1e6',
    '1E6',
    '0x10',
    ' 1',
    '1 ',
    '',
    '1_000',
    '١',
    'Infinity',
    'NaN',
    `1${'0'.repeat(78)}`,
  ])('rejects %j with PROTOCOL__AMOUNT__INVALID', (text) => {
    expect(isAtomicAmount(text)).toBe(false);
    const error = thrown(() => parseAtomicAmount(text));
    expect(error.code).toBe(errorCodes.INVALID_AMOUNT);
    expect(error.status).toBe(400);
  });

  it('property: every non-negative bigint round-trips, and nothing else parses', () => {
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: 10n ** 78n - 1n }), (n) => parseAtomicAmount(n.toString()) === n));
    fc.assert(
      fc.property(fc.string(), (s) => {
        const ok = isAtomicAmount(s);
        expect(ok).toBe(/^(0|[1-9][0-9]*)$/.test(s) && s.length <= 78);
        if (ok) expect(parseAtomicAmount(s).toString()).toBe(s);
      }),
      { numRuns: 2000 },
    );
  });
});
