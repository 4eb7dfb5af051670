import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectLines, systemRootcert } from '../../src/web/connect-lines.js';
import type { DevUser } from '../../src/identity/dev-idp.js';
import { launchChromium, signInAt } from '../harness/browser.js';
import { run } from '../harness/clients.js';
import { startTestGateway, type TestGateway } from '../harness/gateway.js';

const SHOTS = 'test-results/screenshots';
let gw: TestGateway;
let browser: Browser;

const devUser = (name: string): DevUser => gw.web!.devIdp!.users.find((u) => u.username === name)!;

beforeAll(async () => {
  await mkdir(SHOTS, { recursive: true });
  [gw, browser] = await Promise.all([startTestGateway(inject('pgCluster'), {}, { web: true }), launchChromium()]);
}, 240_000);
afterAll(async () => {
  await browser?.close();
  await gw?.close();
});

describe('connection lines that work on any machine', () => {
  it('the connect page serves the CA; psql connects with the lines as shown from a fresh HOME', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await signInAt(page, gw.web!.url, devUser('alice'));
    const html = await page.content();
    // Nothing of the gateway's own file system reaches the page.
    expect(html).not.toContain(gw.caPath);
    expect(html).not.toContain(dirname(gw.caPath));

    // The token is masked on screen until asked for; Copy still takes the whole line.
    const psqlLine = (await page.locator('#psql-line').textContent()) ?? '';
    const token = /^PGPASSWORD='([^']+)'/.exec(psqlLine)?.[1];
    expect(token).toMatch(/^ey/);
    expect(await page.locator('#reveal-token').textContent()).toBe('Show token');
    const secrets = page.locator('.secret');
    expect(await secrets.count()).toBe(4);
    for (const el of await secrets.all()) {
      expect(await el.evaluate((e) => getComputedStyle(e).filter)).toBe('blur(5px)');
      expect(await el.evaluate((e) => e.getBoundingClientRect().width)).toBeLessThan(200);
    }
    await page.screenshot({ path: join(SHOTS, 'connect-page.png'), fullPage: true });
    await page.click('#reveal-token');
    expect(await page.locator('#reveal-token').getAttribute('aria-pressed')).toBe('true');
    expect(await secrets.first().evaluate((e) => getComputedStyle(e).filter)).toBe('none');
    expect(await page.locator('#psql-line').innerText()).toContain(token);
    await page.click('#reveal-token');
    expect(await page.locator('#reveal-token').textContent()).toBe('Show token');

    // The CA over HTTP: what the gateway's certificate chains to.
    const ca = await fetch(`${gw.web!.url}/ca.crt`);
    expect(ca.status).toBe(200);
    expect(ca.headers.get('content-type')).toContain('application/x-pem-file');
    expect(await ca.text()).toBe(await readFile(gw.caPath, 'utf8'));
    expect(await page.getAttribute('#ca-download', 'href')).toBe('/ca.crt');

    // A developer's laptop: an empty HOME, the install line as shown (curl over HTTP), then
    // the psql line as shown; no password file, no PGSSL* variables.
    const home = await mkdtemp(join(tmpdir(), 'pgward-laptop-'));
    const install = ((await page.locator('#ca-install').textContent()) ?? '').trim();
    expect(install).toBe(
      `mkdir -p ~/.postgresql && curl -fsS ${gw.web!.url}/ca.crt -o ~/.postgresql/pgward-localhost-ca.crt`,
    );
    const env = { HOME: home, PGPASSFILE: '/dev/null', PGSSLROOTCERT: '', PGSERVICEFILE: '' };
    const before = await run('bash', ['-c', `${psqlLine} -X -At -c "select 1"`], { env });
    expect(before.code).not.toBe(0);
    expect(before.stderr).toContain(`${home}/.postgresql/pgward-localhost-ca.crt`);
    expect((await run('bash', ['-c', install], { env })).code).toBe(0);
    for (const id of ['#psql-line', '#uri-line']) {
      const line = ((await page.locator(id).textContent()) ?? '').trim();
      const cmd =
        id === '#psql-line'
          ? `${line} -X -At -c "select current_user, 20 + 1"`
          : `psql -X -At "${line}" -c "select current_user, 20 + 1"`;
      const r = await run('bash', ['-c', cmd], { env });
      expect(r.stderr, id).toBe('');
      expect(r.stdout.trim(), id).toBe(`${gw.upstreamRole}|21`);
    }
    // The environment line: export, then plain psql.
    const exported = ((await page.locator('#export-line').textContent()) ?? '').trim();
    const viaEnv = await run(
      'bash',
      ['-c', `${exported}; psql -X -At -h localhost -p ${gw.port} -U alice -d ${gw.database} -c "select 2 + 2"`],
      { env },
    );
    expect(viaEnv.stderr).toBe('');
    expect(viaEnv.stdout.trim()).toBe('4');
    await ctx.close();
  });

  it('a certificate from a public CA: sslrootcert=system, and no CA to download', () => {
    const lines = connectLines({ host: 'db.example.com', port: 6432, caPath: null }, 'alice', 'app', 'T0K');
    expect(lines.psql).toBe(
      `PGPASSWORD='T0K' psql "host=db.example.com port=6432 dbname=app user=alice sslmode=verify-full sslrootcert=system"`,
    );
    expect(lines.uri).toBe('postgresql://alice:T0K@db.example.com:6432/app?sslmode=verify-full&sslrootcert=system');
    expect(lines.export).toBe(`export PGPASSWORD='T0K' PGSSLMODE=verify-full PGSSLROOTCERT="system"`);
    // pgward login on a machine whose psql is older than 16 names the system bundle instead.
    const debian = (p: string): boolean => p === '/etc/ssl/certs/ca-certificates.crt';
    expect(systemRootcert(16, debian)).toBe('system');
    expect(systemRootcert(null, debian)).toBe('system');
    expect(systemRootcert(15, debian)).toBe('/etc/ssl/certs/ca-certificates.crt');
    expect(systemRootcert(14, (p) => p === '/etc/ssl/cert.pem')).toBe('/etc/ssl/cert.pem');
    expect(systemRootcert(15, () => false)).toBe('system');
  });
});
