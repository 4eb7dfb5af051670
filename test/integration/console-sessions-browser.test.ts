import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DevUser } from '../../src/identity/dev-idp.js';
import { launchChromium, signInAt } from '../harness/browser.js';
import { startTestGateway, type TestGateway } from '../harness/gateway.js';

/*
 * Console sessions as a person in Chromium meets them (the development IdP's real form):
 * a cookie saved before signing out opens nothing afterwards, and a group removed at the
 * identity provider takes the admin role away at the next confirmation.
 */

let gw: TestGateway;
let browser: Browser;

const devUser = (name: string): DevUser => gw.web!.devIdp!.users.find((u) => u.username === name)!;

beforeAll(async () => {
  gw = await startTestGateway(inject('pgCluster'), {}, { web: true });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await gw?.close();
});

async function text(page: Page, selector: string): Promise<string> {
  const el = page.locator(selector).first();
  await el.waitFor({ timeout: 10_000 });
  return ((await el.textContent()) ?? '').trim();
}

describe('signing out in Chromium', () => {
  it('sign in, save the cookie, sign out: the saved cookie, replayed in a fresh browser, is refused', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await signInAt(page, gw.web!.url + '/admin/policy', devUser('bob'));
    await page.waitForSelector('body[data-ready]');
    expect(await text(page, 'h1')).toBe('Policies');
    const saved = await ctx.cookies();
    expect(saved.map((c) => c.name)).toContain('pgward_session');
    const csrf = (await page.getAttribute('meta[name="csrf-token"]', 'content')) ?? '';
    await page.click('header form.signout button');
    await page.waitForURL(gw.web!.url + '/');
    expect(await text(page, 'a.button[href="/auth/login"]')).toBe('Sign in with single sign-on');
    await ctx.close();

    // Someone who copied the cookie before the sign-out tries it in another browser.
    const thief = await browser.newContext();
    await thief.addCookies(saved.filter((c) => c.name === 'pgward_session'));
    const p = await thief.newPage();
    await p.goto(gw.web!.url + '/');
    expect(await text(p, 'a.button[href="/auth/login"]')).toBe('Sign in with single sign-on');
    expect((await p.request.get(gw.web!.url + '/api/policy')).status()).toBe(401);
    const write = await p.request.put(gw.web!.url + '/api/vault', {
      headers: { 'x-csrf-token': csrf },
      data: { target: 'app', role: 'after_sign_out', secret: 'nope' },
    });
    expect(write.status()).toBe(401);
    const cli = await p.request.get(gw.web!.url + '/cli/login?port=50200&state=0123456789abcdefgh', {
      maxRedirects: 0,
    });
    expect([cli.status(), cli.headers()['location']?.startsWith('/auth/login')]).toEqual([302, true]);
    // An admin page sends the browser to the identity provider's sign-in form.
    await p.goto(gw.web!.url + '/admin/policy');
    await p.waitForSelector('input#username');
    const { rows } = await gw.cp.store.sql.query('select 1 from vault_entries where role = $1', ['after_sign_out']);
    expect(rows).toEqual([]);
    await thief.close();
  });
});

describe('roles follow the identity provider', () => {
  it('past web.rolesMaxAge the admin page goes back through the IdP: same groups go on silently, a removed group takes the role away', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await signInAt(page, gw.web!.url + '/admin/tokens', devUser('bob'));
    await page.waitForSelector('body[data-ready]');
    const jti = async (): Promise<string[]> =>
      (
        await gw.cp.store.sql.query<{ token_jti: string }>(
          `select token_jti from console_sessions where username = 'bob' and ended_at is null`,
        )
      ).rows.map((r) => r.token_jti);
    const first = await jti();
    expect(first).toHaveLength(1);
    const age = () =>
      gw.cp.store.sql.query(
        `update console_sessions set groups_read_at = now() - interval '16 minutes' where username = 'bob'`,
      );

    // Unchanged at the IdP: the trip through it is silent and the same session goes on.
    await age();
    await page.goto(gw.web!.url + '/admin/tokens');
    await page.waitForSelector('body[data-ready]');
    expect(new URL(page.url()).pathname).toBe('/admin/tokens');
    expect(await jti()).toEqual(first);

    // The IdP drops bob from admins: at the next confirmation the console follows it.
    devUser('bob').groups = ['developers'];
    try {
      await age();
      await page.goto(gw.web!.url + '/admin/tokens');
      expect(await text(page, '[role=alert]')).toBe('This page needs the admin role.');
      expect(await page.locator('nav a[href="/admin/policy"]').count()).toBe(0);
      // A new session on a new token with the new groups; the old token (admin groups) is revoked.
      const now = await jti();
      expect(now).toHaveLength(1);
      expect(now[0]).not.toBe(first[0]);
      const { rows } = await gw.cp.store.sql.query<{ revoked_reason: string | null; groups: string[] }>(
        'select revoked_reason, groups from tokens where jti = $1 or jti = $2 order by issued_at',
        [first[0], now[0]],
      );
      expect(rows).toEqual([
        { revoked_reason: 'groups changed at the identity provider', groups: ['admins'] },
        { revoked_reason: null, groups: ['developers'] },
      ]);
    } finally {
      devUser('bob').groups = ['admins'];
    }
    await ctx.close();
  });
});
