import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectPlan, runPlan } from '../../src/cli/connect-command.js';
import { login, logout, loginsPath } from '../../src/cli/login.js';
import type { DevUser } from '../../src/identity/dev-idp.js';
import { launchChromium, signInAt } from '../harness/browser.js';
import { run } from '../harness/clients.js';
import { eventually } from '../harness/eventually.js';
import { startTestGateway, type TestGateway } from '../harness/gateway.js';
import { buildCli, pgward } from './audit-cli.js';

let gw: TestGateway;
let browser: Browser;
let main: string;

const devUser = (name: string): DevUser => gw.web!.devIdp!.users.find((u) => u.username === name)!;

beforeAll(async () => {
  [gw, browser, main] = await Promise.all([
    startTestGateway(inject('pgCluster'), {}, { web: true }),
    launchChromium(),
    buildCli(),
  ]);
}, 240_000);
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

  it('device flow: a code typed in lower case without the dash signs the terminal in; CA, service entry and pgward connect', async () => {
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
    // As a person types it from another screen: lower case, no dash.
    const typed = userCode!.toLowerCase().replace('-', '');
    await page.fill('#user_code', typed);
    await page.click('main button[type=submit]');
    expect(await page.locator('[role=status]').textContent()).toBe('Done. Your terminal is signed in.');
    const result = await pending;
    expect(result.user).toBe('bob');

    // The gateway's CA, fetched over HTTP, is installed under the user's home and the line names it.
    const caFile = join(env['HOME']!, '.postgresql', 'pgward-localhost-ca.crt');
    expect(await readFile(caFile, 'utf8')).toBe(await readFile(gw.caPath, 'utf8'));
    expect(result.psql).toBe(
      `psql "host=localhost port=${gw.port} dbname=${result.database} user=bob sslmode=verify-full sslrootcert=${caFile}"`,
    );
    expect(said.join('\n')).not.toContain(gw.caPath);
    const r = await psqlWith(result.psql, env, 'select 3 * 3');
    expect(r.stdout.trim()).toBe('9');

    // The pg_service.conf entry: host, port, user and certificate in one name.
    expect(result.service).toBe(`pgward-localhost-${gw.port}`);
    expect(await readFile(join(env['HOME']!, '.pg_service.conf'), 'utf8')).toBe(
      [
        `[pgward-localhost-${gw.port}]`,
        'host=localhost',
        `port=${gw.port}`,
        'user=bob',
        `dbname=${result.database}`,
        'sslmode=verify-full',
        `sslrootcert=${caFile}`,
        '',
      ].join('\n'),
    );
    const viaService = await psqlWith(`psql "service=${result.service}"`, env, 'select 4 * 4');
    expect(viaService.stderr).toBe('');
    expect(viaService.stdout.trim()).toBe('16');

    // pgward connect: psql with the token in PGPASSWORD, never among its arguments.
    const out = join(env['HOME']!, 'out.txt');
    const plan = await connectPlan({
      gateway: gw.web!.url,
      env,
      psqlArgs: ['-X', '-At', '-c', 'select 5 * 5', '-o', out],
    });
    expect(plan.args.join(' ')).not.toContain(result.token);
    expect(plan.env['PGPASSWORD']).toBe(result.token);
    plan.env['PGPASSFILE'] = '/dev/null'; // so the token can only come from PGPASSWORD
    expect(await runPlan(plan, 'ignore')).toBe(0);
    expect((await readFile(out, 'utf8')).trim()).toBe('25');

    // A code typed twice is refused the second time, in whatever form.
    await page.goto(`${gw.web!.url}/device`);
    await page.fill('#user_code', ` ${userCode!.toLowerCase()} `);
    await page.click('main button[type=submit]');
    expect(await page.locator('[role=alert]').textContent()).toBe('That code is not valid or has expired.');
    await ctx.close();
  });

  it('finds the console in ./pgward.yaml (or --config), remembers it for logout, and connect follows it', async () => {
    const env = await freshHome();
    const dir = await mkdtemp(join(tmpdir(), 'pgward-cfg-'));
    const consolePort = new URL(gw.web!.url).port;
    const config = join(dir, 'pgward.yaml');
    await writeFile(config, `web: { host: 127.0.0.1, port: ${consolePort} }\n`);
    const said: string[] = [];
    let complete: string | null = null;
    const pending = login({
      config,
      device: true,
      env,
      say: (l) => {
        said.push(l);
        complete ??= /\(or open (\S+)\)/.exec(l)?.[1] ?? null;
      },
      timeoutMs: 30_000,
    });
    const url = await eventually(() => {
      expect(complete).not.toBeNull();
      return complete!;
    });
    expect(url.startsWith(gw.web!.url)).toBe(true);
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await signInAt(page, url, devUser('alice'));
    // The same form posted as JSON (a script, a phone's shortcut): the code in lower case, no dash.
    const code = new URL(url).searchParams.get('user_code')!;
    const csrf = await page.getAttribute('meta[name=csrf-token]', 'content');
    const posted = await page.request.post(`${gw.web!.url}/device`, {
      data: { csrf, user_code: code.replace('-', '').toLowerCase() },
    });
    expect(posted.status()).toBe(200);
    expect(await posted.text()).toContain('Done. Your terminal is signed in.');
    const result = await pending;
    await ctx.close();
    expect(result.user).toBe('alice');
    // No -g and no config: the console of the last sign-in.
    const plan = await connectPlan({ env });
    expect(plan.args[0]).toContain(`user=alice`);
    const out = await logout({ env, say: () => undefined });
    expect(out.revoked).toBe(true);
  });

  it('the real CLI: login and logout read ./pgward.yaml and fail at once when the console is not there', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pgward-cfg-'));
    await writeFile(join(dir, 'pgward.yaml'), `web: { port: ${new URL(gw.web!.url).port} }\n`);
    const home = await mkdtemp(join(tmpdir(), 'pgward-home-'));
    const out = await pgwardIn(dir, home, ['logout']);
    expect(out.stderr).toContain(`pgward: not signed in to ${gw.web!.url}`);

    const closed = await closedPort();
    await writeFile(join(dir, 'pgward.yaml'), `web: { port: ${closed} }\n`);
    const started = Date.now();
    const r = await pgwardIn(dir, home, ['login', '--no-open']);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `pgward: cannot reach the pgward console at http://127.0.0.1:${closed} (ECONNREFUSED); that address came from web.host and web.port in ${join(dir, 'pgward.yaml')}.`,
    );
    expect(r.stderr).not.toContain('Sign in at');
  });

  it('says clearly when the console cannot be reached or the user was never signed in', async () => {
    const env = await freshHome();
    await expect(logout({ gateway: gw.web!.url, env })).rejects.toThrow(`not signed in to ${gw.web!.url}`);
    const port = await closedPort();
    for (const device of [true, false]) {
      const started = Date.now();
      await expect(login({ gateway: `http://127.0.0.1:${port}`, device, env, say: () => undefined })).rejects.toThrow(
        `cannot reach the pgward console at http://127.0.0.1:${port} (ECONNREFUSED); that address came from --gateway.`,
      );
      expect(Date.now() - started).toBeLessThan(5_000);
    }
    await expect(login({ gateway: 'ftp://x', env })).rejects.toThrow('the console URL must be http(s)');
  });
});

async function closedPort(): Promise<number> {
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as net.AddressInfo).port;
  await new Promise((r) => closed.close(r));
  return port;
}

/** The built `pgward` in a folder, with its own HOME (no logins of the test runner's user). */
async function pgwardIn(dir: string, home: string, args: string[]) {
  const env = process.env;
  const saved = { HOME: env['HOME'], PGWARD_URL: env['PGWARD_URL'] };
  env['HOME'] = home;
  delete env['PGWARD_URL'];
  try {
    return await pgward(main, args, dir);
  } finally {
    env['HOME'] = saved.HOME;
    if (saved.PGWARD_URL !== undefined) env['PGWARD_URL'] = saved.PGWARD_URL;
  }
}
