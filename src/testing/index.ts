/**
 * x402-rails/testing: the conformance kit for rail adapters. Give it a setup (server rail, client rail, two
 * funded payer wallets, a price, a balance reader, and hooks or skips where a generic bad payment does not
 * apply) and it builds its own paywall, pays through payingFetch in-process, and checks the happy path (the
 * receipt field by field, balances moved by exactly the price) and the negative scenarios every rail must
 * refuse. `runRailConformance` is framework-neutral; `describeRailConformance` registers it with vitest.
 */
export { describeRailConformance, type DescribeRailConformanceOptions } from './describeRailConformance';
export {
  runRailConformance,
  openRailConformance,
  formatConformanceReport,
  summarize,
  type ConformanceResult,
  type ConformanceReport,
  type ConformanceSession,
  type RunRailConformanceOptions,
} from './runRailConformance';
export { conformanceScenarios, scenarioTitles, type ConformanceScenarioId } from './scenarios';
export { conformanceProtocols, type ConformanceProtocol } from './protocols/index';
export { setupUnder } from './conformanceContext';
export type {
  ConformanceProtocolSetup,
  RailConformanceSetup,
  RailConformanceSetupFn,
  ConformanceBalances,
  ConformanceHooks,
  ConformanceHookKit,
  ConformancePayOptions,
  ConformanceVariants,
  BadPaymentHook,
} from './setup';
export { tamperPayload } from './tamperPayload';
export { otherNetworkOf } from './scenarios/badPayments';
export { ConformanceFailure } from './conformanceFailure';
export { CONFORMANCE_ORIGIN, PAID_PATH, OTHER_PATH, FAIL_HEADER } from './conformanceContext';
