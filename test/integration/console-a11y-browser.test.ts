import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import Fastify from 'fastify';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { DevUser } from '../../src/identity/dev-idp.js';
import { registerNotFoundPage } from '../../src/web/not-found.js';
import { expectNoA11yViolations, fieldsWithoutLabel } from '../harness/axe.js';
import { launchChromium, signInAt } from '../harness/browser.js';
import { run } from '../harness/clients.js';
import { startTestGateway, type TestGateway } from '../harness/gateway.js';
import { homeWithCa } from './connect-lines-home.js';

const SHOTS = 'test-results/screenshots';
const WAIT = { timeout: 20_000, interval: 50 };
let gw: TestGateway;
let browser: Browser;
let ctx: BrowserContext;
let page: Page;
let sessionId = '';

const devUser = (name: string): DevUser => gw.web!.devIdp!.users.find((u) => u.username === name)!;

/** Opens a console page and waits for its data (console pages set body[data-ready]); returns the HTTP status. */
async function open(p: Page, path: string): Promise<number> {
  const res = await p.goto(gw.web!.url + path);
  if (await p.locator('body[data-page]').count()) await p.waitForSelector('body[data-ready]', { timeout: 15_000 });
  return res!.status();
}

/**
 * Pages wider than a phone for reasons in files this test's author did not own, left out of the
 * 390 px check until fixed: the dashboard's chart grid (insight.css .charts, minmax(26rem, 1fr)),
 * and tables with more columns than a phone shows, not yet in a sideways-scrolling box
 * (#my-requests; #pending and #decided; the anomalies' #recent).
 */

/** How wide the page and its header are, and what sticks out past 390 px (inside a sideways-scrolling box is not out). */
function widths(p: Page): Promise<{ page: number; header: number; beyond: string[] }> {
  return p.evaluate(() => ({
    page: document.documentElement.scrollWidth,
    header: document.querySelector('header')!.scrollWidth,
    beyond: [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > 390.5 && !e.parentElement?.closest('.wide'))
      .map(
        (e) => `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''} ${Math.round(e.getBoundingClientRect().right)}px`,
      ),
  }));
}

beforeAll(async () => {
  await mkdir(SHOTS, { recursive: true });
  // bob's group makes him an admin and an auditor: the header then carries the whole nav.
  gw = await startTestGateway(
    inject('pgCluster'),
    { web: { host: '127.0.0.1', port: 0, roles: { admin: ['admins'], auditor: ['admins', 'auditors'] } } },
    { web: true },
  );
  browser = await launchChromium();
  ctx = await browser.newContext({ locale: 'en-US' });
  page = await ctx.newPage();
  await signInAt(page, gw.web!.url, devUser('bob'));
  // One real psql session through the gateway, for My activity and a session timeline.
  const line = ((await page.locator('#psql-line').textContent()) ?? '').trim();
  const r = await run('bash', ['-c', `${line} -X -At -c "select 40 + 2"`], {
    env: { PGPASSFILE: '/dev/null', HOME: await homeWithCa(gw.web!.url) },
  });
  expect(r.stdout.trim(), r.stderr).toBe('42');
  await gw.gateway.settled();
  await vi.waitFor(async () => {
    const { rows } = await gw.cp.store.sql.query<{ id: string }>(
      `select id from sessions where username = 'bob' and ended_at is not null`,
    );
    expect(rows).toHaveLength(1);
    sessionId = rows[0]!.id;
  }, WAIT);
});
afterAll(async () => {
  await browser?.close();
  await gw?.close();
});

describe('console accessibility (axe-core in Chromium)', () => {
  const pages = [
    '/',
    '/me',
    '/requests',
    '/approvals',
    '/dashboard',
    '/admin/policy',
    '/admin/sessions',
    '/admin/targets',
    '/admin/tokens',
    '/audit',
    '/audit/anomalies',
    '/audit/events',
  ];
  for (const path of pages)
    it(`${path} has no axe violations`, async () => {
      expect(await open(page, path)).toBe(200);
      await expectNoA11yViolations(page);
      expect(await fieldsWithoutLabel(page)).toEqual([]);
    });

  it('a session timeline has no axe violations', async () => {
    expect(await open(page, `/audit/sessions/${sessionId}`)).toBe(200);
    expect(await page.locator('#timeline').textContent()).toContain('select $1 + $2');
    await expectNoA11yViolations(page);
  });

  it('the policy page with a diff, a dry run and the rules for a target shown has no axe violations', async () => {
    await open(page, '/admin/policy');
    await page.click('#preview');
    await page.waitForFunction(() => (document.querySelector('#diff')?.textContent ?? '') !== '');
    await page.fill('#dry-run input[name=user]', 'alice');
    await page.fill('#dry-run input[name=database]', 'app');
    await page.click('#dry-run button');
    await page.waitForFunction(() => (document.querySelector('#dry-run-result')?.textContent ?? '') !== '');
    await page.fill('#who input[name=target]', 'app');
    await page.click('#who button');
    await page.waitForSelector('#who-result tbody tr');
    await expectNoA11yViolations(page);
  });

  it('the audit search with results has no axe violations', async () => {
    await open(page, '/audit');
    await page.fill('#search input[name=user]', 'bob');
    await page.click('#search button');
    await page.waitForSelector('#results a');
    await expectNoA11yViolations(page);
  });

  it('every chart has a text alternative: a name, and its numbers as text', async () => {
    /** Each canvas: its role, name, and the text of what describes it or the table beside it. */
    const charts = (p: Page) =>
      p.locator('canvas').evaluateAll((cs) =>
        cs.map((c) => {
          const described = (c.getAttribute('aria-describedby') ?? '')
            .split(' ')
            .map((id) => document.getElementById(id)?.textContent ?? '')
            .join(' ');
          return {
            role: c.getAttribute('role'),
            name: c.getAttribute('aria-label') ?? '',
            text: `${described} ${c.closest('figure')?.querySelector('table')?.textContent ?? ''}`.trim(),
          };
        }),
      );
    await open(page, '/audit/anomalies');
    const anomalies = await charts(page);
    expect(anomalies).toHaveLength(1);
    expect(anomalies[0]).toMatchObject({ role: 'img', name: expect.stringMatching(/^Anomalies per hour/) });
    expect(anomalies[0]!.text).toMatch(/anomalies in the last 7 days|\d+ in all/i);
    await open(page, '/dashboard');
    const dashboard = await charts(page);
    expect(dashboard.length).toBeGreaterThan(0);
    for (const c of dashboard) {
      expect(c.role).toBe('img');
      expect(c.name).not.toBe('');
      // The same numbers as a table in the chart's figure (bob ran one session: a count of 1 shows).
      expect(c.text).toMatch(/\d/);
    }
  });

  it('the signed-out start page and a page the role does not allow have no axe violations', async () => {
    const out = await browser.newContext({ locale: 'en-US' });
    const p = await out.newPage();
    await p.goto(gw.web!.url + '/');
    await expectNoA11yViolations(p);
    await signInAt(p, gw.web!.url, devUser('alice'));
    const res = await p.goto(gw.web!.url + '/admin/policy');
    expect(res!.status()).toBe(403);
    expect(await p.locator('[role=alert]').textContent()).toBe('This page needs the admin role.');
    await expectNoA11yViolations(p);
    await out.close();
  });

  it('the current page is marked in the nav', async () => {
    await open(page, '/admin/targets');
    expect(await page.locator('header nav a[aria-current="page"]').allTextContents()).toEqual(['Targets']);
    await open(page, `/audit/sessions/${sessionId}`);
    // A page under a nav entry marks that entry (no link names the timeline itself).
    expect(await page.locator('header nav a[aria-current="page"]').allTextContents()).toEqual(['Audit']);
  });

  it('a page that does not exist answers an HTML 404 page a browser shows, without violations', async () => {
    // The page registered on a Fastify of the test's own (server.ts registers it in the gateway),
    // signed out and signed in (the header as bob sees it); the browser is served each answer at
    // the console's origin, so the console's stylesheet applies.
    const bob = { user: 'bob', csrf: 'x', roles: new Set(['developer', 'admin', 'auditor']) };
    for (const who of [null, bob]) {
      const app = Fastify();
      registerNotFoundPage(app, async () => who);
      await app.ready();
      const answer = await app.inject({ url: '/no/such/page', headers: { accept: 'text/html,*/*;q=0.8' } });
      await app.close();
      expect(answer.statusCode).toBe(404);
      expect(answer.headers['content-type']).toMatch(/^text\/html/);
      await page.route('**/no/such/page', (route) =>
        route.fulfill({ status: 404, contentType: 'text/html; charset=utf-8', body: answer.body }),
      );
      const res = await page.goto(gw.web!.url + '/no/such/page');
      expect(res!.status()).toBe(404);
      expect(await page.locator('h1').textContent()).toBe('Page not found');
      expect(await page.locator('main a[href="/"]').count()).toBe(1);
      expect(await page.locator('header nav a[href="/admin/policy"]').count()).toBe(who ? 1 : 0);
      expect(await page.locator('header nav a[href="/audit"]').count()).toBe(who ? 1 : 0);
      await expectNoA11yViolations(page);
      if (who) await page.screenshot({ path: join(SHOTS, 'not-found-page.png') });
      await page.unroute('**/no/such/page');
    }
  });

  it("the gateway's own 404 is an HTML page with the nav and no axe violations", async () => {
    const res = await page.goto(gw.web!.url + '/no/such/page');
    expect(res!.headers()['content-type']).toMatch(/^text\/html/);
    expect(res!.status()).toBe(404);
    expect(await page.locator('header nav a[href="/admin/policy"]').count()).toBe(1);
    await expectNoA11yViolations(page);
  });

  it('the header fits a 390 px wide phone screen with the whole admin and auditor nav, and so does every page', async () => {
    const phone = await ctx.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    await open(phone, '/admin/tokens');
    expect(await phone.locator('header nav a:visible').count()).toBeGreaterThanOrEqual(9);
    const fit = await widths(phone);
    expect(fit.beyond).toEqual([]);
    expect(fit.header).toBeLessThanOrEqual(390);
    expect(fit.page).toBeLessThanOrEqual(390);
    await expectNoA11yViolations(phone);
    await phone.screenshot({ path: join(SHOTS, 'header-390px.png') });
    const wider: Array<{ path: string; page: number; beyond: string[] }> = [];
    for (const path of [...pages, `/audit/sessions/${sessionId}`]) {
      await open(phone, path);
      const w = await widths(phone);
      if (w.page > 390 || w.beyond.length) wider.push({ path, page: w.page, beyond: w.beyond.slice(0, 3) });
    }
    expect(wider).toEqual([]);
    await phone.close();
  });

  it('Tab reaches the skip link, every nav link, then the policy page’s first form control', async () => {
    await open(page, '/admin/policy');
    const first = await page.evaluate(() => {
      const el = document.querySelector(
        'main :is(input, select, textarea, button):not([type=hidden]):not([disabled])',
      )!;
      return el.id;
    });
    expect(first).not.toBe('');
    const navLinks = await page
      .locator('header nav a:visible')
      .evaluateAll((as) => as.map((a) => `nav ${a.getAttribute('href')}`));
    const reached: string[] = [];
    await page.locator('body').focus();
    for (let i = 0; i < 40 && !reached.includes(`#${first}`); i++) {
      await page.keyboard.press('Tab');
      reached.push(
        await page.evaluate(() => {
          const el = document.activeElement!;
          if (el.closest('header nav')) return `nav ${el.getAttribute('href')}`;
          return el.id ? `#${el.id}` : (el.getAttribute('href') ?? el.tagName);
        }),
      );
    }
    for (const href of navLinks) expect(reached).toContain(href);
    expect(reached).toContain(`#${first}`);
    // Nav links come before the page's own controls, in the order they are shown.
    expect(reached.filter((x) => navLinks.includes(x))).toEqual(navLinks);
    expect(reached.indexOf(navLinks.at(-1)!)).toBeLessThan(reached.indexOf(`#${first}`));

    // The first Tab stop is the skip link: it shows, and Enter then Tab lands past the nav.
    expect(reached[0]).toBe('#main');
    await open(page, '/admin/policy');
    await page.keyboard.press('Tab');
    const skip = await page.locator('a.skip').boundingBox();
    expect(skip!.x).toBeGreaterThanOrEqual(0);
    await page.keyboard.press('Enter');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.closest('main') !== null)).toBe(true);
  });
});
