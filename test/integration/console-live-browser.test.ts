import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { DevUser } from '../../src/identity/dev-idp.js';
import { expectNoA11yViolations } from '../harness/axe.js';
import { launchChromium, signInAt } from '../harness/browser.js';
import { run } from '../harness/clients.js';
import { startTestGateway, type TestGateway } from '../harness/gateway.js';

/*
 * The live sessions page and the developer's page as people use them in Chromium: an admin
 * sees what each session runs now and ends one with a reason its psql prints; a developer sees
 * what they can reach, with which role and until when, and opens the timeline of their own
 * session (and not someone else's). Keyboard only where a person would use it.
 */

const SHOTS = 'test-results/screenshots';
const WAIT = { timeout: 20_000, interval: 50 };
/** alice reaches app as its owner, and reports (the same upstream) read-only in working hours; erin and frank reach app. */
const POLICY = `rules:
  - name: alice-reports
    effect: allow
    subjects: { users: [alice] }
    targets: [reports]
    tls: { required: false }
    session: { readOnly: true, maxDuration: 8h }
  - name: everyone-app
    effect: allow
    subjects: { users: ['*'] }
    targets: [app]
    tls: { required: false }
    session: { idleTimeout: 30m }
`;

let gw: TestGateway;
let browser: Browser;
let ca: string;

const devUser = (name: string): DevUser => gw.web!.devIdp!.users.find((u) => u.username === name)!;

async function ready(page: Page): Promise<void> {
  await page.waitForSelector('body[data-ready]', { timeout: 15_000 });
  expect(await page.getAttribute('body', 'data-ready')).toBe('true');
}

/** Inputs, selects and text areas with no label a screen reader would read. */
const unlabelled = (page: Page) =>
  page.evaluate(() =>
    [...document.querySelectorAll('main input, main select, main textarea')]
      .filter((e) => (e as HTMLInputElement).type !== 'hidden')
      .filter((e) => ((e as HTMLInputElement).labels?.length ?? 0) === 0 && !e.getAttribute('aria-label'))
      .map((e) => e.outerHTML),
  );

async function client(user: string, applicationName: string): Promise<pg.Client> {
  const { token } = await gw.issue(user);
  const c = new pg.Client({
    host: gw.host,
    port: gw.port,
    user,
    password: token,
    database: 'app',
    application_name: applicationName,
    ssl: { ca, servername: 'localhost' },
  });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

beforeAll(async () => {
  await mkdir(SHOTS, { recursive: true });
  gw = await startTestGateway(
    inject('pgCluster'),
    {},
    { web: true, policies: { 'rules.yaml': POLICY }, extraTargets: ['reports'] },
  );
  ca = await readFile(gw.caPath, 'utf8');
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await gw?.close();
});

describe('live sessions (admin)', () => {
  it('shows what each session runs now, filters and sorts by keyboard, and ends one with a reason psql prints, revoking its token', async () => {
    // erin: idle in a transaction after reading 1,000 rows, from a named application.
    const erin = await client('erin', 'report-builder');
    await erin.query('begin');
    await erin.query('select g from generate_series(1, 1000) g');
    // frank: psql running a long statement with his token.
    const frankToken = await gw.issue('frank');
    const psqlLine = `psql "host=localhost port=${gw.port} dbname=app user=frank sslmode=verify-full sslrootcert=${gw.caPath}"`;
    const frank = run('bash', ['-c', `${psqlLine} -X -At -c "select pg_sleep(60)"`], {
      env: { PGPASSWORD: frankToken.token, PGPASSFILE: '/dev/null', PGAPPNAME: 'psql' },
      timeoutMs: 60_000,
    });
    await vi.waitFor(
      () =>
        expect(
          gw.gateway.sessions
            .list()
            .map((s) => s.user)
            .sort(),
        ).toEqual(['erin', 'frank']),
      WAIT,
    );

    const ctx = await browser.newContext({ viewport: { width: 1500, height: 900 } });
    const page = await ctx.newPage();
    await signInAt(page, gw.web!.url + '/admin/sessions', devUser('bob'));
    await ready(page);
    // The statement reaches the page with the next refresh once it is running.
    await page.waitForSelector('#live tr:has-text("frank") code:has-text("pg_sleep")', WAIT);
    const row = async (user: string) =>
      (await page.locator(`#live tbody tr:has-text("${user}")`).first().innerText()).replace(/\s+/g, ' ');
    const erinRow = await row('erin');
    expect(erinRow).toContain(gw.upstreamRole);
    expect(erinRow).toContain('report-builder');
    expect(erinRow).toContain('app / ' + gw.upstreamDatabase);
    expect(erinRow).toContain('idle, in transaction');
    expect(erinRow).toContain('1000');
    expect(erinRow).toContain('everyone-app');
    const frankRow = await row('frank');
    // As the audit keeps it: constants replaced (the profile does not log parameters).
    expect(frankRow).toContain('select pg_sleep($1)');
    expect(frankRow).toMatch(/running/);
    expect(frankRow).toMatch(/\d+ (ms|s)/);
    expect(await unlabelled(page)).toEqual([]);
    await expectNoA11yViolations(page);
    await page.screenshot({ path: join(SHOTS, 'live-sessions.png'), fullPage: true });

    // Filter by keyboard: the user field is the first stop in the page's content.
    await page.focus('#f-user');
    await page.keyboard.type('fra');
    expect(await page.locator('#live tbody tr').count()).toBe(1);
    expect(new URL(page.url()).search).toBe('?user=fra');
    await page.fill('#f-user', '');
    await page.selectOption('#f-state', 'in transaction');
    expect((await page.locator('#live tbody tr').allInnerTexts()).join('')).toContain('erin');
    expect(await page.locator('#live tbody tr').count()).toBe(1);
    await page.selectOption('#f-state', '');
    // Sort by User with the keyboard: the header is a button.
    await page.focus('#live thead th:first-child button');
    await page.keyboard.press('Enter');
    expect(await page.getAttribute('#live thead th:first-child', 'aria-sort')).toBe('ascending');
    expect((await page.locator('#live tbody tr td:first-child').allInnerTexts()).map((t) => t.trim())).toEqual([
      'erin',
      'frank',
    ]);
    await page.keyboard.press('Enter');
    expect(await page.getAttribute('#live thead th:first-child', 'aria-sort')).toBe('descending');

    // Kill frank's session by keyboard, with a reason and "also revoke the token". The refresh
    // redraws the table under the keyboard's focus and leaves it where it was.
    await page.focus('#live tr:has-text("frank") button:has-text("Kill")');
    const before = await page.textContent('#live-summary');
    await page.waitForFunction((b) => document.querySelector('#live-summary')?.textContent !== b, before, WAIT);
    expect(await page.evaluate(() => (document.activeElement as HTMLElement).getAttribute('aria-label'))).toBe(
      'Kill the session of frank from 127.0.0.1',
    );
    await page.keyboard.press('Enter');
    await page.waitForSelector('#kill-dialog[open]');
    await expectNoA11yViolations(page);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('kill-reason');
    await page.keyboard.type('runaway query, ticket OPS-12');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Space');
    expect(await page.isChecked('#kill-revoke')).toBe(true);
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    const killed = await frank;
    expect(killed.stderr).toContain(
      'FATAL:  terminating connection: terminated by administrator bob: runaway query, ticket OPS-12',
    );
    await page.waitForFunction(() => (document.querySelector('#live-status')?.textContent ?? '').includes('ended'));
    expect(await page.textContent('#live-status')).toBe(
      'Session of frank ended. The client was told: "terminating connection: terminated by administrator bob: runaway query, ticket OPS-12". Its token is revoked.',
    );
    // The audit has the reason; the token no longer logs in.
    const { rows } = await gw.cp.store.sql.query<{ detail: Record<string, unknown> }>(
      `select detail from admin_events where actor = 'bob' and action = 'session.kill'`,
    );
    expect(rows.map((r) => r.detail)).toEqual([
      expect.objectContaining({
        user: 'frank',
        reason: 'runaway query, ticket OPS-12',
        revokeToken: true,
        revoked: true,
      }),
    ]);
    const again = await run('bash', ['-c', `${psqlLine} -X -At -c "select 1"`], {
      env: { PGPASSWORD: frankToken.token, PGPASSFILE: '/dev/null' },
    });
    expect(again.code).not.toBe(0);
    await vi.waitFor(
      async () => expect((await page.locator('#live tbody tr').allInnerTexts()).join('')).not.toContain('frank'),
      WAIT,
    );
    await erin.end();
    await ctx.close();
  }, 120_000);
});

describe('live sessions on another gateway', () => {
  it('shows the last recorded statement of a session another gateway runs, and kills it there with the reason', async () => {
    // The same policy files: a gateway stores its files as the version in force for all.
    const other = await startTestGateway(
      inject('pgCluster'),
      {},
      { share: gw, policies: { 'rules.yaml': POLICY }, extraTargets: ['reports'] },
    );
    try {
      const { token } = await gw.issue('gina');
      const c = new pg.Client({
        host: other.host,
        port: other.port,
        user: 'gina',
        password: token,
        database: 'app',
        ssl: { ca, servername: 'localhost' },
      });
      c.on('error', () => undefined);
      await c.connect();
      await c.query("select 'secret-ish' as v");
      const running = c.query('select pg_sleep(30)').then(
        () => 'finished',
        (err: Error) => err.message,
      );
      const ctx = await browser.newContext({ viewport: { width: 1500, height: 900 } });
      const page = await ctx.newPage();
      await signInAt(page, gw.web!.url + '/admin/sessions', devUser('bob'));
      await ready(page);
      // The audit trail is written in batches: the row shows it once it is in the store.
      await page.waitForSelector('#live tr:has-text("gina") code:has-text("select $1 as v")', WAIT);
      const row = (await page.locator('#live tbody tr:has-text("gina")').innerText()).replace(/\s+/g, ' ');
      expect(row).toContain(`on gateway ${other.config.gatewayId}`);
      expect(row).toContain('last recorded: select $1 as v at');
      expect(row).not.toContain('secret-ish');
      await page.click('#live tr:has-text("gina") button:has-text("Kill")');
      await page.fill('#kill-reason', 'moving this workload');
      await page.click('#kill-confirm');
      expect(await running).toBe('terminating connection: terminated by administrator bob: moving this workload');
      await c.end().catch(() => undefined);
      await ctx.close();
    } finally {
      await other.close();
    }
  }, 90_000);
});

describe('the developer page', () => {
  it('alice sees what she can reach (role, read-only, until when, psql line), her sessions, and her own timeline only', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await ctx.newPage();
    await signInAt(page, gw.web!.url + '/me', devUser('alice'));
    await ready(page);
    const reach = (await page.innerText('#my-reach')).replace(/[ \t]+/g, ' ');
    expect(reach).toContain('read and write');
    expect(reach).toContain('read-only');
    expect(reach).toContain('everyone-app');
    expect(reach).toContain('alice-reports');
    expect(reach).toContain('sessions end after 8 h');
    expect(reach).toContain('idle sessions end after 30 min');
    // Until when: a <time> in the viewer's zone with UTC on hover.
    const until = page.locator('#my-reach time').first();
    expect(await until.getAttribute('title')).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);

    // A session of hers, then its timeline from the page.
    const c = await client('alice', 'psql');
    await c.query('select 40 + 2 as answer');
    await c.end();
    await gw.gateway.settled();
    await page.reload();
    await ready(page);
    expect(await page.innerText('#my-sessions')).toContain('client-terminate');
    expect(await unlabelled(page)).toEqual([]);
    await expectNoA11yViolations(page);
    await page.screenshot({ path: join(SHOTS, 'developer-page.png'), fullPage: true });
    await page.focus('#my-sessions a:has-text("timeline")');
    await Promise.all([page.waitForURL(/\/me\/session\?id=/), page.keyboard.press('Enter')]);
    await ready(page);
    expect(await page.innerText('#timeline')).toContain('select $1 + $2 as answer');
    expect(await page.innerText('#session')).toContain('everyone-app');
    await expectNoA11yViolations(page);

    // Someone else's session: the same answer as no session at all.
    const hal = await client('hal', 'psql');
    await hal.query('select 1');
    await hal.end();
    await gw.gateway.settled();
    const othersSession = await gw.cp.store.sql.query<{ id: string }>(
      `select id from sessions where username = 'hal' limit 1`,
    );
    const other = await page.request.get(`${gw.web!.url}/api/my/sessions/${othersSession.rows[0]!.id}`);
    expect(other.status()).toBe(404);
    expect(await other.json()).toEqual({ error: 'no such session of yours' });
    // And the auditor's route stays the auditor's.
    expect((await page.request.get(`${gw.web!.url}/api/audit/sessions/${othersSession.rows[0]!.id}`)).status()).toBe(
      403,
    );
    await ctx.close();
  }, 90_000);

  it('gives a psql line per reachable database, without the token', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await signInAt(page, gw.web!.url + '/me', devUser('alice'));
    await ready(page);
    const lines = await page.locator('#my-reach code').allInnerTexts();
    expect(lines.sort()).toEqual([
      expect.stringMatching(/^psql "host=localhost port=\d+ dbname=app user=alice sslmode=verify-full/),
      expect.stringMatching(/^psql "host=localhost port=\d+ dbname=reports user=alice sslmode=verify-full/),
    ]);
    // The token is never in the page's lines.
    for (const l of lines) expect(l).not.toContain('PGPASSWORD');
    await ctx.close();
  });
});
