/**
 * Vitest global setup: one set of devnets (EVM, Solana, Lightning via `startDevnets`) for the whole run,
 * described as plain JSON to the test processes (`inject('devnets')`), which connect over RPC / gRPC with
 * `connectSharedDevnets`. Suites that restart or fault a devnet keep starting their own.
 */
import type { TestProject } from 'vitest/node';
import { startDevnets } from '../../fixtures/startDevnets';
import { describeDevnets, type DevnetsDescription } from '../../src/cli/describeDevnets';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Endpoints and funded keys of the shared devnets. */
    devnets: DevnetsDescription;
    /** How long the shared devnets took to start, ms. */
    devnetsStartMs: number;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const devnets = await startDevnets();
  project.provide('devnets', describeDevnets(devnets));
  project.provide('devnetsStartMs', devnets.timings.totalMs);
  return () => devnets.stop();
}
