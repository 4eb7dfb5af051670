import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { DevUser } from '../../src/identity/dev-idp.js';
import { launchChromium, signInAt } from '../harness/browser.js';
import { psql, run } from '../harness/clients.js';
import { startTestGateway, type TestGateway } from '../harness/gateway.js';
import { homeWithCa } from './connect-lines-home.js';

let gw: TestGateway;
let browser: Browser;
let laptopHome: string;

const devUser = (name: string, on: TestGateway = gw): DevUser => {
  const u = on.web!.devIdp!.users.find((x) => x.username === name);
  if (!u) throw new Error(`no dev user ${name}`);
  return u;
};

beforeAll(async () => {
  // Links live long enough for two browser sign-ins on a busy machine; expiry has its own gateway.
  gw = await startTestGateway(inject('pgCluster'), { auth: { linkTtl: '90s' } }, { web: true });
  // The lines are run as on a developer's laptop: the CA installed as the page says.
  laptopHome = await homeWithCa(gw.web!.url);
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await gw?.close();
});

/** The text of the first element matching selector, once it is on the page. */
async function text(page: Page, selector: string): Promise<string> {
  const el = page.locator(selector).first();
  await el.waitFor({ timeout: 10_000 });
  return ((await el.textContent()) ?? '').trim();
}

/** Waits until psql's stderr shows the sign-in link notice, and returns the URL in it. */
function linkFrom(stderrSoFar: string): string | null {
  return /sign in to continue: (http\S+)/.exec(stderrSoFar)?.[1] ?? null;
}

/** Resolves with the value once probe has one (psql prints the link when the gateway asks). */
function waitFor<T>(probe: () => T | null): Promise<T> {
  return vi.waitFor(
    () => {
      const v = probe();
      if (v === null) throw new Error('not there yet');
      return v;
    },
    { timeout: 20_000, interval: 50 },
  );
}

describe('browser single sign-on (Chromium, development IdP)', () => {
  let ctx: BrowserContext;
  beforeAll(async () => {
    ctx = await browser.newContext();
  });
  afterAll(async () => ctx?.close());

  it('signs alice in, shows a psql line that works, and signing out revokes it', async () => {
    const page = await ctx.newPage();
    await signInAt(page, gw.web!.url, devUser('alice'));
    expect(await text(page, 'h1')).toBe('Connect');
    const line = (await page.locator('#psql-line').textContent()) ?? '';
    expect(line).toMatch(
      /^PGPASSWORD='ey[\w.-]+' psql "host=localhost port=\d+ dbname=app user=alice sslmode=verify-full sslrootcert=/,
    );
    for (const id of ['#pgpass-line', '#uri-line', '#export-line'])
      expect(await page.locator(id).textContent()).toContain('ey');
    expect(await page.locator('#expires').getAttribute('datetime')).toMatch(/^\d{4}-\d\d-\d\dT/);

    const cmd = `${line} -X -At -c "select current_user, 6 * 7"`;
    const ok = await run('bash', ['-c', cmd], { env: { PGPASSFILE: '/dev/null', HOME: laptopHome } });
    expect(ok.stderr).toBe('');
    expect(ok.stdout.trim()).toBe(`${gw.upstreamRole}|42`);

    // The session row names the person, not the vaulted role.
    const { rows } = await gw.cp.store.sql.query<{ username: string; auth_method: string }>(
      `select username, auth_method from sessions where username = 'alice' order by started_at desc limit 1`,
    );
    expect(rows[0]?.username).toBe('alice');

    await page.click('button:has-text("Sign out")');
    await page.waitForURL(gw.web!.url + '/');
    expect(await text(page, 'a.button[href="/auth/login"]')).toBe('Sign in with single sign-on');
    // The revoked token is refused like any wrong password (the answer does not tell
    // whether the user holds another token); a sign-in link comes only when asked for.
    const refused = await run('bash', ['-c', cmd], {
      env: { PGPASSFILE: '/dev/null', PGCONNECT_TIMEOUT: '10', HOME: laptopHome },
    });
    expect(refused.code).not.toBe(0);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain('password authentication failed for user "alice"');
    const revoked = await gw.cp.store.sql.query<{ revoked_at: Date | null }>(
      `select revoked_at from tokens where username = 'alice'`,
    );
    expect(revoked.rows.map((r) => r.revoked_at !== null)).toEqual([true]);
  });

  it('"sign out and end my open sessions" ends a running psql session at once', async () => {
    const c = await browser.newContext();
    const page = await c.newPage();
    await signInAt(page, gw.web!.url, devUser('bob'));
    const line = await text(page, '#psql-line');
    const running = run('bash', ['-c', `${line} -X -At -c "select pg_sleep(20)"`], {
      env: { PGPASSFILE: '/dev/null', HOME: laptopHome },
    });
    await vi.waitFor(() => expect(gw.gateway.sessions.list().map((x) => x.user)).toContain('bob'), {
      timeout: 20_000,
      interval: 25,
    });
    await page.click('#end-sessions button');
    const r = await running;
    expect(r.stderr).toContain('FATAL:  terminating connection: the token of this session was revoked');
    expect(await text(page, 'a.button[href="/auth/login"]')).toBe('Sign in with single sign-on');
    await c.close();
  });

  it('refuses a wrong password at the identity provider and stays signed out', async () => {
    const page = await browser.newPage();
    await page.goto(gw.web!.url + '/auth/login');
    await page.fill('input#username', 'alice');
    await page.fill('input#password', 'not-her-password');
    await page.click('button[type=submit]');
    expect(await text(page, '[role=alert]')).toBe('Wrong username or password.');
    await page.goto(gw.web!.url + '/');
    expect(await text(page, 'a.button[href="/auth/login"]')).toBe('Sign in with single sign-on');
    await page.close();
  });
});

describe('link login from plain psql', () => {
  it('prints a one-time URL; approving it in the browser completes the same connection', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    let url: string | null = null;
    const client = psql(gw, 'bob', gw.database, null, ['-c', 'select current_user, 7 * 6'], {
      onStderr: (text) => (url ??= linkFrom(text)),
      timeoutMs: 30_000,
      env: { PGOPTIONS: '-c pgward.login=link' },
    });
    const link = await waitFor(() => url);
    expect(link.startsWith(gw.web!.url + '/link/')).toBe(true);
    await signInAt(page, link, devUser('bob'));
    expect(await text(page, 'h1')).toBe('Sign in a psql session');
    expect(await text(page, 'main')).toContain('waiting to sign in as bob');
    await page.click('button[value=approve]');
    expect(await text(page, '[role=status]')).toBe('Approved. You can go back to your terminal.');
    const r = await client;
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`${gw.upstreamRole}|42`);

    // The same link a second time: the page says so, and a replayed approval is refused.
    await page.goto(link);
    expect(await text(page, '[role=alert]')).toBe('This link was already used.');
    const csrfless = await page.request.post(link, { form: { decision: 'approve' } });
    expect(csrfless.status()).toBe(403);
    const { rows } = await gw.cp.store.sql.query<{ auth_method: string }>(
      `select auth_method from sessions where username = 'bob' order by started_at desc limit 1`,
    );
    expect(rows[0]?.auth_method).toBe('link');
    await ctx.close();
  });

  it('a link opened but not approved within auth.linkTtl expires, and psql gets a clear FATAL', async () => {
    const brief = await startTestGateway(inject('pgCluster'), { auth: { linkTtl: '4s' } }, { web: true });
    try {
      let url: string | null = null;
      const client = psql(brief, 'carol', brief.database, null, ['-c', 'select 1'], {
        onStderr: (text) => (url ??= linkFrom(text)),
        timeoutMs: 30_000,
        env: { PGOPTIONS: '-c pgward.login=link' },
      });
      const link = await waitFor(() => url);
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      // Opening the link starts its approval window; nobody approves.
      await signInAt(page, link, devUser('carol', brief));
      expect(await text(page, 'h1')).toBe('Sign in a psql session');
      const r = await client;
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('FATAL:  sign-in link expired before it was approved');
      await page.goto(link);
      expect(await text(page, '[role=alert]')).toContain('This link has expired');
      await ctx.close();
      const { rows } = await brief.cp.store.sql.query<{ reason: string }>(
        `select reason from auth_events where username = 'carol' and outcome = 'failure' order by id desc limit 1`,
      );
      expect(rows[0]?.reason).toBe('link expired');
    } finally {
      await brief.close();
    }
  });

  it('a link for one user cannot be approved by another, and a refusal ends the connection', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    let url: string | null = null;
    // carol holds a token now (her browser sign-in minted one), so she asks for a link explicitly.
    const client = psql(gw, 'carol', gw.database, null, ['-c', 'select 1'], {
      onStderr: (text) => (url ??= linkFrom(text)),
      timeoutMs: 30_000,
      env: { PGOPTIONS: '-c pgward.login=link' },
    });
    const link = await waitFor(() => url);
    // Signed in as bob, carol's link is not bob's to approve.
    await signInAt(page, link, devUser('bob'));
    expect(await text(page, '[role=alert]')).toBe(
      'This session asked to sign in as "carol", but you are signed in as "bob".',
    );
    expect(await page.locator('button[value=approve]').count()).toBe(0);
    // carol herself refuses it.
    const carol = await browser.newContext();
    const carolPage = await carol.newPage();
    await signInAt(carolPage, link, devUser('carol'));
    await carolPage.click('button[value=refuse]');
    const r = await client;
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('FATAL:  sign-in was refused in the browser');
    await carol.close();
    await ctx.close();
  });
});
