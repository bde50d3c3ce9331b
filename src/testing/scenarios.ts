/**
 * The scenarios of the rail conformance kit, in the order they run. Ids are stable: setups name them to skip
 * a scenario or to pin its reason code.
 */
export const conformanceScenarios = [
  'happyPath',
  'distinctPayments',
  'wrongAmount',
  'wrongPayee',
  'wrongNetwork',
  'wrongAsset',
  'expired',
  'tamperedPayload',
  'malformedPayment',
  'replayed',
  'crossRouteReplay',
  'concurrentDoubleSubmit',
  'handlerFailure',
] as const;

/** One scenario id. */
export type ConformanceScenarioId = (typeof conformanceScenarios)[number];

/** What each scenario proves, as a test title. */
export const scenarioTitles: Record<ConformanceScenarioId, string> = {
  happyPath: 'pays through payingFetch; receipt checked field by field and signed; balances move by exactly the price',
  distinctPayments:
    'two payers paying the same request at once both settle, each once (payments are keyed per payment)',
  wrongAmount: 'a payment of another amount is refused with 402 and a reason; nothing moves',
  wrongPayee: 'a payment to another payee is refused with 402 and a reason; nothing moves',
  wrongNetwork: 'a payment made for another network is refused with 402 and a reason; nothing moves',
  wrongAsset: 'a payment in another asset is refused with 402 and a reason; nothing moves',
  expired: 'an expired payment is refused with 402 and a reason; nothing moves',
  tamperedPayload: 'a tampered payload is refused with 402 and a reason; nothing moves',
  malformedPayment:
    'a malformed header is answered 400, a malformed rail payload 402, each with a reason; nothing moves',
  replayed:
    'a settled payment presented for another request is refused (or, on a reusable rail, served with the original receipt) and never settles twice',
  crossRouteReplay: 'a settled payment replayed on another route is refused with 402 and a reason; nothing moves',
  concurrentDoubleSubmit:
    'the same payment submitted concurrently settles exactly once, every success carrying the same receipt',
  handlerFailure:
    'a handler answering 500 settles nothing; the same payment then settles once when the handler succeeds',
};
