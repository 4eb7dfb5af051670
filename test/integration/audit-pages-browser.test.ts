import { createRequire } from 'node:module';
import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { verifyExport } from '../../src/audit/verify.js';
import { downloadExport, launchChromium } from '../harness/browser.js';
import { startTestGateway, type TestGateway } from '../harness/gateway.js';
import { signInAs } from './console-signin.js';

/*
 * The auditor's journeys in Chromium: search (a bad time answered on the page, a search by
 * statement text with its total), a real session's playback (start, the error's meaning,
 * totals, the player), refused logins and admin actions; each page checked with axe-core.
 */

const SHOTS = 'test-results/screenshots';
let gw: TestGateway;
let browser: Browser;
let ctx: BrowserContext;
let page: Page;

/** axe-core, where it is installed (a devDependency): WCAG 2.1 A/AA rules on the page as it is now. */
const axePath = (() => {
  try {
    return createRequire(import.meta.url).resolve('axe-core/axe.min.js');
  } catch {
    return null;
  }
})();
async function axeViolations(p: Page): Promise<string[]> {
  if (!axePath) {
    console.warn('axe-core is not installed: accessibility rules not checked');
    return [];
  }
  // Evaluated through the DevTools protocol: the console's CSP (script-src 'self') stays as it is for the page.
  if (!(await p.evaluate(() => 'axe' in window))) await p.evaluate(`${await readFile(axePath, 'utf8')};undefined`);
  const result = await p.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: {
          run(
            o: unknown,
          ): Promise<{ violations: Array<{ id: string; help: string; nodes: Array<{ target: string[] }> }> }>;
        };
      }
    ).axe;
    return axe.run({ runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
  });
  return result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}

async function ready(p: Page): Promise<void> {
  await p.waitForSelector('body[data-ready]', { timeout: 20_000 });
  expect(await p.getAttribute('body', 'data-ready')).toBe('true');
}

let sessionId = '';

beforeAll(async () => {
  await mkdir(SHOTS, { recursive: true });
  gw = await startTestGateway(inject('pgCluster'), {}, { web: true });
  const ca = await readFile(gw.caPath, 'utf8');
  const { token } = await gw.issue('dana', { groups: ['developers'] });
  const c = new pg.Client({
    host: gw.host,
    port: gw.port,
    user: 'dana',
    password: token,
    database: gw.database,
    ssl: { ca, servername: 'localhost' },
    application_name: 'nightly-report',
  });
  await c.connect();
  await c.query('select 1 as one');
  await c.query('select g from generate_series(1, 25) g');
  await c.query('select nope from nowhere_at_all').catch(() => undefined);
  await c.query('select now()');
  await c.end();
  // A refused login: a password that is no token.
  const refused = new pg.Client({
    host: gw.host,
    port: gw.port,
    user: 'mallory',
    password: 'not-a-token',
    database: gw.database,
    ssl: { ca, servername: 'localhost' },
  });
  await refused.connect().catch(() => undefined);
  await refused.end().catch(() => undefined);
  await gw.gateway.settled();
  await vi.waitFor(
    async () => {
      const { rows } = await gw.cp.store.sql.query<{ id: string }>(
        `select id from sessions where username = 'dana' and ended_at is not null`,
      );
      expect(rows).toHaveLength(1);
      sessionId = rows[0]!.id;
      const refusals = await gw.cp.store.sql.query(`select 1 from auth_events where outcome = 'failure'`);
      expect(refusals.rowCount).toBeGreaterThan(0);
    },
    { timeout: 20_000 },
  );
  await gw.cp.store.sql.query(`insert into admin_events (actor, action, detail) values ('bob', 'policy.save', $1)`, [
    JSON.stringify({ version: 4, note: 'tighten reads' }),
  ]);
  browser = await launchChromium();
  const carol = await signInAs(gw, 'carol', ['auditors']);
  ctx = await browser.newContext({
    locale: 'en-US',
    timezoneId: 'Europe/Paris',
    viewport: { width: 1280, height: 900 },
  });
  const eq = carol.cookie.indexOf('=');
  await ctx.addCookies([{ name: carol.cookie.slice(0, eq), value: carol.cookie.slice(eq + 1), url: gw.web!.url }]);
  page = await ctx.newPage();
}, 180_000);
afterAll(async () => {
  await ctx?.close();
  await browser?.close();
  await gw?.close();
});

describe('the auditor in Chromium', () => {
  it('searches: a bad time is answered on the page, a statement search links to the playback', async () => {
    await page.goto(`${gw.web!.url}/audit`);
    await ready(page);
    // Every input has a label a screen reader reads (not a placeholder).
    for (const name of ['user', 'target', 'from', 'to', 'text', 'table', 'category', 'outcome', 'anomaly', 'endReason'])
      expect(
        await page.locator(`#search [name=${name}]`).evaluate((el) => (el as HTMLInputElement).labels?.length),
      ).toBe(1);
    expect(await page.locator('#results tbody tr').count()).toBeGreaterThan(0);

    await page.getByLabel('From (UTC)').first().fill('yesterday');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('#search-error').textContent()).toContain('from: "yesterday" is not a time');
    expect(await page.locator('#results tbody tr').count()).toBe(0);

    await page
      .getByLabel('From (UTC)')
      .first()
      .fill(new Date(Date.now() - 3_600_000).toISOString().slice(0, 16) + 'Z');
    await page.getByLabel('Statement contains').fill('nowhere_at_all');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.locator('#results-pager').textContent()).toContain('1–1 of 1 sessions');
    expect(await page.locator('#search-error').textContent()).toBe('');
    expect(await page.locator('#results').textContent()).toContain('select nope from nowhere_at_all');
    expect(new URL(page.url()).searchParams.get('text')).toBe('nowhere_at_all');
    expect(await axeViolations(page)).toEqual([]);
    await page.screenshot({ path: join(SHOTS, 'audit-search.png'), fullPage: true });

    // The export form: a signed file with the logins and admin actions, which verifies offline.
    await page
      .getByLabel('From (UTC)')
      .nth(1)
      .fill(new Date(Date.now() - 3_600_000).toISOString());
    await page.getByRole('button', { name: 'Export' }).click();
    await page.waitForSelector('#export-status a');
    expect(await page.locator('#export-status').textContent()).toMatch(
      /events of \d+ sessions, [1-9]\d* logins and \d+ admin actions/,
    );
    const dir = await mkdtemp(join(tmpdir(), 'pgward-audit-browser-'));
    const filePath = await downloadExport(page, dir);
    const verdict = await verifyExport(filePath);
    expect(verdict.problem).toBeNull();
    expect(verdict.notes.join('\n')).toMatch(
      /logins and admin actions: [1-9]\d* login\(s\), [1-9]\d* admin action\(s\)/,
    );

    await page.click('#results tbody a');
    await page.waitForURL(`**/audit/sessions/${sessionId}?text=nowhere_at_all`);
  }, 60_000);

  it('plays back the session: who, how, why, each statement with its outcome, the totals', async () => {
    await ready(page);
    // Opened from the statement search: the first match is marked and named.
    expect(await page.locator('#play-status').textContent()).toMatch(/^First match of the search: item \d+ of \d+$/);
    expect(await page.locator('#timeline li[aria-current=step]').textContent()).toContain('nowhere_at_all');
    const start = (await page.locator('#session').textContent()) ?? '';
    expect(start).toContain('dana');
    expect(start).toContain('application nightly-report');
    expect(start).toMatch(/Authenticated(scram-sha-256|password|cleartext)/);
    expect(start).toContain('Granted byrule ');
    const timeline = (await page.locator('#timeline').textContent()) ?? '';
    expect(timeline).toContain('select nope from nowhere_at_all');
    expect(timeline).toContain('ERROR 42P01: undefined table');
    expect(timeline).toContain('25 rows');
    expect(timeline).toContain('session_start');
    expect(timeline).not.toContain('{"');
    const totals = (await page.locator('#totals').textContent()) ?? '';
    expect(totals).toContain('Statements4');
    expect(totals).toContain('Errors1');
    expect(await page.locator('#timeline-pager').textContent()).toMatch(/1–\d+ of \d+ timeline items/);

    // The player: a step, then play to the end without waiting.
    await page.getByRole('button', { name: 'Step' }).click();
    await expect.poll(() => page.locator('#play-status').textContent()).toMatch(/^Item 6 of \d+/);
    await page.locator('h1').click();
    await page.keyboard.press('n');
    await expect.poll(() => page.locator('#play-status').textContent()).toMatch(/^Item 7 of \d+/);
    expect(await page.locator('#timeline li.current').count()).toBe(1);
    await page.getByLabel('Speed').selectOption('0');
    await page.getByRole('button', { name: 'Play' }).click();
    await expect
      .poll(() => page.locator('#play-status').textContent(), { timeout: 10_000 })
      .toBe('End of the session.');
    await page.evaluate(() => window.scrollTo(0, 0));
    expect(await axeViolations(page)).toEqual([]);
    await page.screenshot({ path: join(SHOTS, 'session-playback.png'), fullPage: true });
  }, 60_000);

  it('lists refused logins and admin actions, searchable and paged', async () => {
    await page.goto(`${gw.web!.url}/audit/events`);
    await ready(page);
    expect(await page.locator('#events').textContent()).toContain('mallory');
    await page.getByLabel('Outcome').selectOption('failure');
    await page.getByLabel('User').fill('mallory');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.locator('#events-pager').textContent()).toMatch(/^Previous1–\d+ of \d+ loginsNext$/);
    expect(await page.locator('#events tbody').textContent()).toContain('refused');
    expect(await axeViolations(page)).toEqual([]);
    await page.screenshot({ path: join(SHOTS, 'audit-events.png'), fullPage: true });

    await page.getByLabel('User').fill('');
    await page.getByRole('button', { name: 'Admin actions' }).click();
    await expect.poll(() => page.locator('#events').textContent()).toContain('policy.save');
    expect(await page.locator('#events').textContent()).toContain('note=tighten reads');
    expect(await page.getAttribute('#show-admin', 'aria-pressed')).toBe('true');
    await page.getByLabel('From (UTC)').fill('2026-02-31x');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.locator('#events-error').textContent()).toContain('is not a time');
  }, 60_000);
});
