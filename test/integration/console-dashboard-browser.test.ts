import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DevUser } from '../../src/identity/dev-idp.js';
import { expectNoA11yViolations } from '../harness/axe.js';
import { launchChromium, signInAt } from '../harness/browser.js';
import { startTestGateway, type TestGateway } from '../harness/gateway.js';

/*
 * The dashboard as admins and auditors meet it in Chromium: first with nothing to show (each
 * figure says what to do next), then after real sessions, a refused login and an anomaly,
 * with each chart's numbers readable as a table.
 */

const SHOTS = 'test-results/screenshots';
/** Everyone reaches app; a DROP raises an anomaly (alert) without being refused. */
const POLICY = `profiles:
  watch:
    risks: { drop: alert }
rules:
  - name: everyone
    effect: allow
    subjects: { users: ['*'] }
    targets: ['*']
    tls: { required: false }
    session: { detector: watch }
`;

let gw: TestGateway;
let browser: Browser;
let ca: string;

const devUser = (name: string): DevUser => gw.web!.devIdp!.users.find((u) => u.username === name)!;

async function ready(page: Page): Promise<void> {
  await page.waitForSelector('body[data-ready]', { timeout: 15_000 });
  expect(await page.getAttribute('body', 'data-ready')).toBe('true');
}

/** A figure's text alternative: its table's rows as "label n" lines. */
async function numbers(page: Page, figure: string): Promise<string[]> {
  // textContent: the table sits in a closed <details> until someone opens it.
  return page
    .locator(`#${figure} details table tbody tr`)
    .evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent ?? '').join(' ')));
}

async function session(user: string, password: string, sql: string[]): Promise<void> {
  const c = new pg.Client({
    host: gw.host,
    port: gw.port,
    user,
    password,
    database: 'app',
    ssl: { ca, servername: 'localhost' },
  });
  c.on('error', () => undefined);
  await c.connect();
  for (const q of sql) await c.query(q);
  await c.end();
}

beforeAll(async () => {
  await mkdir(SHOTS, { recursive: true });
  gw = await startTestGateway(inject('pgCluster'), {}, { web: true, policies: { 'rules.yaml': POLICY } });
  ca = await readFile(gw.caPath, 'utf8');
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await gw?.close();
});

describe('dashboard', () => {
  it('carol (auditor) sees what to do when nothing happened, then sessions, refusals, anomalies and top users as charts with tables', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    const page = await ctx.newPage();
    await signInAt(page, gw.web!.url + '/dashboard', devUser('carol'));
    await ready(page);
    expect(await page.innerText('#chart-time')).toContain('Nothing happened in this period');
    expect(await page.innerText('#chart-users')).toContain('nobody has connected yet');
    expect(await page.locator('#dashboard canvas').count()).toBe(0);
    await expectNoA11yViolations(page);

    // Real activity: four sessions, one DROP (an anomaly), one wrong password.
    const erin = (await gw.issue('erin')).token;
    const frank = (await gw.issue('frank')).token;
    await session('erin', erin, ['select 1']);
    await session('erin', erin, ['select 2', 'drop table if exists nothing_here']);
    await session('erin', erin, ['select 3']);
    await session('frank', frank, ['select 4']);
    await expect(session('erin', 'not-the-token', [])).rejects.toThrow();
    await gw.gateway.settled();

    // The period chooser is a labelled select: change it by keyboard, the page redraws.
    await page.focus('#hours');
    await page.selectOption('#hours', '6');
    await page.waitForSelector('#dashboard canvas');
    await page.waitForFunction(() => document.querySelectorAll('#dashboard figure').length === 6);
    const cards = (await page.innerText('.cards')).replace(/\s+/g, ' ');
    expect(cards).toContain('4 sessions, last 6 hours');
    expect(cards).toContain('1 refused logins, last 6 hours');
    expect(cards).toContain('1 anomalies, last 6 hours');
    expect(await numbers(page, 'chart-users')).toEqual(['erin 3', 'frank 1']);
    expect(await numbers(page, 'chart-targets')).toEqual(['app 4']);
    expect(await numbers(page, 'chart-anomalies')).toEqual(['risky-statement 1']);
    expect(await numbers(page, 'chart-refusals')).toHaveLength(1);
    expect(await numbers(page, 'chart-ends')).toEqual(['client-terminate 4']);
    // Each chart has a text alternative: its aria-label says the numbers, its table lists them.
    for (const label of await page
      .locator('#dashboard canvas')
      .evaluateAll((cs) => cs.map((c) => c.getAttribute('aria-label') ?? '')))
      expect(label).toMatch(/\d/);
    expect(await page.getAttribute('#chart-users canvas', 'aria-label')).toContain('erin 3, frank 1');
    const hourRows = await numbers(page, 'chart-time');
    expect(hourRows.length).toBeGreaterThanOrEqual(6);
    expect(hourRows.at(-1)).toMatch(/ 4 1 1$/);
    // Every input has a label; the disclosure opens from the keyboard.
    expect(
      await page.evaluate(() =>
        [...document.querySelectorAll('main input, main select, main textarea')]
          .filter((e) => ((e as HTMLInputElement).labels?.length ?? 0) === 0 && !e.getAttribute('aria-label'))
          .map((e) => e.outerHTML),
      ),
    ).toEqual([]);
    await page.focus('#chart-users details summary');
    await page.keyboard.press('Enter');
    expect(await page.getAttribute('#chart-users details', 'open')).toBe('');
    await expectNoA11yViolations(page);
    await page.screenshot({ path: join(SHOTS, 'dashboard.png'), fullPage: true });
    await ctx.close();
  }, 90_000);

  it('bob (admin) lands on the same figures; alice (developer) is pointed to her own page and refused the data', async () => {
    const admin = await browser.newContext();
    const page = await admin.newPage();
    await signInAt(page, gw.web!.url + '/dashboard', devUser('bob'));
    await ready(page);
    expect(await page.innerText('.cards')).toContain('open now');
    expect(await page.getAttribute('.cards a[href="/admin/sessions"]', 'href')).toBe('/admin/sessions');
    await admin.close();

    const dev = await browser.newContext();
    const p2 = await dev.newPage();
    await signInAt(p2, gw.web!.url + '/dashboard', devUser('alice'));
    await ready(p2);
    expect(await p2.innerText('#dashboard')).toContain('The dashboard is for administrators and auditors');
    expect(await p2.getAttribute('#dashboard a', 'href')).toBe('/me');
    expect((await p2.request.get(gw.web!.url + '/api/dashboard')).status()).toBe(403);
    expect((await p2.request.get(gw.web!.url + '/api/audit/dashboard')).status()).toBe(403);
    await dev.close();
  }, 60_000);
});
