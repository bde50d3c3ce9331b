/**
 * The kit must fail rails that break the contract, not only pass good ones: each case below is the fake rail
 * with one defect, and the scenario that must catch it.
 */
import { describe, expect, it } from 'vitest';
import type { RailAdapter, SettleResult } from '../../src/core/rail';
import { runRailConformance, type ConformanceScenarioId, type RailConformanceSetup } from '../../src/testing/index';
import { createFakeLedger, fakeRail } from '../unit/support/fakeRail';

/** A setup over the fake rail, with `defect` applied to the rail. */
function brokenSetup(
  defect: (rail: RailAdapter, ledger: ReturnType<typeof createFakeLedger>) => RailAdapter,
  extra: Partial<RailConformanceSetup> = {},
): RailConformanceSetup {
  const ledger = createFakeLedger();
  const rail = defect(fakeRail({ ledger, payTo: 'merchant' }), ledger);
  return {
    server: rail,
    client: rail,
    wallet: ledger.open('alice', 1_000_000n),
    secondWallet: ledger.open('bob', 1_000_000n),
    offer: { amount: 1_000n },
    balances: async () => ({ payer: ledger.balanceOf('alice'), payee: ledger.balanceOf('merchant') }),
    payer: 'alice',
    variants: { payTo: 'mallory', asset: 'OTHER' },
    skip: { expired: 'fake payments carry no validity window' },
    ...extra,
  };
}

async function failedScenarios(
  setup: RailConformanceSetup,
  only: readonly ConformanceScenarioId[],
): Promise<ConformanceScenarioId[]> {
  const report = await runRailConformance(() => setup, { only });
  return report.results.filter((r) => r.status === 'failed').map((r) => r.id);
}

describe('conformance kit against broken rails', () => {
  it('fails a rail whose verify accepts any signature (wrong amount, payee, network, asset, tampered)', async () => {
    const setup = brokenSetup((rail) => ({
      ...rail,
      verify: async (payload, req) => ({ isValid: true, payer: String(payload.from), amount: req.amount }),
      settle: async (payload, req): Promise<SettleResult> => ({
        status: 'settled',
        reference: `unchecked-${String(payload.nonce)}`,
        payer: String(payload.from),
        amount: req.amount,
      }),
    }));
    const failed = await failedScenarios(setup, [
      'wrongAmount',
      'wrongPayee',
      'wrongNetwork',
      'wrongAsset',
      'tamperedPayload',
    ]);
    expect(failed).toEqual(['wrongAmount', 'wrongPayee', 'wrongNetwork', 'wrongAsset', 'tamperedPayload']);
  });

  it('fails a rail that charges twice per settlement (happy path balances)', async () => {
    const setup = brokenSetup((rail, ledger) => ({
      ...rail,
      async settle(payload, req, ctx) {
        const result = await rail.settle(payload, req, ctx);
        ledger.balances.set(String(payload.from), ledger.balanceOf(String(payload.from)) - BigInt(req.amount));
        return result;
      },
    }));
    expect(await failedScenarios(setup, ['happyPath'])).toEqual(['happyPath']);
  });

  it('fails a rail that reports settled without moving money, and a receipt the rail cannot back', async () => {
    const setup = brokenSetup((rail) => ({
      ...rail,
      settle: async (payload, req): Promise<SettleResult> => ({
        status: 'settled',
        reference: 'nothing-moved',
        payer: String(payload.from),
        amount: req.amount,
      }),
    }));
    const report = await runRailConformance(() => setup, { only: ['happyPath'] });
    expect(report.results[0]?.error?.message).toMatch(/balance must/);
  });

  it('fails a rail whose receipt names another payer', async () => {
    const setup = brokenSetup((rail) => ({
      ...rail,
      async settle(payload, req, ctx) {
        const result = await rail.settle(payload, req, ctx);
        return result.status === 'settled' ? { ...result, payer: 'someone-else' } : result;
      },
    }));
    const report = await runRailConformance(() => setup, { only: ['happyPath'] });
    expect(report.results[0]?.error?.message).toMatch(/receipt\.payer/);
  });

  it('runs checkSettlement on the happy path receipt and fails when it throws', async () => {
    const setup = brokenSetup((rail) => rail, {
      checkSettlement: () => {
        throw new Error('reference not found on chain');
      },
    });
    const report = await runRailConformance(() => setup, { only: ['happyPath'] });
    expect(report.results[0]?.error?.message).toBe('reference not found on chain');
  });

  it('refuses a skip without a reason, a skipped happy path, and an unknown scenario', async () => {
    await expect(runRailConformance(() => brokenSetup((r) => r, { skip: { wrongAmount: ' ' } }))).rejects.toThrow(
      /skip\.wrongAmount must give a reason/,
    );
    await expect(runRailConformance(() => brokenSetup((r) => r, { skip: { happyPath: 'no' } }))).rejects.toThrow(
      /happyPath cannot be skipped/,
    );
    const unknown: RailConformanceSetup = brokenSetup((r) => r);
    Object.assign(unknown, { skip: { notAScenario: 'x' } });
    await expect(runRailConformance(() => unknown)).rejects.toThrow(/unknown scenario/);
  });

  it('fails wrongPayee and wrongAsset that have no variant, hook or skip, saying what to give', async () => {
    const setup = brokenSetup((r) => r, { variants: {} });
    const report = await runRailConformance(() => setup, { only: ['wrongPayee', 'wrongAsset'] });
    expect(report.results.map((r) => r.error?.message)).toEqual([
      'wrongPayee needs variants.payTo (another payee of this rail), hooks.payToOther, or skip.wrongPayee with a reason.',
      'wrongAsset needs variants.asset (another asset of this rail), hooks.payOtherAsset, or skip.wrongAsset with a reason.',
    ]);
  });

  it('holds a pinned reason code: another code fails the scenario', async () => {
    const setup = brokenSetup((r) => r, { expectReasons: { wrongAmount: 'amount_mismatch' } });
    const report = await runRailConformance(() => setup, { only: ['wrongAmount'] });
    expect(report.results[0]?.error?.message).toMatch(/must be refused with amount_mismatch.*invalid_signature/);
  });
});
