import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { verifyExport } from '../../src/audit/verify.js';
import { launchChromium } from '../harness/browser.js';
import { startTestGateway, type TestGateway } from '../harness/gateway.js';
import { signInAs } from './console-signin.js';

/*
 * A session of 100,000 statements, written through the gateway's own audit writer (chained,
 * batched and MACed as a live session's are) and the store's session row writes, opens fast:
 * the timeline is read a page at a time on the server. Also: search across statements with
 * totals, bad input answered 400, logins and admin actions paged and exported.
 */

const SHOTS = 'test-results/screenshots';
const STATEMENTS = 100_000;
const PER_EVENT = 500;
const RUN_COLUMNS = ['statement', 'rows', 'bytes', 'ms', 'offsetMs', 'outcome', 'error', 'params'];
let gw: TestGateway;
let browser: Browser;
let auditor: { cookie: string; csrf: string };
const big = randomUUID();

const get = async (url: string) => {
  const res = await gw.web!.app.inject({ method: 'GET', url, headers: { cookie: auditor.cookie } });
  return { status: res.statusCode, json: res.json() as Record<string, unknown> };
};

/** Writes a finished session the way SessionRecord does: the row, the chain through the writer, the row's end. */
async function recordSession(id: string, user: string, statements: number, start: Date): Promise<void> {
  const audit = gw.gateway.audit;
  await gw.cp.store.sessionOpened({
    id,
    gatewayId: gw.config.gatewayId,
    clientAddr: '10.1.2.3',
    clientPort: 50_123,
    startedAt: start,
    username: user,
    groups: ['developers'],
    tokenJti: null,
    target: 'app',
    database: 'shop',
    upstreamRole: 'shop_rw',
    applicationName: 'psql',
    tlsVersion: 'TLSv1.3',
    tlsCipher: 'TLS_AES_256_GCM_SHA384',
    alpn: 'postgresql',
    authMethod: 'scram-sha-256-plus',
    channelBinding: true,
    policyRule: 'devs-write-shop',
    policyVersion: 3,
    readOnly: false,
    readyAt: start,
    stageMs: {},
  });
  let t = start.getTime();
  const at = () => new Date(t);
  audit.append(
    id,
    user,
    'session_start',
    {
      client: '10.1.2.3',
      tls: 'TLSv1.3',
      method: 'scram-sha-256-plus',
      groups: ['developers'],
      target: 'app',
      database: 'shop',
      role: 'shop_rw',
      application: 'psql',
    },
    at(),
  );
  audit.append(
    id,
    user,
    'policy',
    { rule: 'devs-write-shop', file: 'devs.yaml', version: 3, readOnly: false, detector: 'default' },
    at(),
  );
  for (let done = 0; done < statements; done += PER_EVENT) {
    const eventStart = t;
    const runs: unknown[][] = [];
    for (let i = done; i < Math.min(statements, done + PER_EVENT); i++) {
      t += 20;
      if (i % 5000 === 4999) runs.push([2, 0, 80, 1, t - eventStart, 'blocked']);
      else if (i % 1000 === 999) runs.push([1, 0, 90, 3, t - eventStart, 'error', '42P01']);
      // The first run as a parameter-logging profile writes it: no error, its bind values.
      else if (i === 0) runs.push([0, 1, 120, 2, t - eventStart, 'ok', null, [['42']]]);
      else runs.push([0, 1, 120, 2, t - eventStart, 'ok']);
    }
    audit.append(
      id,
      user,
      'statements',
      {
        start: new Date(eventStart).toISOString(),
        count: runs.length,
        statements: [
          { sql: 'select * from public.orders where id = $1', category: 'read', tables: ['public.orders'] },
          { sql: 'select * from missing_table', category: 'read', tables: ['missing_table'] },
          {
            sql: 'delete from public.orders',
            category: 'write',
            tables: ['public.orders'],
            risks: ['delete-without-where'],
            blocked: 'delete-without-where',
          },
        ],
        columns: RUN_COLUMNS,
        runs,
      },
      at(),
    );
    if (done === PER_EVENT * 10)
      audit.append(
        id,
        user,
        'anomaly',
        { kind: 'bulk-read', severity: 'high', action: 'alert', rows: 5000, threshold: 900 },
        at(),
      );
  }
  audit.append(id, user, 'session_end', { reason: 'client-terminate', rowsToClient: statements }, at());
  const chain = audit.endChain(id);
  await audit.flush();
  await gw.cp.store.sessionEnded(id, {
    endedAt: new Date(t + 10),
    endReason: 'client-terminate',
    bytesFromClient: 1,
    bytesToClient: 2,
    messagesFromClient: statements,
    rowsToClient: statements,
    statements,
    anomalies: 1,
    chainHead: chain?.head ?? null,
    chainLength: chain?.seq ?? 0,
  });
}

beforeAll(async () => {
  await mkdir(SHOTS, { recursive: true });
  gw = await startTestGateway(inject('pgCluster'), {}, { web: true });
  auditor = await signInAs(gw, 'carol', ['auditors']);
  const t0 = Date.now();
  await recordSession(big, 'erin', STATEMENTS, new Date(Date.now() - 3_600_000));
  await recordSession(randomUUID(), 'frank', 40, new Date(Date.now() - 1_800_000));
  console.log(`wrote a ${STATEMENTS}-statement session in ${Date.now() - t0} ms`);
  await gw.cp.store.recordAuthEvent({
    gatewayId: gw.config.gatewayId,
    sessionId: null,
    username: 'mallory',
    clientAddr: '203.0.113.9',
    method: 'scram-sha-256',
    outcome: 'failure',
    reason: 'token revoked',
  });
  browser = await launchChromium();
}, 180_000);
afterAll(async () => {
  await browser?.close();
  await gw?.close();
});

describe('a session of 100,000 statements', () => {
  it('gives its first page fast, with the total and the totals', async () => {
    const t0 = performance.now();
    const first = await get(`/api/audit/sessions/${big}/timeline?limit=100`);
    const coldMs = performance.now() - t0;
    expect(first.status).toBe(200);
    // start, policy, 100,000 statements, one anomaly, end
    expect(first.json['total']).toBe(STATEMENTS + 4);
    const items = first.json['items'] as Array<Record<string, unknown>>;
    expect(items).toHaveLength(100);
    expect(items[0]).toMatchObject({ type: 'event', kind: 'session_start' });
    expect(String(items[0]!['summary'])).toContain('connected from 10.1.2.3 with scram-sha-256-plus over TLSv1.3');
    expect(items[1]).toMatchObject({ type: 'event', kind: 'policy' });
    expect(items[2]).toMatchObject({
      type: 'statement',
      sql: ['select * from public.orders where id = $1'],
      categories: ['read'],
      tables: ['public.orders'],
      outcome: 'ok',
      params: [['42']],
    });
    expect(items[3]).toMatchObject({ params: null });
    expect(first.json['session']).toMatchObject({
      username: 'erin',
      accessRequest: null,
      policyRule: 'devs-write-shop',
    });
    expect(first.json['totals']).toMatchObject({
      statements: STATEMENTS,
      errors: 80,
      blocked: 20,
      anomalies: 1,
      rows: 99_900,
    });
    const t1 = performance.now();
    const deep = await get(`/api/audit/sessions/${big}/timeline?offset=99000&limit=100`);
    const warmMs = performance.now() - t1;
    const deepItems = deep.json['items'] as Array<Record<string, unknown>>;
    expect(deepItems[0]).toMatchObject({ index: 99_000 });
    // Opened from a search by statement: the page of the first run that matched, and which it is.
    const found = await get(`/api/audit/sessions/${big}/timeline?text=missing&outcome=error`);
    expect(found.json).toMatchObject({ offset: 1000, focus: 1001 });
    expect((found.json['items'] as Array<Record<string, unknown>>)[1]).toMatchObject({ index: 1001, outcome: 'error' });
    const error = deepItems.find((i) => i['outcome'] === 'error')!;
    expect(error).toMatchObject({
      error: '42P01',
      errorMessage: 'undefined table',
      sql: ['select * from missing_table'],
    });
    console.log(
      `timeline of ${STATEMENTS} statements: first page ${coldMs.toFixed(0)} ms (cold), a deep page ${warmMs.toFixed(0)} ms`,
    );
    expect(coldMs).toBeLessThan(3_000);
    expect(warmMs).toBeLessThan(1_000);
  });

  it('opens in the browser on its first page, saying "of N"', async () => {
    const ctx = await browser.newContext({ locale: 'en-US', timezoneId: 'Europe/Paris' });
    await ctx.addCookies([
      {
        name: auditor.cookie.split('=')[0]!,
        value: auditor.cookie.slice(auditor.cookie.indexOf('=') + 1),
        url: gw.web!.url,
      },
    ]);
    const page = await ctx.newPage();
    const t0 = performance.now();
    await page.goto(`${gw.web!.url}/audit/sessions/${big}`);
    await page.waitForSelector('body[data-ready]', { timeout: 20_000 });
    const ms = performance.now() - t0;
    expect(await page.getAttribute('body', 'data-ready')).toBe('true');
    expect(await page.locator('#timeline-pager').textContent()).toContain('1–100 of 100,004 timeline items');
    expect(await page.locator('#timeline > li').count()).toBe(100);
    console.log(`the playback page of ${STATEMENTS} statements was ready in ${ms.toFixed(0)} ms`);
    expect(ms).toBeLessThan(5_000);
    // An access request the session names but that cannot be read any more: its id, and why.
    const gone = randomUUID();
    await gw.cp.store.sql.query('update sessions set access_request = $2 where id = $1', [big, gone]);
    await page.reload();
    await page.waitForSelector('body[data-ready]');
    expect(await page.locator('#session').textContent()).toContain(`Access request${gone} (no access request ${gone})`);
    await ctx.close();
  }, 60_000);
});

describe('search, events and exports', () => {
  it('finds sessions by statement text, table, classification and outcome, with the total', async () => {
    const byText = await get('/api/audit/search?text=MISSING_table');
    expect(byText.json).toMatchObject({ total: 1, rows: [{ id: big, username: 'erin', matches: 80 }] });
    expect((await get('/api/audit/search?table=orders&outcome=blocked')).json).toMatchObject({
      total: 1,
      rows: [{ id: big, matches: 20 }],
    });
    expect((await get('/api/audit/search?category=write&outcome=ok')).json['total']).toBe(0);
    const all = await get('/api/audit/search?limit=1');
    expect(all.json).toMatchObject({ offset: 0, limit: 1, total: 2 });
    expect((await get('/api/audit/search?limit=1&offset=5')).json).toMatchObject({ total: 2, rows: [] });
  });

  it('answers a bad time or page with 400 and a message saying how to write it', async () => {
    const bad = await get('/api/audit/search?from=yesterday');
    expect(bad.status).toBe(400);
    expect(bad.json['error']).toBe(
      'from: "yesterday" is not a time; write it as 2026-12-04 or 2026-12-04T10:30Z (ISO 8601)',
    );
    expect((await get('/api/audit/sessions?to=2026-13-45')).status).toBe(400);
    expect((await get('/api/audit/events?limit=0')).json['error']).toBe('limit: must be from 1 to 500');
  });

  it('pages refused logins and admin actions, and exports them verifiably', async () => {
    const logins = await get('/api/audit/events?type=auth&outcome=failure&user=mallory');
    expect(logins.json).toMatchObject({
      type: 'auth',
      total: 1,
      rows: [{ user: 'mallory', what: 'failure', detail: 'token revoked', clientAddr: '203.0.113.9' }],
    });
    const res = await gw.web!.app.inject({
      method: 'POST',
      url: '/api/audit/exports',
      headers: { cookie: auditor.cookie, 'x-csrf-token': auditor.csrf },
      payload: {
        from: new Date(Date.now() - 7_200_000).toISOString(),
        format: 'csv',
        logins: true,
        adminActions: true,
      },
    });
    expect(res.statusCode).toBe(200);
    const exported = res.json() as { file: string; manifest: string; logins: number; adminActions: number };
    expect(exported.logins).toBeGreaterThanOrEqual(1);
    // The export itself is an admin action: the next page of admin actions shows it.
    const admin = await get('/api/audit/events?type=admin&text=audit.export');
    expect(admin.json).toMatchObject({ total: 1, rows: [{ user: 'carol', what: 'audit.export' }] });

    const dir = await mkdtemp(join(tmpdir(), 'pgward-paging-'));
    const file = join(dir, 'export.csv');
    const download = async (url: string) =>
      (await gw.web!.app.inject({ method: 'GET', url, headers: { cookie: auditor.cookie } })).body;
    await writeFile(file, await download(exported.file));
    await writeFile(`${file}.manifest.jws`, await download(exported.manifest));
    const verdict = await verifyExport(file);
    expect(verdict.problem).toBeNull();
    expect(verdict.notes.join('\n')).toMatch(/logins and admin actions: \d+ login\(s\), 0 admin action\(s\)/);
    const text = await readFile(file, 'utf8');
    expect(text).toContain('auth_event,');
    // JSONL and OCSF carry them too, and verify alike.
    for (const format of ['jsonl', 'ocsf']) {
      const r = await gw.web!.app.inject({
        method: 'POST',
        url: '/api/audit/exports',
        headers: { cookie: auditor.cookie, 'x-csrf-token': auditor.csrf },
        payload: { from: new Date(Date.now() - 7_200_000).toISOString(), format, logins: true, adminActions: true },
      });
      const e = r.json() as { file: string; manifest: string; adminActions: number };
      expect(e.adminActions).toBeGreaterThanOrEqual(1);
      const f = join(dir, `export.${format}`);
      await writeFile(f, await download(e.file));
      await writeFile(`${f}.manifest.jws`, await download(e.manifest));
      expect((await verifyExport(f)).problem).toBeNull();
      const lines = (await readFile(f, 'utf8')).trimEnd().split('\n');
      expect(lines.at(-1)).toContain(format === 'ocsf' ? '"class_uid":6003' : '"record":"admin_event"');
    }
    // A refused login taken out of the export is caught.
    const cut = text
      .split('\n')
      .filter((l) => !l.includes('mallory'))
      .join('\n');
    await writeFile(join(dir, 'cut.csv'), cut);
    await writeFile(join(dir, 'cut.csv.manifest.jws'), await readFile(`${file}.manifest.jws`));
    expect((await verifyExport(join(dir, 'cut.csv'))).problem).toMatch(/logins, the manifest \d+: some were removed/);
  }, 60_000);
});
