import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { login, logout, loginsPath } from '../../src/cli/login.js';
import type { DevUser } from '../../src/identity/dev-idp.js';
import { launchChromium, signInAt } from '../harness/browser.js';
import { run } from '../harness/clients.js';
import { eventually } from '../harness/eventually.js';
import { startTestGateway, type TestGateway } from '../harness/gateway.js';

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

/** A fresh HOME, so psql reads only the ~/.pgpass that `pgward login` writes. */
async function freshHome(): Promise<NodeJS.ProcessEnv> {
  const home = await mkdtemp(join(tmpdir(), 'pgward-home-'));
  return { HOME: home };
}

/** Runs the psql line `pgward login` printed, with no password anywhere but ~/.pgpass. */
const psqlWith = (line: string, env: NodeJS.ProcessEnv, sql: string) =>
  run('bash', ['-c', `${line} -X -At -c "${sql}"`], { env: { HOME: env['HOME']!, PGPASSWORD: '', PGPASSFILE: '' } });

describe('pgward login / logout', () => {
  it('loopback flow: the browser signs in, ~/.pgpass gets a 0600 entry, psql connects with no password', async () => {
    const env = await freshHome();
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    let callback: string | null = null;
    page.on('request', (r) => {
      if (r.url().includes('/callback?code=')) callback = r.url();
    });
    const said: string[] = [];
    let confirmPage: string | null = null;
    const result = await login({
      gateway: gw.web!.url,
      env,
      say: (l) => said.push(l),
      // Signed in, the browser shows which terminal asks; nothing is issued until alice confirms.
      openUrl: (url) =>
        void signInAt(page, url, devUser('alice')).then(async () => {
          confirmPage = await page.locator('main').textContent();
          await page.click('button[value=confirm]');
        }),
      timeoutMs: 30_000,
    });
    expect(result.user).toBe('alice');
    expect(said[0]).toMatch(/^Sign in at: http:\/\/127\.0\.0\.1:\d+\/cli\/login\?port=\d+&state=/);
    const asked = new URL(said[0]!.slice('Sign in at: '.length));
    expect(confirmPage).toContain('A terminal asks to be signed in as alice');
    expect(confirmPage).toContain(
      `port=${asked.searchParams.get('port')}&state=${asked.searchParams.get('state')!.slice(0, 8)}…`,
    );
    expect(await page.locator('p').textContent()).toBe(
      'Signed in. You can close this tab and go back to your terminal.',
    );

    const pgpass = join(env['HOME']!, '.pgpass');
    expect((await stat(pgpass)).mode & 0o777).toBe(0o600);
    expect(await readFile(pgpass, 'utf8')).toBe(`localhost:${gw.port}:*:alice:${result.token}\n`);
    expect(await readFile(loginsPath(env), 'utf8')).not.toContain(result.token);
    expect(result.psql).not.toContain(result.token);
    expect(said.join('\n')).not.toContain(result.token);

    const r = await psqlWith(result.psql, env, 'select current_user, 1 + 1');
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(`${gw.upstreamRole}|2`);

    // The one-time code cannot be redeemed again.
    const code = new URL(callback!).searchParams.get('code')!;
    const again = await fetch(`${gw.web!.url}/cli/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code }),
    });
    expect(again.status).toBe(400);
    expect(await again.json()).toEqual({ error: 'invalid_grant' });

    // logout: entry gone, token revoked, psql has nothing to send.
    await writeFile(pgpass, `${await readFile(pgpass, 'utf8')}otherhost:5432:*:bob:keepme\n`, { mode: 0o600 });
    const out = await logout({ gateway: gw.web!.url, env, say: () => undefined });
    expect(out.revoked).toBe(true);
    expect(await readFile(pgpass, 'utf8')).toBe('otherhost:5432:*:bob:keepme\n');
    const { rows } = await gw.cp.store.sql.query<{ revoked_reason: string }>(
      `select revoked_reason from tokens where jti = $1`,
      [JSON.parse(Buffer.from(result.token.split('.')[1]!, 'base64url').toString()).jti],
    );
    expect(rows[0]?.revoked_reason).toBe('signed out with the CLI');
    const after = await psqlWith(result.psql, env, 'select 1');
    expect(after.code).not.toBe(0);
    expect(after.stderr).toContain('no password supplied');
    await ctx.close();
  });

  it('device flow: a code entered in a browser elsewhere signs the terminal in', async () => {
    const env = await freshHome();
    const said: string[] = [];
    let complete: string | null = null;
    const pending = login({
      gateway: gw.web!.url,
      device: true,
      env,
      say: (l) => {
        said.push(l);
        complete ??= /\(or open (\S+)\)/.exec(l)?.[1] ?? null;
      },
      timeoutMs: 30_000,
    });
    const verificationUrl = await eventually(() => {
      expect(complete, 'the verification address login printed').not.toBeNull();
      return complete!;
    });
    const userCode = /enter the code ([A-Z]{4}-[A-Z]{4})/.exec(said.join('\n'))?.[1];
    expect(userCode).toBeDefined();
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await signInAt(page, verificationUrl, devUser('bob'));
    expect(await page.inputValue('#user_code')).toBe(userCode);
    await page.click('main button[type=submit]');
    expect(await page.locator('[role=status]').textContent()).toBe('Done. Your terminal is signed in.');
    const result = await pending;
    expect(result.user).toBe('bob');
    const r = await psqlWith(result.psql, env, 'select 3 * 3');
    expect(r.stdout.trim()).toBe('9');

    // A code typed twice is refused the second time.
    await page.goto(`${gw.web!.url}/device`);
    await page.fill('#user_code', userCode!);
    await page.click('main button[type=submit]');
    expect(await page.locator('[role=alert]').textContent()).toBe('That code is not valid or has expired.');
    await ctx.close();
  });

  it('says clearly when the console cannot be reached or the user was never signed in', async () => {
    const env = await freshHome();
    await expect(logout({ gateway: gw.web!.url, env })).rejects.toThrow(`not signed in to ${gw.web!.url}`);
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise((r) => closed.close(r));
    await expect(login({ gateway: `http://127.0.0.1:${port}`, device: true, env })).rejects.toThrow(
      `cannot reach the gateway console at http://127.0.0.1:${port} (ECONNREFUSED)`,
    );
    await expect(login({ gateway: 'ftp://x', env })).rejects.toThrow('the gateway URL must be http(s)');
  });
});
