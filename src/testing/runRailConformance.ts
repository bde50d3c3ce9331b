import { createConformanceContext, type ConformanceContext } from './conformanceContext';
import { ConformanceFailure } from './conformanceFailure';
import { conformanceScenarios, scenarioTitles, type ConformanceScenarioId } from './scenarios';
import { distinctPayments, happyPath } from './scenarios/happyPath';
import {
  expired,
  malformedPayment,
  tamperedPayload,
  wrongAmount,
  wrongAsset,
  wrongNetwork,
  wrongPayee,
} from './scenarios/badPayments';
import { concurrentDoubleSubmit, crossRouteReplay, replayed } from './scenarios/replays';
import { handlerFailure } from './scenarios/handlerFailure';
import type { Scenario } from './scenarios/types';
import { conformanceProtocols, type ConformanceProtocol } from './protocols/index';
import type { RailConformanceSetup, RailConformanceSetupFn } from './setup';

const scenarios: Record<ConformanceScenarioId, Scenario> = {
  happyPath,
  distinctPayments,
  wrongAmount,
  wrongPayee,
  wrongNetwork,
  wrongAsset,
  expired,
  tamperedPayload,
  malformedPayment,
  replayed,
  crossRouteReplay,
  concurrentDoubleSubmit,
  handlerFailure,
};

/** The outcome of one scenario. */
export type ConformanceResult = {
  id: ConformanceScenarioId;
  /** The protocol the scenario ran in. */
  protocol: ConformanceProtocol;
  title: string;
  status: 'passed' | 'failed' | 'skipped';
  /** Why the scenario was skipped (the setup's words). */
  skipReason?: string;
  /** The refusal reason code(s) the rail answered. */
  reason?: string;
  /** Anything the report should say about how the scenario passed. */
  note?: string;
  /** Why it failed. */
  error?: Error;
  durationMs: number;
};

/** The outcome of a whole run. */
export type ConformanceReport = {
  rail: string;
  results: ConformanceResult[];
  passed: number;
  failed: number;
  skipped: number;
  /** The setup's own time (devnet start, funding), ms. */
  setupMs: number;
  /** Setup plus every scenario, ms. */
  durationMs: number;
};

/** An opened conformance run: the setup done and the kit's paywall built; run scenarios one by one. */
export type ConformanceSession = {
  setup: RailConformanceSetup;
  /** The protocols the setup claims: x402, then those it names in `protocols`. */
  protocols: ConformanceProtocol[];
  /** How long the setup function took, ms. */
  setupMs: number;
  /**
   * Runs one scenario in one protocol (default x402), or reports it skipped (a skipped scenario, or a protocol the
   * setup does not claim). Never throws for a failing rail; see `status`.
   */
  run(id: ConformanceScenarioId, protocol?: ConformanceProtocol): Promise<ConformanceResult>;
  /** Runs the setup's teardown. */
  close(): Promise<void>;
};

/** Options of {@link runRailConformance}. */
export type RunRailConformanceOptions = {
  /** Run only these scenarios (default: all, in order). */
  only?: readonly ConformanceScenarioId[];
  /** Run only these protocols (default: every protocol the setup claims). */
  protocols?: readonly ConformanceProtocol[];
};

/**
 * Calls the setup and builds the kit's paywall over its server rail. The framework-neutral core of the kit.
 *
 * @example
 * const session = await openRailConformance(setup);
 * const result = await session.run('happyPath');
 * await session.close();
 */
export async function openRailConformance(setupFn: RailConformanceSetupFn): Promise<ConformanceSession> {
  const started = performance.now();
  const setup = await setupFn();
  const setupMs = Math.round(performance.now() - started);
  try {
    for (const id of Object.keys(setup.skip ?? {})) {
      if (!(conformanceScenarios as readonly string[]).includes(id))
        throw new ConformanceFailure(`skip names an unknown scenario "${id}".`);
      if (!setup.skip?.[id as ConformanceScenarioId]?.trim())
        throw new ConformanceFailure(`skip.${id} must give a reason.`);
    }
    if (setup.skip?.happyPath !== undefined) throw new ConformanceFailure('happyPath cannot be skipped.');
    for (const id of Object.keys(setup.protocols ?? {}))
      if (!(conformanceProtocols as readonly string[]).includes(id) || id === 'x402')
        throw new ConformanceFailure(`protocols names an unknown protocol "${id}" (l402 or mpp; x402 is always run).`);
    const protocols = conformanceProtocols.filter((p) => p === 'x402' || setup.protocols?.[p] !== undefined);
    const contexts = new Map<ConformanceProtocol, Promise<ConformanceContext>>();
    const contextFor = (protocol: ConformanceProtocol) => {
      let context = contexts.get(protocol);
      if (!context) {
        context = createConformanceContext(setup, protocol);
        contexts.set(protocol, context);
      }
      return context;
    };
    await contextFor('x402');
    return {
      setup,
      protocols,
      setupMs,
      async run(id, protocol = 'x402') {
        const title = scenarioTitles[id];
        if (!protocols.includes(protocol))
          return {
            id,
            protocol,
            title,
            status: 'skipped',
            skipReason: `the setup claims no ${protocol}`,
            durationMs: 0,
          };
        const started = performance.now();
        let context: ConformanceContext;
        try {
          context = await contextFor(protocol);
        } catch (cause) {
          const error = cause instanceof Error ? cause : new Error(String(cause));
          return { id, protocol, title, status: 'failed', error, durationMs: Math.round(performance.now() - started) };
        }
        const skipReason = context.setup.skip?.[id];
        if (skipReason !== undefined) return { id, protocol, title, status: 'skipped', skipReason, durationMs: 0 };
        try {
          const observed = await scenarios[id](context);
          return {
            id,
            protocol,
            title,
            status: 'passed',
            ...observed,
            durationMs: Math.round(performance.now() - started),
          };
        } catch (cause) {
          const error = cause instanceof Error ? cause : new Error(String(cause));
          return { id, protocol, title, status: 'failed', error, durationMs: Math.round(performance.now() - started) };
        }
      },
      close: async () => {
        await setup.teardown?.();
      },
    };
  } catch (error) {
    await setup.teardown?.();
    throw error;
  }
}

/**
 * Runs the whole conformance kit against a rail and returns the report (it does not throw for a failing
 * scenario; check `failed`). Use it from any test runner; {@link describeRailConformance} wraps it for vitest.
 *
 * @example
 * const report = await runRailConformance(async () => ({ server, client, wallet, secondWallet, offer, balances }));
 * if (report.failed > 0) console.error(formatConformanceReport(report));
 */
export async function runRailConformance(
  setupFn: RailConformanceSetupFn,
  options: RunRailConformanceOptions = {},
): Promise<ConformanceReport> {
  const started = performance.now();
  const session = await openRailConformance(setupFn);
  const results: ConformanceResult[] = [];
  try {
    for (const protocol of options.protocols ?? session.protocols)
      for (const id of options.only ?? conformanceScenarios) results.push(await session.run(id, protocol));
  } finally {
    await session.close();
  }
  return summarize(session.setup.server.id, results, {
    setupMs: session.setupMs,
    durationMs: Math.round(performance.now() - started),
  });
}

/** Counts a list of results into a report. */
export function summarize(
  rail: string,
  results: ConformanceResult[],
  times: { setupMs: number; durationMs: number },
): ConformanceReport {
  const count = (status: ConformanceResult['status']) => results.filter((r) => r.status === status).length;
  return { rail, results, passed: count('passed'), failed: count('failed'), skipped: count('skipped'), ...times };
}

/**
 * A plain-text table of a report: one line per scenario with its status, the reason codes the rail answered,
 * the skip reason or the failure.
 *
 * @example console.log(formatConformanceReport(await runRailConformance(setup)));
 */
export function formatConformanceReport(report: ConformanceReport): string {
  const lines = report.results.map((r) => {
    const detail =
      r.status === 'skipped'
        ? `skipped: ${r.skipReason}`
        : r.status === 'failed'
          ? `FAILED: ${r.error?.message}`
          : [r.reason, r.note].filter(Boolean).join(' — ');
    return `  ${r.status === 'passed' ? '✓' : r.status === 'skipped' ? '-' : '✗'} ${r.protocol.padEnd(5)} ${r.id.padEnd(24)} ${String(r.durationMs).padStart(6)} ms  ${detail}`;
  });
  const scenariosMs = report.results.reduce((sum, r) => sum + r.durationMs, 0);
  const head = `conformance ${report.rail}: ${report.passed} passed, ${report.skipped} skipped, ${report.failed} failed (setup ${report.setupMs} ms, scenarios ${scenariosMs} ms, total ${report.durationMs} ms)`;
  return [head, ...lines].join('\n');
}
