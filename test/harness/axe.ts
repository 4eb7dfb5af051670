import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AxeResults, Result, RunOptions } from 'axe-core';
import type { Page } from 'playwright-core';

/** axe-core's browser build, from node_modules: it runs inside the page, on the page's real DOM and styles. */
const AXE_PATH = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
let axeSource: Promise<string> | undefined;

export interface A11yOptions {
  /** Rule ids to skip; each use needs a comment at the call saying why the rule does not apply. */
  disable?: string[];
}

/** What axe finds on the page as it is now (all rules axe runs by default: WCAG 2.x A/AA and best practices). */
export async function a11yViolations(page: Page, opts: A11yOptions = {}): Promise<Result[]> {
  if (!(await page.evaluate(() => 'axe' in window))) {
    // The console's CSP allows only its own origin's scripts (no inline ones): axe is served to
    // the browser from a path on that origin, answered here rather than by the server.
    axeSource ??= readFile(AXE_PATH, 'utf8');
    const body = await axeSource;
    const url = `${new URL(page.url()).origin}/__test__/axe.min.js`;
    await page.route(url, (route) => route.fulfill({ body, contentType: 'text/javascript; charset=utf-8' }));
    await page.addScriptTag({ url });
  }
  const options: RunOptions = {
    resultTypes: ['violations'],
    rules: Object.fromEntries((opts.disable ?? []).map((id) => [id, { enabled: false }])),
  };
  const results = await page.evaluate(
    (o) => (window as unknown as { axe: { run(c: Document, o: unknown): Promise<AxeResults> } }).axe.run(document, o),
    options,
  );
  return results.violations;
}

/** One line per violation and one per failing element, as a person fixing them reads them. */
export function describeViolations(where: string, violations: Result[]): string {
  return [
    `${violations.length} accessibility violation(s) on ${where}:`,
    ...violations.flatMap((v) => [
      `- ${v.id} (${v.impact ?? 'no impact given'}): ${v.help} [${v.helpUrl}]`,
      ...v.nodes.map(
        (n) =>
          `    ${n.target.map(String).join(' >> ')}${n.failureSummary ? `: ${n.failureSummary.replace(/\s+/g, ' ')}` : ''}`,
      ),
    ]),
  ].join('\n');
}

/** Fails, naming each violation's rule, impact, help and the failing selectors. */
export async function expectNoA11yViolations(page: Page, opts: A11yOptions = {}): Promise<void> {
  const violations = await a11yViolations(page, opts);
  if (violations.length) throw new Error(describeViolations(new URL(page.url()).pathname, violations));
}

/**
 * Fields with no <label> of their own. axe accepts a placeholder or an aria-label as a field's
 * name; a person who sees the page needs a visible label that stays once they type.
 */
export function fieldsWithoutLabel(page: Page): Promise<string[]> {
  return page
    .locator('input:not([type=hidden]):not([type=submit]):not([type=button]):not([type=reset]), select, textarea')
    .evaluateAll((els) =>
      (els as Array<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>)
        .filter((e) => !e.closest('[hidden]') && (e.labels?.length ?? 0) === 0)
        .map((e) => `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}${e.name ? `[name=${e.name}]` : ''}`),
    );
}
