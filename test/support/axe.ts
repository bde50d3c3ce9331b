/**
 * Automated accessibility checks in the real browser: axe-core (the npm package's `axe.min.js`, no
 * `@axe-core/playwright`, which needs Node ≥ 22.12) injected into a page as it is served and run over the whole
 * document. The pages keep their strict Content-Security-Policy during the check: `page.addScriptTag` is tried
 * first, and when the policy refuses that inline script (it does, by design: only the page's own script hash
 * runs), the same source is evaluated through the DevTools protocol, which the policy does not govern.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from '@playwright/test';
import type { AxeResults, Result } from 'axe-core';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** One violation as a test failure reads it: rule, impact, what to fix, and the offending elements. */
export type A11yViolation = { id: string; impact: string; help: string; targets: string[] };

/** Injects axe-core into `page` (once) and runs it over the document, WCAG 2.1 A/AA and best-practice rules. */
export async function runAxe(page: Page): Promise<AxeResults> {
  const present = await page.evaluate(() => typeof (window as { axe?: unknown }).axe === 'object');
  if (!present) {
    await page.addScriptTag({ content: AXE_SOURCE }).catch(() => undefined);
    const injected = await page.evaluate(() => typeof (window as { axe?: unknown }).axe === 'object');
    if (process.env.X402_AXE_LOG) console.log('AXE addScriptTag', injected ? 'worked' : 'refused (CSP)');
    if (!injected) await page.evaluate(AXE_SOURCE);
  }
  return page.evaluate(() =>
    (window as unknown as { axe: { run(context: Document, options: unknown): Promise<AxeResults> } }).axe.run(
      document,
      { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } },
    ),
  );
}

/** The serious and critical violations of the page as it is now (empty: none). */
export async function seriousA11yViolations(page: Page): Promise<A11yViolation[]> {
  const results = await runAxe(page);
  if (process.env.X402_AXE_LOG)
    console.log(
      'AXE',
      results.passes.length,
      'passes',
      JSON.stringify(results.violations.map((v) => [v.id, v.impact, v.nodes.map((n) => n.target.join(' '))])),
    );
  return results.violations
    .filter((v: Result) => v.impact === 'serious' || v.impact === 'critical')
    .map((v: Result) => ({
      id: v.id,
      impact: v.impact ?? 'unknown',
      help: v.help,
      targets: v.nodes.map((n) => n.target.join(' ')),
    }));
}
