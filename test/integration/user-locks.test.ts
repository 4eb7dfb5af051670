import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { UserLockedError } from '../../src/identity/user-locks.js';
import { launchChromium } from '../harness/browser.js';
import { psql } from '../harness/clients.js';
import { startTestGateway, type TestGateway } from '../harness/gateway.js';
import { signInAs } from './console-signin.js';

/*
 * Locks (docs/login.md): an admin keeps a person out for a while. New logins on every
 * gateway, sign-ins, tokens and link approvals are refused with the lock's end and reason;
 * lifting it lets the same token in again. Real psql, two gateways on one store, Chromium.
 */

let a: TestGateway;
let b: TestGateway;
let admin: { cookie: string; csrf: string };
let browser: Browser;

const post = (url: string, payload: object) =>
  a.web!.app.inject({
    method: 'POST',
    url,
    headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrf },
    payload,
  });

beforeAll(async () => {
  a = await startTestGateway(inject('pgCluster'), {}, { web: true });
  b = await startTestGateway(inject('pgCluster'), {}, { share: a });
  admin = await signInAs(a, 'bob', ['admins']);
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await b?.close();
  await a?.close();
});

describe('user locks', () => {
  it('a locked person is refused on both gateways with the end and reason; unlocking lets the same token in', async () => {
    const { token } = await a.issue('dana');
    expect((await psql(a, 'dana', a.database, token, ['-c', 'select 1'])).stdout.trim()).toBe('1');

    const res = await post('/api/users/dana/lock', { minutes: 30, reason: 'incident INC-42' });
    expect(res.statusCode, res.body).toBe(200);

    for (const gw of [a, b]) {
      const r = await psql(gw, 'dana', gw.database, token, ['-c', 'select 1']);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(
        /FATAL: {2}dana is locked out of pgward until \d{4}-\d\d-\d\d \d\d:\d\d UTC by bob: incident INC-42/,
      );
      expect(r.stderr).toContain('HINT:  An admin can lift the lock earlier');
    }
    // No new token either, by any door.
    await expect(a.cp.tokens.issue({ user: 'dana', groups: [], issuedBy: 'test' })).rejects.toBeInstanceOf(
      UserLockedError,
    );
    // No sign-in link for a locked name, and no reason told to whoever asked.
    const link = await psql(a, 'dana', a.database, null, ['-c', 'select 1'], {
      extra: { options: '-c pgward.login=link' },
    });
    expect(link.stderr).toContain('sign-in links are not available for this user');
    expect(link.stderr).not.toContain('INC-42');

    const locks = await a.web!.app.inject({
      method: 'GET',
      url: '/api/users/locks',
      headers: { cookie: admin.cookie },
    });
    expect(locks.json()).toEqual([expect.objectContaining({ user: 'dana', by: 'bob', reason: 'incident INC-42' })]);

    expect((await post('/api/users/dana/unlock', {})).json()).toEqual({ unlocked: true });
    expect((await psql(b, 'dana', b.database, token, ['-c', 'select 2'])).stdout.trim()).toBe('2');
    const { rows } = await a.cp.store.sql.query<{ action: string }>(
      `select action from admin_events where detail->>'user' = 'dana' order by id`,
    );
    expect(rows.map((r) => r.action)).toEqual(['user.lock', 'user.unlock']);
  });

  it('Kill with a lock: the session ends with the reason and the reconnect is refused until the lock ends', async () => {
    const { token } = await a.issue('erin');
    const running = psql(a, 'erin', a.database, token, ['-c', 'select pg_sleep(30)']);
    await vi.waitFor(() => expect(a.gateway.sessions.list().some((s) => s.user === 'erin')).toBe(true), {
      timeout: 15_000,
    });
    const id = a.gateway.sessions.list().find((s) => s.user === 'erin')!.id;
    const kill = await post(`/api/sessions/${id}/kill`, { reason: 'copying the customer table', lockMinutes: 15 });
    expect(kill.statusCode, kill.body).toBe(200);
    expect(kill.json<{ lockedUntil: string }>().lockedUntil).toMatch(/^\d{4}-/);
    const ended = await running;
    expect(ended.stderr).toContain('terminated by administrator bob: copying the customer table');
    const again = await psql(a, 'erin', a.database, token, ['-c', 'select 1']);
    expect(again.stderr).toMatch(/erin is locked out of pgward until .* by bob: copying the customer table/);
  });

  it('a locked person signing in to the console is told why, and gets no token', async () => {
    await post('/api/users/alice/lock', { minutes: 5, reason: 'laptop reported stolen' });
    const page = await browser.newPage();
    const alice = a.web!.devIdp!.users.find((u) => u.username === 'alice')!;
    // The identity provider's form as signInAt fills it; the answer stays on /auth/callback.
    await page.goto(`${a.web!.url}/auth/login?next=/`);
    await page.waitForSelector('input#username');
    await page.fill('input#username', alice.username);
    await page.fill('input#password', alice.password);
    await page.click('button[type=submit]');
    await page.waitForSelector('h1:has-text("Locked out")');
    expect(await page.locator('main').textContent()).toMatch(
      /alice is locked out of pgward until .* laptop reported stolen/,
    );
    await page.close();
    const { rows } = await a.cp.store.sql.query(`select 1 from tokens where username = 'alice'`);
    expect(rows).toEqual([]);
    await post('/api/users/alice/unlock', {});
  });
});
