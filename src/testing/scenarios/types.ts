import type { ConformanceContext } from '../conformanceContext';

/** What a scenario observed when it passed: the refusal reason(s) and any note for the report. */
export type ScenarioObservation = { reason?: string; note?: string };

/** One scenario: throws ConformanceFailure when the rail breaks the contract. */
export type Scenario = (ctx: ConformanceContext) => Promise<ScenarioObservation>;
