import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { login } from '../../src/cli/login.js';
import type { DevUser } from '../../src/identity/dev-idp.js';
import { launchChromium, signInAt } from '../harness/browser.js';
import { run } from '../harness/clients.js';
import { startTestGateway, type TestGateway } from '../harness/gateway.js';
import { buildCli, type CliResult } from './audit-cli.js';

/**
 * The just-in-time journey in Chromium with real parts (issue 16): alice's psql is refused
 * with the hint, she asks in the console, bob approves in another browser, her same psql
 * line then connects as the granted role; the session row, the timeline and the request's
 * detail all name the request.
 */

const SHOTS = 'test-results/screenshots';
const WAIT = { timeout: 20_000, interval: 25 };
let gw: TestGateway;
let browser: Browser;

const POLICY = `rules:
  - name: devs-write-app
    effect: allow
    subjects: { groups: [developers] }
    targets: [app]
    tls: { required: false }
    requestable:
      approvers: { groups: [admins] }
      maxDuration: 1h
      reason: { required: true, pattern: '[A-Z]+-[0-9]+' }
  - name: admins-break-glass
    effect: allow
    subjects: { groups: [admins] }
    targets: [app]
    tls: { required: false }
    requestable:
      approvers: { groups: [admins] }
      selfApproval: break-glass
      reason: { required: false }
`;

const devUser = (name: string): DevUser => gw.web!.devIdp!.users.find((u) => u.username === name)!;

async function text(page: Page, selector: string): Promise<string> {
  const el = page.locator(selector).first();
  await el.waitFor({ state: 'attached', timeout: 10_000 });
  return ((await el.textContent()) ?? '').trim();
}

async function ready(page: Page): Promise<void> {
  await page.waitForSelector('body[data-ready]', { timeout: 10_000 });
  expect(await page.getAttribute('body', 'data-ready')).toBe('true');
}

async function signedIn(user: string): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await signInAt(page, gw.web!.url, devUser(user));
  return { ctx, page };
}

/** A HOME with the gateway's CA where the console's lines may name it ($HOME/.postgresql), as a reader installs it. */
let home: string;
const psqlFrom = (line: string, sql: string) =>
  run('bash', ['-c', `${line} -X -At -c "${sql}"`], { env: { HOME: home, PGPASSFILE: '/dev/null' } });

/** A console API call from the page, as its own scripts make it (cookie and CSRF header). */
const fromPage = (page: Page, method: string, url: string, body?: unknown) =>
  page.evaluate(
    async ([m, u, b]) => {
      const csrf = document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';
      const res = await fetch(u as string, {
        method: m as string,
        headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
        body: b === undefined ? undefined : JSON.stringify(b),
      });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    },
    [method, url, body] as const,
  );

beforeAll(async () => {
  await mkdir(SHOTS, { recursive: true });
  gw = await startTestGateway(inject('pgCluster'), {}, { web: true, policies: { 'jit.yaml': POLICY } });
  browser = await launchChromium();
  home = await mkdtemp(join(tmpdir(), 'pgward-home-psql-'));
  await mkdir(join(home, '.postgresql'));
  await copyFile(gw.caPath, join(home, '.postgresql', 'pgward-localhost-ca.crt'));
}, 240_000);
afterAll(async () => {
  await browser?.close();
  await gw?.close();
});

describe('just-in-time access in the console', () => {
  it('refused in psql, asked in the console, approved in another browser, connected as the granted role', async () => {
    const alice = await signedIn('alice');
    const psqlLine = await text(alice.page, '#psql-line');

    // 1. Real psql, refused only for want of a grant: the FATAL's hint says how to ask.
    const refused = await psqlFrom(psqlLine, 'select current_user');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('FATAL:  pgward: user "alice" has no access to database "app"');
    expect(refused.stderr).toContain('HINT:  Ask for access: pgward request create --target app');

    // 2. The Request access page: choices from the rules she may ask for; problems beside their fields.
    await alice.page.click('nav a[href="/requests"]');
    await ready(alice.page);
    expect(await alice.page.locator('#rq-option option').allTextContents()).toEqual([
      `app as ${gw.upstreamRole} (rule devs-write-app, 1 approval)`,
    ]);
    expect(await text(alice.page, '#rq-reason-help')).toBe('required, must match [A-Z]+-[0-9]+');
    await alice.page.click('#request button[type=submit]');
    await alice.page.waitForFunction(() => (document.querySelector('#rq-reason-error')?.textContent ?? '') !== '');
    expect(await text(alice.page, '#rq-reason-error')).toBe('rule devs-write-app requires a reason');
    await alice.page.fill('#rq-reason', 'because');
    await alice.page.fill('#rq-duration', '2h');
    await alice.page.click('#request button[type=submit]');
    await alice.page.waitForFunction(() => (document.querySelector('#rq-duration-error')?.textContent ?? '') !== '');
    expect(await text(alice.page, '#rq-duration-error')).toBe('rule devs-write-app grants at most 1h');
    expect(await text(alice.page, '#rq-reason-error')).toBe('');
    await alice.page.fill('#rq-duration', '30m');
    await alice.page.click('#request button[type=submit]');
    await alice.page.waitForFunction(() => (document.querySelector('#rq-reason-error')?.textContent ?? '') !== '');
    expect(await text(alice.page, '#rq-reason-error')).toBe(
      'the reason must match /[A-Z]+-[0-9]+/ (rule devs-write-app)',
    );
    await alice.page.fill('#rq-duration', '30m');
    await alice.page.fill('#rq-reason', 'OPS-7 rebuild the orders index');
    await alice.page.click('#request button[type=submit]');
    await alice.page.waitForFunction(() =>
      /^Asked: request /.test(document.querySelector('#rq-status')?.textContent ?? ''),
    );
    const id = /request ([0-9a-f-]{36})/.exec(await text(alice.page, '#rq-status'))![1]!;
    await alice.page.waitForFunction(
      (rid) => (document.querySelector('#my-requests')?.textContent ?? '').includes(rid),
      id,
    );
    const mine = await text(alice.page, '#my-requests');
    expect(mine).toContain('pending (0/1 approvals)');
    expect(mine).toContain('OPS-7 rebuild the orders index');
    expect(mine).toContain('30m');
    // She approves nothing, so her header has no Approvals link; nor may she approve her own.
    expect(await alice.page.isHidden('#nav-approvals')).toBe(true);
    const self = await fromPage(alice.page, 'POST', `/api/access-requests/${id}/approve`, {});
    expect(self).toEqual({ status: 400, json: { error: 'alice is not in an approver group of rule devs-write-app' } });
    // A second request with a reason the rule refuses: the problem is shown beside the field.
    await alice.page.fill('#rq-reason', 'because');
    await alice.page.click('#request button[type=submit]');
    await alice.page.waitForFunction(() => (document.querySelector('#rq-reason-error')?.textContent ?? '') !== '');
    expect(await alice.page.getAttribute('#rq-reason', 'aria-invalid')).toBe('true');
    await alice.page.screenshot({ path: join(SHOTS, 'access-request-page.png'), fullPage: true });

    // 3. bob, in another browser context, sees the count in the header and approves with a reason.
    const bob = await signedIn('bob');
    await bob.page.waitForSelector('#nav-approvals:not([hidden])', { timeout: 10_000 });
    expect(await text(bob.page, '#nav-approvals')).toBe('Approvals (1)');
    await bob.page.click('#nav-approvals');
    await ready(bob.page);
    const row = bob.page.locator('#pending tr', { hasText: 'alice' });
    expect(await row.textContent()).toContain('OPS-7 rebuild the orders index');
    expect(await row.textContent()).toContain(`app/${gw.upstreamDatabase}`);
    await row.locator('input.decision-reason').fill('go ahead, reviewed in OPS-7');
    await bob.page.screenshot({ path: join(SHOTS, 'access-approver-view.png'), fullPage: true });
    await row.locator('button:has-text("Approve")').click();
    await bob.page.waitForFunction(() => /^Approved: /.test(document.querySelector('#ap-status')?.textContent ?? ''));
    const approvedAt = Date.now();
    expect(await text(bob.page, '#ap-status')).toMatch(
      new RegExp(`^Approved: alice may connect as ${gw.upstreamRole} on app/${gw.upstreamDatabase} until `),
    );
    await bob.page.waitForFunction(() => document.querySelector('#approvals-count')?.textContent === '(0)');
    expect(await text(bob.page, '#decided')).toContain('go ahead, reviewed in OPS-7');

    // 4. The same psql line now connects, as the granted role.
    let connected: string | null = null;
    let firstMs = 0;
    while (connected === null && Date.now() - approvedAt < 10_000) {
      const r = await psqlFrom(psqlLine, 'select current_user');
      if (r.code === 0) {
        connected = r.stdout.trim();
        firstMs = Date.now() - approvedAt;
      }
    }
    expect(connected).toBe(gw.upstreamRole);
    console.log(`measure: console approval to first successful psql connection (same gateway): ${firstMs} ms`);
    await alice.page.reload();
    await ready(alice.page);
    expect(await text(alice.page, '#my-requests')).toMatch(/approved until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);

    // 5. The session row names the request; so do the timeline and the request's detail.
    await gw.gateway.settled();
    const { rows } = await gw.cp.store.sql.query<{ id: string; access_request: string }>(
      `select id, access_request from sessions where username = 'alice' and access_request is not null`,
    );
    expect(rows.map((r) => r.access_request)).toEqual([id]);
    const sessionId = rows[0]!.id;
    const carol = await signedIn('carol');
    const timeline = await fromPage(carol.page, 'GET', `/api/audit/sessions/${sessionId}`);
    const events = timeline.json['events'] as Array<{ kind: string; payload: Record<string, unknown> | null }>;
    expect(events.find((e) => e.kind === 'policy')?.payload?.['request']).toBe(id);
    expect(events.find((e) => e.kind === 'access_used')?.payload?.['request']).toBe(id);
    const detail = await fromPage(carol.page, 'GET', `/api/access-requests/${id}`);
    expect(detail.status).toBe(200);
    expect(detail.json).toMatchObject({
      request: { id, requester: 'alice', reason: 'OPS-7 rebuild the orders index', state: 'approved' },
      rule: { name: 'devs-write-app', approverGroups: ['admins'], approvals: 1 },
      approvers: [{ user: 'bob', reason: 'go ahead, reviewed in OPS-7', breakGlass: false }],
      decisions: [{ kind: 'approved', by: 'bob', reason: 'go ahead, reviewed in OPS-7', via: 'console' }],
      sessions: [{ id: sessionId, user: 'alice', role: gw.upstreamRole }],
    });
    const chain = (detail.json['events'] as Array<{ kind: string; seq: number }>).map((e) => [e.seq, e.kind]);
    expect(chain).toEqual([
      [1, 'access_requested'],
      [2, 'access_approved'],
    ]);
    // The requester reads her own request; someone else's is not shown to a plain developer.
    expect((await fromPage(alice.page, 'GET', `/api/access-requests/${id}`)).status).toBe(200);
    const other = await fromPage(carol.page, 'POST', '/api/access-requests', {
      target: 'app',
      rule: 'devs-write-app',
      reason: 'OPS-8',
    });
    expect(other.status).toBe(400);
    expect(other.json['issues']).toEqual([
      'rule: no requestable rule lets carol ask for rule devs-write-app on app/' + gw.upstreamDatabase,
    ]);

    // 6. Giving the grant back ends it: the next psql is refused with the hint again.
    await alice.page.click('#my-requests button:has-text("Give back")');
    await alice.page.waitForFunction(() =>
      /cancelled\.$/.test(document.querySelector('#rq-status')?.textContent ?? ''),
    );
    await vi.waitFor(async () => {
      const r = await psqlFrom(psqlLine, 'select 1');
      expect(r.stderr).toContain('HINT:  Ask for access');
    }, WAIT);

    // 7. The policy editor's dry run says the refusal is covered by the rule, and shows the hint.
    await bob.page.goto(gw.web!.url + '/admin/policy');
    await ready(bob.page);
    await bob.page.fill('#dry-run input[name=user]', 'alice');
    await bob.page.fill('#dry-run input[name=groups]', 'developers');
    await bob.page.fill('#dry-run input[name=database]', 'app');
    await bob.page.click('#dry-run button');
    await bob.page.waitForFunction(() => (document.querySelector('#dry-run-result')?.textContent ?? '') !== '');
    const dry = await text(bob.page, '#dry-run-result');
    expect(dry).toContain(
      'Covered by requestable rule devs-write-app (approvers admins; 1 approval; at most 1h; reason matching [A-Z]+-[0-9]+): alice can ask for access.',
    );
    expect(dry).toContain(
      `The person would see: HINT:  Ask for access: pgward request create --target app --database ${gw.upstreamDatabase} --role ${gw.upstreamRole} --reason "..."`,
    );

    // 8. bob's own request under a break-glass rule: listed for him, marked; approving it alerts at once.
    await bob.page.goto(gw.web!.url + '/requests');
    await ready(bob.page);
    await bob.page.selectOption('#rq-option', {
      label: `app as ${gw.upstreamRole} (rule admins-break-glass, 1 approval)`,
    });
    await bob.page.click('#request button[type=submit]');
    await bob.page.waitForFunction(() =>
      /^Asked: request /.test(document.querySelector('#rq-status')?.textContent ?? ''),
    );
    const glassId = /request ([0-9a-f-]{36})/.exec(await text(bob.page, '#rq-status'))![1]!;
    await bob.page.click('#nav-approvals');
    await ready(bob.page);
    const own = bob.page.locator('#pending tr', { hasText: 'bob (admins)' });
    expect(await own.textContent()).toContain('your own request: approving it is break-glass and alerts at once');
    await own.locator('input.decision-reason').fill('outage, nobody else awake');
    await own.locator('button:has-text("Approve (break-glass)")').click();
    await bob.page.waitForFunction(() =>
      /^Approved: bob /.test(document.querySelector('#ap-status')?.textContent ?? ''),
    );
    const glass = await gw.cp.store.sql.query<{ severity: string; detail: Record<string, unknown> }>(
      `select severity, detail from anomalies where kind = 'break-glass' and detail->>'request' = $1`,
      [glassId],
    );
    expect(glass.rows).toMatchObject([{ severity: 'high', detail: { requester: 'bob', rule: 'admins-break-glass' } }]);
    await Promise.all([alice.ctx.close(), bob.ctx.close(), carol.ctx.close()]);
  }, 180_000);

  it('pgward request acts as the person signed in with pgward login; --as is an operator override the audit records', async () => {
    const main = await buildCli();
    const dir = await mkdtemp(join(tmpdir(), 'pgward-jit-cli-'));
    const config = join(dir, 'pgward.yaml');
    const t = gw.config.targets['app']!;
    await writeFile(
      config,
      [
        `store: { url: '${gw.storeUrl}', caFile: '${gw.caPath}' }`,
        `vault: { keyFile: '${gw.vaultKeyFile}' }`,
        `targets:`,
        `  app: { host: ${t.host}, port: ${t.port}, database: ${t.database}, role: ${t.role} }`,
        '',
      ].join('\n'),
    );
    /** A real `pgward login` (loopback flow) into a HOME of the person's own, confirmed in their browser. */
    const signIn = async (user: string): Promise<NodeJS.ProcessEnv> => {
      const home = await mkdtemp(join(tmpdir(), `pgward-home-${user}-`));
      const env = { HOME: home };
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      await login({
        gateway: gw.web!.url,
        env,
        say: () => undefined,
        openUrl: (url) => void signInAt(page, url, devUser(user)).then(() => page.click('button[value=confirm]')),
        timeoutMs: 30_000,
      });
      await ctx.close();
      return env;
    };
    const cli = (env: NodeJS.ProcessEnv, ...args: string[]): Promise<CliResult> =>
      new Promise((done) =>
        execFile(
          process.execPath,
          [main, '--config', config, 'request', ...args],
          { cwd: dir, env: { ...process.env, ...env, XDG_CONFIG_HOME: '', PGPASSFILE: '' }, timeout: 120_000 },
          (err, stdout, stderr) =>
            done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
        ),
      );
    const nobody = { HOME: await mkdtemp(join(tmpdir(), 'pgward-home-none-')) };
    const notSignedIn = await cli(nobody, 'create', '--target', 'app', '--rule', 'devs-write-app', '--reason', 'OPS-9');
    expect(notSignedIn.code).not.toBe(0);
    expect(notSignedIn.stderr).toContain('not signed in: run pgward login --gateway URL');

    const aliceEnv = await signIn('alice');
    const bobEnv = await signIn('bob');
    const asked = await cli(
      aliceEnv,
      'create',
      '--target',
      'app',
      '--rule',
      'devs-write-app',
      '--reason',
      'OPS-9',
      '--duration',
      '10m',
      '--json',
    );
    expect(asked.stderr).toBe('');
    const req = JSON.parse(asked.stdout) as { id: string; requester: string; state: string };
    expect(req).toMatchObject({ requester: 'alice', state: 'pending' });
    const listed = (await cli(aliceEnv, 'list', '--mine', '--json')).stdout.trim().split('\n');
    expect(listed.map((l) => (JSON.parse(l) as { requester: string }).requester)).toEqual(listed.map(() => 'alice'));
    expect(listed.some((l) => l.includes(req.id))).toBe(true);
    // Groups come from the sign-in, not the command line.
    const typedGroups = await cli(aliceEnv, 'approve', req.id, '--groups', 'admins');
    expect(typedGroups.stderr).toContain('--groups goes with --as');
    const self = await cli(aliceEnv, 'approve', req.id);
    expect(self.stderr).toContain('alice is not in an approver group of rule devs-write-app');
    const approved = await cli(bobEnv, 'approve', req.id, '--reason', 'ok from the terminal', '--json');
    expect(approved.code).toBe(0);
    expect(JSON.parse(approved.stdout)).toMatchObject({ state: 'approved', decidedBy: 'bob' });

    // The operator override names whoever it likes, and the chain says it was an override, and by whom.
    const override = await cli(nobody, 'revoke', req.id, '--as', 'dora', '--groups', 'admins', '--reason', 'drill');
    expect(override.code).toBe(0);
    expect(override.stderr).toMatch(/^acting as dora by operator override \(--as\), recorded with operator \S+/);

    // Break-glass through a sign-in: bob approves his own request; the anomaly row names the request.
    const glass = JSON.parse(
      (await cli(bobEnv, 'create', '--target', 'app', '--rule', 'admins-break-glass', '--json')).stdout,
    ) as { id: string };
    const own = await cli(bobEnv, 'approve', glass.id, '--reason', 'outage', '--json');
    expect(JSON.parse(own.stdout)).toMatchObject({ state: 'approved', approvals: [{ by: 'bob', breakGlass: true }] });
    const anomalies = await gw.cp.store.sql.query<{ session_id: string; detail: Record<string, unknown> }>(
      `select session_id, detail from anomalies where kind = 'break-glass' and session_id = $1`,
      [glass.id],
    );
    expect(anomalies.rows).toMatchObject([
      { session_id: glass.id, detail: { request: glass.id, requester: 'bob', rule: 'admins-break-glass' } },
    ]);

    const carol = await signedIn('carol');
    const detail = await fromPage(carol.page, 'GET', `/api/access-requests/${req.id}`);
    expect(detail.json['decisions']).toMatchObject([
      { kind: 'approved', by: 'bob', reason: 'ok from the terminal', via: 'cli-login' },
      { kind: 'revoked', by: 'dora', reason: 'drill', via: 'operator' },
    ]);
    const events = detail.json['events'] as Array<{ kind: string; payload: Record<string, unknown> }>;
    expect(events[0]).toMatchObject({
      kind: 'access_requested',
      payload: { via: 'cli-login', groups: ['developers'] },
    });
    expect(typeof events[2]?.payload['operator']).toBe('string');
    await carol.ctx.close();
  }, 300_000);
});
