import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { verifyExport } from '../../src/audit/verify.js';
import { policyRollback } from '../../src/cli/policy-commands.js';
import type { DevUser } from '../../src/identity/dev-idp.js';
import { downloadExport, launchChromium, signInAt } from '../harness/browser.js';
import { run } from '../harness/clients.js';
import { startTestGateway, type TestGateway } from '../harness/gateway.js';
import { homeWithCa } from './connect-lines-home.js';

const SHOTS = 'test-results/screenshots';
/** Generous: it only bounds how long a broken build takes to fail. */
const WAIT = { timeout: 20_000, interval: 25 };
let gw: TestGateway;
let browser: Browser;
/** A config naming the test gateway's store, for the CLI's own commands. */
let configPath: string;
let laptopHome: string;
/** Every API response body seen in the browser, to check that none carries a secret. */
const bodies: string[] = [];

const devUser = (name: string): DevUser => gw.web!.devIdp!.users.find((u) => u.username === name)!;

async function text(page: Page, selector: string): Promise<string> {
  const el = page.locator(selector).first();
  await el.waitFor({ timeout: 10_000 });
  return ((await el.textContent()) ?? '').trim();
}

async function ready(page: Page): Promise<void> {
  await page.waitForSelector('body[data-ready]', { timeout: 10_000 });
  expect(await page.getAttribute('body', 'data-ready')).toBe('true');
}

async function signedIn(user: string): Promise<{ ctx: BrowserContext; page: Page; psqlLine: string }> {
  const ctx = await browser.newContext({ acceptDownloads: true });
  const page = await ctx.newPage();
  page.on('response', async (r) => {
    if (r.url().includes('/api/')) bodies.push(await r.text().catch(() => ''));
  });
  await signInAt(page, gw.web!.url, devUser(user));
  return { ctx, page, psqlLine: await text(page, '#psql-line') };
}

/** A line from the page, run as on a developer's laptop: the CA installed as the page says (docs/connect.md). */
const psqlFrom = (line: string, sql: string) =>
  run('bash', ['-c', `${line} -X -At -c "${sql}"`], { env: { PGPASSFILE: '/dev/null', HOME: laptopHome } });

beforeAll(async () => {
  await mkdir(SHOTS, { recursive: true });
  gw = await startTestGateway(inject('pgCluster'), {}, { web: true });
  laptopHome = await homeWithCa(gw.web!.url);
  configPath = join(await mkdtemp(join(tmpdir(), 'pgward-console-')), 'pgward.yaml');
  await writeFile(
    configPath,
    `store: { url: '${gw.storeUrl}', caFile: '${gw.caPath}' }\nvault: { keyFile: '${gw.vaultKeyFile}' }\n`,
  );
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await gw?.close();
});

describe('console journeys in Chromium', () => {
  it('alice (developer) connects and sees her session', async () => {
    const { ctx, page, psqlLine } = await signedIn('alice');
    expect((await psqlFrom(psqlLine, 'select 40 + 2')).stdout.trim()).toBe('42');
    await gw.gateway.settled();
    await page.click('nav a[href="/me"]');
    await ready(page);
    const table = await text(page, '#my-sessions');
    expect(table).toContain('app');
    expect(table).toContain('client-terminate');
    expect(await page.locator('nav a[href="/admin/policy"]').count()).toBe(0);
    await page.screenshot({ path: join(SHOTS, 'developer-my-activity.png'), fullPage: true });
    await ctx.close();
  });

  it('bob (admin) edits a policy with live validation and a diff, saves, rolls back, and kills a live psql session', async () => {
    const { ctx, page, psqlLine } = await signedIn('bob');
    await page.goto(gw.web!.url + '/admin/policy');
    await ready(page);
    // The gateway read its policy from files: those are the source, and the editor says so.
    expect(await text(page, '#policy-source')).toMatch(
      /^The policy in force \(version \d+\) was loaded from policy files by .+\. Edit the files in policies\.dir instead/,
    );
    expect(await page.isDisabled('#save')).toBe(true);
    expect(await page.getAttribute('#editor', 'readonly')).not.toBeNull();
    expect(await page.locator('#versions button').count()).toBe(0);
    // `pgward policy rollback` stores the version as the store's own: from here the store is the source.
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = (() => true) as typeof process.stdout.write;
    try {
      await policyRollback(configPath, gw.policy.current().version!);
    } finally {
      process.stdout.write = write;
    }
    await page.reload();
    await ready(page);
    expect(await page.isHidden('#policy-source')).toBe(true);
    expect(await text(page, '#validation')).toBe('Valid: 1 rules.');
    const original = await page.inputValue('#editor');

    // A typo is caught as it is typed, with its position; saving is off.
    await page.fill('#editor', original.replace('effect: allow', 'effect: alow'));
    await page.waitForFunction(() => document.querySelector('#validation')?.className === 'err');
    expect(await text(page, '#validation')).toMatch(/^everyone\.yaml:3:13: rules\.0\.effect/);
    expect(await page.isDisabled('#save')).toBe(true);

    const edited = `${original}  - name: no-mallory\n    effect: deny\n    subjects: { users: [mallory] }\n`;
    await page.fill('#editor', edited);
    await page.waitForFunction(() => document.querySelector('#validation')?.textContent === 'Valid: 2 rules.');
    await page.click('#preview');
    await page.waitForFunction(() => (document.querySelector('#diff')?.textContent ?? '').includes('no-mallory'));
    expect(await text(page, '#diff')).toContain('+  - name: no-mallory');
    await page.fill('#comment', 'keep mallory out');
    await page.screenshot({ path: join(SHOTS, 'admin-policy-diff.png'), fullPage: true });
    // Save asks first; saying no stores nothing.
    const asked: string[] = [];
    let answer = false;
    page.on('dialog', (d) => {
      asked.push(d.message());
      void (answer ? d.accept() : d.dismiss());
    });
    const before = gw.policy.current().version;
    await page.click('#save');
    await vi.waitFor(() => expect(asked).toHaveLength(1));
    expect(asked[0]).toMatch(/^Save as a new version\? It applies to new connections on every gateway/);
    expect(gw.policy.current().version).toBe(before);
    answer = true;
    await page.click('#save');
    await page.waitForFunction(() =>
      /^Saved as version \d+\.$/.test(document.querySelector('#validation')?.textContent ?? ''),
    );
    const saved = Number(/version (\d+)/.exec(await text(page, '#validation'))![1]);
    await vi.waitFor(() => expect(gw.policy.current().version).toBe(saved), WAIT);
    expect(gw.policy.current().rules.map((r) => r.rule.name)).toContain('no-mallory');

    // Roll back to the version before (asked first): the editor then shows the version in
    // force, so Preview diff proposes nothing rather than undoing the rollback.
    await page.click(`#versions button:has-text("Roll back to ${saved - 1}")`);
    await page.waitForFunction(() => /restores version/.test(document.querySelector('#validation')?.textContent ?? ''));
    expect(asked.at(-1)).toMatch(new RegExp(`^Roll back to version ${saved - 1}\\?`));
    await vi.waitFor(() => expect(gw.policy.current().rules.map((r) => r.rule.name)).toEqual(['everyone']), WAIT);
    expect(await page.inputValue('#editor')).toBe(original);
    await page.click('#preview');
    await page.waitForFunction(() => document.querySelector('#diff')?.textContent === '(no changes)');

    // Dry run from the editor page.
    await page.fill('#dry-run input[name=user]', 'alice');
    await page.fill('#dry-run input[name=database]', 'app');
    await page.fill('#dry-run input[name=from]', '10.0.0.5');
    await page.click('#dry-run button');
    await page.waitForFunction(() => (document.querySelector('#dry-run-result')?.textContent ?? '') !== '');
    expect(await text(page, '#dry-run-result')).toMatch(/^GRANT by everyone: app_[0-9a-f]+ as role app_[0-9a-f]+$/);

    // A running psql session, killed from the console.
    const running = psqlFrom(psqlLine, 'select pg_sleep(30)');
    await vi.waitFor(() => expect(gw.gateway.sessions.list().map((s) => s.user)).toContain('bob'), WAIT);
    await page.goto(gw.web!.url + '/admin/sessions');
    await ready(page);
    await page.screenshot({ path: join(SHOTS, 'admin-live-sessions.png'), fullPage: true });
    await page.click('#live tr:has-text("bob") button:has-text("Kill")');
    await page.fill('#kill-reason', 'end of the policy test');
    await page.click('#kill-confirm');
    const r = await running;
    expect(r.stderr).toContain(
      'FATAL:  terminating connection: terminated by administrator bob: end of the policy test',
    );
    await page.waitForFunction(() => (document.querySelector('#live-status')?.textContent ?? '') !== '');
    expect(await text(page, '#live-status')).toBe(
      'Session of bob ended. The client was told: "terminating connection: terminated by administrator bob: end of the policy test".',
    );
    const { rows } = await gw.cp.store.sql.query(
      `select actor, action from admin_events where actor = 'bob' order by id`,
    );
    expect(rows.map((x: { action: string }) => x.action)).toEqual(['policy.save', 'policy.rollback', 'session.kill']);

    await page.goto(gw.web!.url + '/admin/targets');
    await ready(page);
    await page.screenshot({ path: join(SHOTS, 'admin-targets.png'), fullPage: true });
    await ctx.close();
  });

  it('carol (auditor) searches, opens a session timeline and downloads an export that verifies', async () => {
    const { ctx, page } = await signedIn('carol');
    await page.goto(gw.web!.url + '/audit');
    await ready(page);
    await page.fill('#search input[name=user]', 'alice');
    await page.click('#search button');
    await page.waitForSelector('#results a');
    await page.screenshot({ path: join(SHOTS, 'auditor-search.png'), fullPage: true });
    await page.click('#results a');
    await ready(page);
    const timeline = await text(page, '#timeline');
    expect(timeline).toContain('select $1 + $2');
    expect(timeline).toContain('session_start');
    await page.screenshot({ path: join(SHOTS, 'auditor-timeline.png'), fullPage: true });

    await page.goto(gw.web!.url + '/audit');
    await ready(page);
    await page.fill('#export input[name=from]', new Date(Date.now() - 3600_000).toISOString());
    await page.click('#export button');
    await page.waitForSelector('#export-status a');
    const dir = join(SHOTS, '..', 'export');
    await mkdir(dir, { recursive: true });
    const filePath = await downloadExport(page, dir);
    const verdict = await verifyExport(filePath);
    expect(verdict.problem).toBeNull();
    expect(verdict.ok).toBe(true);
    expect(verdict.events).toBeGreaterThan(3);

    await page.goto(gw.web!.url + '/audit/anomalies');
    await ready(page);
    expect(await page.locator('canvas#chart').count()).toBe(1);
    await page.screenshot({ path: join(SHOTS, 'auditor-anomalies.png'), fullPage: true });
    await ctx.close();
  });
});

describe('console API authorization', () => {
  // Every route x role x CSRF is in console-api.test.ts (app.inject); here, what a browser sees.
  it('refuses an admin page to a developer on the server, not just in the menu', async () => {
    const { ctx, page } = await signedIn('alice');
    const me = await (await page.request.get(gw.web!.url + '/api/me')).json();
    expect(me.roles).toEqual(['developer']);
    const adminPage = await page.request.get(gw.web!.url + '/admin/policy');
    expect(adminPage.status()).toBe(403);
    const adminApi = await page.request.get(gw.web!.url + '/api/policy');
    expect(adminApi.status()).toBe(403);
    await ctx.close();
  });

  it('writes vault secrets without ever sending them back, and no response carried a secret', async () => {
    const { ctx, page } = await signedIn('bob');
    await page.goto(gw.web!.url + '/admin/targets');
    await ready(page);
    await page.fill('#vault input[name=target]', 'app');
    await page.fill('#vault input[name=role]', 'reporting');
    await page.fill('#vault input[name=secret]', 'Sup3r-Secret-Value');
    await page.click('#vault button');
    await page.waitForFunction(() => (document.querySelector('#vault-status')?.textContent ?? '').startsWith('Stored'));
    await page.goto(gw.web!.url + '/admin/targets');
    await ready(page);
    expect(await text(page, '#targets')).toContain('reporting');
    const metrics = await (await page.request.get(gw.web!.url + '/metrics')).text();
    expect(metrics).toContain('pgward_onboarding_stage_seconds_bucket');
    expect(metrics).toContain('pgward_active_sessions');
    bodies.push(metrics);
    await ctx.close();
    const all = bodies.join('\n');
    expect(bodies.length).toBeGreaterThan(20);
    for (const secret of ['Sup3r-Secret-Value', gw.upstreamPassword]) expect(all).not.toContain(secret);
    // No token (JWT) in any API response, and no private key material.
    expect(all).not.toMatch(/eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/);
    expect(all).not.toMatch(/"d":"[\w-]{20,}"/);
  });
});
