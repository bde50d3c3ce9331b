import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_PER_REQUEST, policyRejection, type SpendingPolicy } from '../../src/core/policy';
import type { PaymentRequirements } from '../../src/protocol/schemas';

const asset = '0x036CbD53842c5426634e7929541eC2318f3dCF7e';
const offer: PaymentRequirements = {
  scheme: 'exact',
  network: 'eip155:84532',
  amount: '10000',
  asset,
  payTo: '0xAbCdEf0000000000000000000000000000000001',
  maxTimeoutSeconds: 60,
  extra: {},
};
const origin = 'https://api.example.com';
const reason = (policy: SpendingPolicy, o: PaymentRequirements = offer, from = origin) =>
  policyRejection(policy, o, from)?.reason;

describe('policyRejection', () => {
  it('allows everything under an empty policy', () => {
    expect(policyRejection({}, offer, origin)).toBeUndefined();
    expect(reason({ networks: { allow: [] }, assets: { allow: [], deny: [] } })).toBeUndefined();
  });

  it.each<[string, SpendingPolicy, string | undefined]>([
    ['network allowed', { networks: { allow: ['eip155:84532'] } }, undefined],
    ['network not allowed', { networks: { allow: ['eip155:8453'] } }, 'network_not_allowed'],
    ['network denied', { networks: { deny: ['eip155:84532'] } }, 'network_denied'],
    ['asset allowed by id, any case', { assets: { allow: [asset.toLowerCase()] } }, undefined],
    ['asset allowed as network/asset', { assets: { allow: [`eip155:84532/${asset}`] } }, undefined],
    ['asset on another network is not this one', { assets: { allow: [`eip155:8453/${asset}`] } }, 'asset_not_allowed'],
    ['asset denied', { assets: { deny: [asset] } }, 'asset_denied'],
    ['asset denied as network/asset', { assets: { deny: [`eip155:84532/${asset.toUpperCase()}`] } }, 'asset_denied'],
    [
      'payee allowed, checksum case ignored',
      { payees: { allow: ['0xabcdef0000000000000000000000000000000001'] } },
      undefined,
    ],
    ['payee not allowed', { payees: { allow: ['0x0000000000000000000000000000000000000002'] } }, 'payee_not_allowed'],
    ['payee denied', { payees: { deny: ['0xABCDEF0000000000000000000000000000000001'] } }, 'payee_denied'],
    ['origin allowed', { origins: { allow: [origin] } }, undefined],
    ['origin not allowed', { origins: { allow: ['https://other.example.com'] } }, 'origin_not_allowed'],
    ['origin denied', { origins: { deny: [origin] } }, 'origin_denied'],
    [
      'deny wins over allow (network)',
      { networks: { allow: ['eip155:84532'], deny: ['eip155:84532'] } },
      'network_denied',
    ],
    ['deny wins over allow (payee)', { payees: { allow: [offer.payTo], deny: [offer.payTo] } }, 'payee_denied'],
  ])('%s', (_label, policy, expected) => {
    expect(reason(policy)).toBe(expected);
  });

  it('exact matches only: a prefix of a network, asset or origin does not match', () => {
    expect(reason({ networks: { allow: ['eip155'] } })).toBe('network_not_allowed');
    expect(reason({ assets: { allow: [asset.slice(0, 20)] } })).toBe('asset_not_allowed');
    expect(reason({ origins: { allow: ['https://api.example.co'] } })).toBe('origin_not_allowed');
    expect(reason({ origins: { deny: ['https://api.example.com.evil.test'] } })).toBeUndefined();
  });

  it('caps a single request by asset: equal to the cap passes, one more is over_request_cap', () => {
    expect(reason({ maxPerRequest: { [asset]: 10_000n } })).toBeUndefined();
    expect(reason({ maxPerRequest: { [asset]: '10000' } })).toBeUndefined();
    expect(reason({ maxPerRequest: { [asset]: 9_999n } })).toBe('over_request_cap');
    expect(reason({ maxPerRequest: { [`eip155:84532/${asset}`]: 9_999n } })).toBe('over_request_cap');
    const rejection = policyRejection({ maxPerRequest: { [asset]: 9_999n } }, offer, origin);
    expect(rejection?.message).toContain('9999');
    // huge amounts compare as bigint, not float
    const huge = { ...offer, amount: '100000000000000000000000000001' };
    expect(reason({ maxPerRequest: { [asset]: 100000000000000000000000000000n } }, huge)).toBe('over_request_cap');
    expect(reason({ maxPerRequest: { [asset]: 100000000000000000000000000001n } }, huge)).toBeUndefined();
  });

  it('a cap for another asset does not apply; requireCap refuses uncapped assets', () => {
    expect(reason({ maxPerRequest: { msat: 1n } })).toBeUndefined();
    expect(reason({ maxPerRequest: { msat: 1n }, requireCap: true })).toBe('no_cap_for_asset');
    expect(reason({ requireCap: true })).toBe('no_cap_for_asset');
    expect(reason({ maxPerRequest: { [asset]: 10_000n }, requireCap: true })).toBeUndefined();
    expect(reason({ maxPerRequest: { [`eip155:8453/${asset}`]: 10_000n }, requireCap: true })).toBe('no_cap_for_asset');
  });

  it('list checks come before the cap', () => {
    expect(reason({ networks: { deny: ['eip155:84532'] }, maxPerRequest: { [asset]: 1n } })).toBe('network_denied');
  });

  it('caps every asset without an entry at 1,000,000 atomic units by default, and says how to raise it', () => {
    expect(DEFAULT_MAX_PER_REQUEST).toBe(1_000_000n);
    const at = { ...offer, amount: '1000000' };
    const over = { ...offer, amount: '1000001' };
    expect(reason({}, at)).toBeUndefined();
    expect(reason({}, over)).toBe('over_request_cap');
    expect(policyRejection({}, over, origin)?.message).toContain(`policy.maxPerRequest['eip155:84532/${asset}']`);
    expect(policyRejection({}, over, origin)?.message).toContain('--max');
    // Lightning msat and an asset of unknown decimals are capped the same atomic way.
    expect(reason({}, { ...over, network: 'bip122:0f9188f13cb7b2c71f2a335e3a4fc328', asset: 'msat' })).toBe(
      'over_request_cap',
    );
    expect(reason({}, { ...over, asset: '0x0000000000000000000000000000000000000bad' })).toBe('over_request_cap');
    // raised per asset, or for every asset
    expect(reason({ maxPerRequest: { [asset]: 1_000_001n } }, over)).toBeUndefined();
    expect(reason({ defaultMaxPerRequest: 1_000_001n }, over)).toBeUndefined();
    expect(reason({ defaultMaxPerRequest: '999' }, { ...offer, amount: '1000' })).toBe('over_request_cap');
    // a per-asset entry wins over the default, both ways
    expect(reason({ defaultMaxPerRequest: 10n, maxPerRequest: { [asset]: 10_000n } })).toBeUndefined();
  });

  it('every address the payment authorizes passes the payee lists under its role', () => {
    const spender = '0x00000000000000000000000000000000000A77aC';
    const both = [
      { role: 'payee', address: offer.payTo },
      { role: 'spender', address: spender },
    ];
    expect(policyRejection({ payees: { allow: [offer.payTo] } }, offer, origin, both)?.reason).toBe(
      'spender_not_allowed',
    );
    expect(policyRejection({ payees: { allow: [offer.payTo] } }, offer, origin, both)?.message).toContain(spender);
    expect(policyRejection({ payees: { deny: [spender.toLowerCase()] } }, offer, origin, both)?.reason).toBe(
      'spender_denied',
    );
    expect(policyRejection({ payees: { allow: [offer.payTo, spender] } }, offer, origin, both)).toBeUndefined();
  });
});
