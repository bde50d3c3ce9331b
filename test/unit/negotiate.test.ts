import { describe, expect, it } from 'vitest';
import { negotiate, type Candidate } from '../../src/core/negotiate';
import { PaymentInvalidError } from '../../src/core/errors';
import type { ClientRail, Wallet } from '../../src/core/rail';
import type { PaymentRequirements } from '../../src/protocol/schemas';

const evmUsdc = '0x036CbD53842c5426634e7929541eC2318f3dCF7e';
const offers: PaymentRequirements[] = [
  {
    scheme: 'exact',
    network: 'eip155:84532',
    amount: '10000',
    asset: evmUsdc,
    payTo: '0xPayee',
    maxTimeoutSeconds: 60,
    extra: {},
  },
  {
    scheme: 'exact',
    network: 'solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1',
    amount: '10000',
    asset: 'Mint111',
    payTo: 'SolPayee',
    maxTimeoutSeconds: 60,
    extra: {},
  },
  {
    scheme: 'exact',
    network: 'bip122:0f9188f13cb7b2c71f2a335e3a4fc328',
    amount: '50000',
    asset: 'msat',
    payTo: 'node',
    maxTimeoutSeconds: 60,
    extra: {},
  },
  {
    scheme: 'upto',
    network: 'eip155:84532',
    amount: '1',
    asset: evmUsdc,
    payTo: '0xPayee',
    maxTimeoutSeconds: 60,
    extra: {},
  },
];

function rail(id: string, walletKind: string, namespace: string, scheme = 'exact'): ClientRail {
  return {
    id,
    walletKind,
    supports: (req) => req.scheme === scheme && req.network.startsWith(`${namespace}:`),
    createPayment: async () => ({}),
  };
}
const evm = rail('evm-eip3009', 'evm', 'eip155');
const sol = rail('solana-spl', 'solana', 'solana');
const ln = rail('lightning-l402', 'lightning', 'bip122');
const wallets: Wallet[] = [{ kind: 'evm' }, { kind: 'solana' }, { kind: 'lightning' }];
const base = { offers, rails: [evm, sol, ln], wallets, policy: {}, origin: 'https://api.example.com' };

const indexes = (cs: Candidate[]) => cs.map((c) => c.index);

describe('negotiate', () => {
  it("keeps the server's order by default and pairs each candidate with its rail and wallet", () => {
    const { candidates, rejections } = negotiate(base);
    expect(indexes(candidates)).toEqual([0, 1, 2]);
    expect(candidates.map((c) => c.rail.id)).toEqual(['evm-eip3009', 'solana-spl', 'lightning-l402']);
    expect(candidates.map((c) => c.wallet.kind)).toEqual(['evm', 'solana', 'lightning']);
    expect(candidates[1]?.offer).toBe(offers[1]);
    expect(rejections).toEqual([
      {
        index: 3,
        scheme: 'upto',
        network: 'eip155:84532',
        asset: evmUsdc,
        amount: '1',
        reason: 'no_adapter',
        message: expect.any(String),
      },
    ]);
  });

  it('the result follows the server order whatever order the rails are given in', () => {
    expect(indexes(negotiate({ ...base, rails: [ln, sol, evm] }).candidates)).toEqual([0, 1, 2]);
  });

  it('rejects offers without an adapter (no_adapter) and without a wallet (no_wallet)', () => {
    const { candidates, rejections } = negotiate({ ...base, rails: [evm, sol], wallets: [{ kind: 'evm' }] });
    expect(indexes(candidates)).toEqual([0]);
    expect(rejections.map((r) => [r.index, r.reason])).toEqual([
      [1, 'no_wallet'],
      [2, 'no_adapter'],
      [3, 'no_adapter'],
    ]);
    expect(rejections[0]?.message).toContain('solana');
  });

  it('uses the second rail supporting an offer when only its wallet is configured', () => {
    const evmAlt = { ...rail('evm-permit', 'evm-hw', 'eip155') };
    const { candidates } = negotiate({
      ...base,
      offers: [offers[0] as PaymentRequirements],
      rails: [evm, evmAlt],
      wallets: [{ kind: 'evm-hw' }],
    });
    expect(candidates.map((c) => [c.rail.id, c.wallet.kind])).toEqual([['evm-permit', 'evm-hw']]);
  });

  it('applies the policy after adapter and wallet checks, reporting the policy reason', () => {
    const { candidates, rejections } = negotiate({
      ...base,
      policy: { networks: { deny: ['solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1'] } },
    });
    expect(indexes(candidates)).toEqual([0, 2]);
    expect(rejections.map((r) => [r.index, r.reason])).toEqual([
      [1, 'network_denied'],
      [3, 'no_adapter'],
    ]);
  });

  it('orders by a preference list of rail ids', () => {
    expect(indexes(negotiate({ ...base, prefer: ['lightning-l402', 'solana-spl'] }).candidates)).toEqual([2, 1, 0]);
  });

  it('orders by a preference list of network namespaces or exact networks', () => {
    expect(indexes(negotiate({ ...base, prefer: ['solana'] }).candidates)).toEqual([1, 0, 2]);
    expect(
      indexes(negotiate({ ...base, prefer: ['bip122:0f9188f13cb7b2c71f2a335e3a4fc328', 'eip155'] }).candidates),
    ).toEqual([2, 0, 1]);
    // a namespace must match whole: "eip" is not "eip155"
    expect(indexes(negotiate({ ...base, prefer: ['eip', 'bip'] }).candidates)).toEqual([0, 1, 2]);
  });

  it('orders by a comparator, ties broken by server order', () => {
    const cheapest = (a: Candidate, b: Candidate) => Number(BigInt(a.offer.amount) - BigInt(b.offer.amount));
    expect(indexes(negotiate({ ...base, prefer: (a, b) => -cheapest(a, b) }).candidates)).toEqual([2, 0, 1]);
    expect(indexes(negotiate({ ...base, prefer: cheapest }).candidates)).toEqual([0, 1, 2]);
    expect(indexes(negotiate({ ...base, prefer: () => 0 }).candidates)).toEqual([0, 1, 2]);
  });

  it('an empty challenge yields nothing and no rejections', () => {
    expect(negotiate({ ...base, offers: [] })).toEqual({ candidates: [], rejections: [] });
  });

  it('runs the payee lists over every address a rail says its payment authorizes (authorizedAddresses)', () => {
    const permitRail = {
      ...rail('evm-eip2612', 'evm', 'eip155'),
      authorizedAddresses: (req: PaymentRequirements) => {
        if (typeof req.extra.spender !== 'string') throw new PaymentInvalidError('invalid_requirements', 'no spender');
        return [
          { role: 'payee', address: req.payTo },
          { role: 'spender', address: req.extra.spender },
        ];
      },
    };
    const offer = offers[0] as PaymentRequirements;
    const withSpender = { ...offer, extra: { spender: '0xSpender' } };
    const run = (o: PaymentRequirements, payees: { allow?: string[]; deny?: string[] }) =>
      negotiate({ ...base, offers: [o], rails: [permitRail], policy: { payees } });
    expect(run(withSpender, { allow: ['0xPayee'] }).rejections.map((r) => r.reason)).toEqual(['spender_not_allowed']);
    expect(run(withSpender, { deny: ['0xspender'] }).rejections.map((r) => r.reason)).toEqual(['spender_denied']);
    expect(indexes(run(withSpender, { allow: ['0xPayee', '0xSpender'] }).candidates)).toEqual([0]);
    // a rail that cannot name what it authorizes refuses the offer instead of paying blind
    expect(run(offer, {}).rejections.map((r) => r.reason)).toEqual(['invalid_requirements']);
    // a rail without the power authorizes payTo alone
    expect(
      negotiate({ ...base, offers: [withSpender], rails: [evm], policy: { payees: { allow: ['0xPayee'] } } })
        .candidates,
    ).toHaveLength(1);
  });
});
