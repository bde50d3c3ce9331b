import { ConfigurationError } from '../core/errors';
import {
  formatConformanceReport,
  openRailConformance,
  summarize,
  type ConformanceResult,
  type ConformanceSession,
} from './runRailConformance';
import { conformanceScenarios, type ConformanceScenarioId } from './scenarios';
import { conformanceProtocols, type ConformanceProtocol } from './protocols/index';
import type { RailConformanceSetupFn } from './setup';

/** Options of {@link describeRailConformance}. */
export type DescribeRailConformanceOptions = {
  /** Timeout of the setup (devnet start), ms (default 120 s). */
  setupTimeoutMs?: number;
  /** Timeout of each scenario, ms (default 60 s). */
  scenarioTimeoutMs?: number;
  /** Print the report table after the suite (default true). */
  printReport?: boolean;
  /** Run only these scenarios. */
  only?: readonly ConformanceScenarioId[];
  /**
   * The protocols to register tests for (default all three: x402, l402, mpp); one the setup does not claim is
   * reported skipped. Name the claimed ones to keep the report short.
   */
  protocols?: readonly ConformanceProtocol[];
};

/**
 * Registers the conformance kit as a vitest suite: the setup runs in `beforeAll`, each scenario is one test
 * (skipped ones are reported as skipped with the setup's reason), the teardown runs in `afterAll`, and the
 * report table is printed at the end. vitest (an optional peer) is loaded only here, so the rest of
 * `x402-rails/testing` works without it: `await` the call at the top level of the test file, while vitest
 * collects it (a file whose only suite is not awaited fails with "No test suite found").
 *
 * @example
 * await describeRailConformance('my rail', async () => ({
 *   server, client, wallet, secondWallet, offer: { amount: 1_000n },
 *   balances: async () => ({ payer: await balanceOf(alice), payee: await balanceOf(shop) }),
 *   variants: { payTo: mallory, asset: otherToken },
 *   teardown: () => devnet.stop(),
 * }));
 */
export async function describeRailConformance(
  name: string,
  setup: RailConformanceSetupFn,
  options: DescribeRailConformanceOptions = {},
): Promise<void> {
  const { afterAll, beforeAll, describe, it } = await loadVitest();
  describe(`rail conformance: ${name}`, () => {
    let session: ConformanceSession | undefined;
    const results: ConformanceResult[] = [];
    let started = 0;
    beforeAll(async () => {
      started = performance.now();
      session = await openRailConformance(setup);
    }, options.setupTimeoutMs ?? 120_000);
    afterAll(async () => {
      await session?.close();
      if (session && options.printReport !== false)
        console.info(
          formatConformanceReport(
            summarize(name === session.setup.server.id ? name : `${session.setup.server.id} (${name})`, results, {
              setupMs: session.setupMs,
              durationMs: Math.round(performance.now() - started),
            }),
          ),
        );
    });
    for (const protocol of options.protocols ?? conformanceProtocols) {
      describe(protocol, () => {
        for (const id of options.only ?? conformanceScenarios) {
          it(
            id,
            async (context) => {
              if (!session) throw new Error('The conformance setup did not complete.');
              const result = await session.run(id, protocol);
              results.push(result);
              if (result.status === 'skipped') context.skip(`${protocol} ${id} skipped: ${result.skipReason ?? ''}`);
              if (result.error) throw result.error;
            },
            options.scenarioTimeoutMs ?? 60_000,
          );
        }
      });
    }
  });
}

async function loadVitest(): Promise<typeof import('vitest')> {
  try {
    return await import('vitest');
  } catch (cause) {
    throw new ConfigurationError(
      'describeRailConformance runs under vitest: install vitest, or call runRailConformance from your own test runner.',
      { cause },
    );
  }
}
