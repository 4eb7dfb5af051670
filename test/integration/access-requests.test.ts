import { readFile, writeFile, mkdtemp } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { psql } from '../harness/clients.js';
import { eventually } from '../harness/eventually.js';
import { startTestGateway, superuserQuery, type TestGateway } from '../harness/gateway.js';
import { buildCli, pgward, type CliResult } from './audit-cli.js';

/**
 * Just-in-time access with real parts: two gateways on one store, psql, the real `pgward`
 * CLI, and a local HTTP receiver standing in for the chat webhook.
 */

let a: TestGateway;
let b: TestGateway;
let main: string;
let dir: string;
let config: string;
const hooks: Array<{ kind: string; text: string; detail: Record<string, unknown> }> = [];
let receiver: http.Server;

const policy = (hook: string): string => `rules:
  - name: dev-write-app
    effect: allow
    subjects: { groups: [developers] }
    targets: [app]
    tls: { required: false }
    requestable:
      approvers: { groups: [dba] }
      maxDuration: 1h
      reason: { required: true, pattern: '[A-Z]+-[0-9]+' }
      webhook: ${hook}
  - name: oncall-write-app
    effect: allow
    subjects: { groups: [oncall] }
    targets: [app]
    tls: { required: false }
    requestable:
      approvers: { groups: [dba] }
      approvals: 2
      reason: { required: false }
      webhook: ${hook}
  - name: dba-break-glass
    effect: allow
    subjects: { groups: [dba] }
    targets: [app]
    tls: { required: false }
    requestable:
      approvers: { groups: [dba] }
      selfApproval: break-glass
      webhook: ${hook}
`;

const cli = (...args: string[]): Promise<CliResult> => pgward(main, ['--config', config, ...args], dir);

async function ok(...args: string[]): Promise<string> {
  const r = await cli(...args);
  if (r.code !== 0) throw new Error(`pgward ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

async function create(user: string, groups: string, rule: string, extra: string[] = []): Promise<string> {
  return ok('request', 'create', '--as', user, '--groups', groups, '--target', 'app', '--rule', rule, ...extra);
}

const state = async (id: string): Promise<string> =>
  (JSON.parse(await ok('request', 'show', id, '--json')) as { state: string }).state;

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      hooks.push(JSON.parse(body) as (typeof hooks)[number]);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  a = await startTestGateway(inject('pgCluster'), {}, { policies: { 'jit.yaml': policy(hook) } });
  b = await startTestGateway(inject('pgCluster'), {}, { share: a, policies: { 'jit.yaml': policy(hook) } });
  main = await buildCli();
  dir = await mkdtemp(join(tmpdir(), 'pgward-jit-'));
  const cluster = inject('pgCluster');
  config = join(dir, 'pgward.yaml');
  await writeFile(
    config,
    [
      `gatewayId: cli-${a.config.gatewayId}`,
      `store: { url: '${a.storeUrl}', caFile: '${a.caPath}' }`,
      `vault: { keyFile: '${a.vaultKeyFile}' }`,
      `targets:`,
      `  app: { host: ${cluster.host}, port: ${cluster.port}, database: ${a.upstreamDatabase}, role: ${a.upstreamRole} }`,
      '',
    ].join('\n'),
  );
}, 240_000);

afterAll(async () => {
  await b?.close();
  await a?.close();
  receiver?.close();
});

const refusedWithHint = async (gw: TestGateway, user: string, groups: string[]): Promise<string> => {
  const t = await gw.issue(user, { groups });
  const r = await psql(gw, user, gw.database, t.token, ['-c', 'select 1']);
  expect(r.code).not.toBe(0);
  return r.stderr;
};

describe('just-in-time access requests', () => {
  it('psql is refused with a FATAL whose hint names the command to ask', async () => {
    const stderr = await refusedWithHint(a, 'alice', ['developers']);
    expect(stderr).toContain(`FATAL:  pgward: user "alice" has no access to database "app"`);
    expect(stderr).toContain(
      `HINT:  Ask for access: pgward request create --target app --database ${a.upstreamDatabase} --role ${a.upstreamRole} --reason "..."`,
    );
  });

  it('a request needs the reason the rule asks for, and only approvers approve', async () => {
    const noReason = await cli(
      'request',
      'create',
      '--as',
      'alice',
      '--groups',
      'developers',
      '--target',
      'app',
      '--rule',
      'dev-write-app',
    );
    expect(noReason.stderr).toContain('rule dev-write-app requires a reason');
    const badReason = await cli(
      'request',
      'create',
      '--as',
      'alice',
      '--groups',
      'developers',
      '--target',
      'app',
      '--rule',
      'dev-write-app',
      '--reason',
      'because',
    );
    expect(badReason.stderr).toContain('the reason must match');
    const id = await create('alice', 'developers', 'dev-write-app', ['--reason', 'OPS-1 fix the index']);
    const self = await cli('request', 'approve', id, '--as', 'alice', '--groups', 'developers');
    expect(self.stderr).toContain('alice is not in an approver group of rule dev-write-app');
    await ok('request', 'cancel', id, '--as', 'alice');
    expect(await state(id)).toBe('cancelled');
  });

  it('approved: psql connects as the granted role on both gateways, and the grant expires with a FATAL', async () => {
    const id = await create('alice', 'developers', 'dev-write-app', ['--reason', 'OPS-2 hotfix', '--duration', '12s']);
    await eventually(() =>
      expect(hooks.some((h) => h.detail['id'] === id && h.kind === 'access-request-pending')).toBe(true),
    );
    const t = await b.issue('alice', { groups: ['developers'] });
    await ok('request', 'approve', id, '--as', 'bob', '--groups', 'dba', '--reason', 'ok');
    const approvedAt = Date.now();
    // The approval was made by another process (the CLI); gateway b learns of it by NOTIFY.
    let first: number | null = null;
    while (first === null && Date.now() - approvedAt < 10_000) {
      const r = await psql(b, 'alice', b.database, t.token, ['-c', 'select current_user']);
      if (r.code === 0) {
        first = Date.now();
        expect(r.stdout.trim()).toBe(a.upstreamRole);
      }
    }
    expect(first).not.toBeNull();
    console.log(
      `measure: approval (CLI returned) to first successful psql connection on the second gateway: ${first! - approvedAt} ms`,
    );
    expect(hooks.find((h) => h.detail['id'] === id && h.kind === 'access-request-approved')?.text).toContain(
      'bob approved the request of alice',
    );

    const ta = await a.issue('alice', { groups: ['developers'] });
    const r = await psql(a, 'alice', a.database, ta.token, ['-c', 'select pg_sleep(60)'], { timeoutMs: 40_000 });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      `FATAL:  terminating connection: the access request ${id} that granted this session was expired`,
    );
    await eventually(async () => expect(await state(id)).toBe('expired'));
    expect(await refusedWithHint(a, 'alice', ['developers'])).toContain('HINT:  Ask for access');

    // The session recorded the request; the request's own chain holds every step.
    const used = await superuserQuery(
      inject('pgCluster'),
      `select count(*)::int as n from session_events where kind = 'access_used' and payload->>'request' = $1`,
      a.storeUrl.split('/').pop(),
      [id],
    );
    expect(used.rows[0].n).toBeGreaterThanOrEqual(2);
    const chain = await superuserQuery(
      inject('pgCluster'),
      `select kind from session_events where session_id = $1 order by seq`,
      a.storeUrl.split('/').pop(),
      [id],
    );
    expect(chain.rows.map((x: { kind: string }) => x.kind)).toEqual([
      'access_requested',
      'access_approved',
      'access_expired',
    ]);
  }, 90_000);

  it('a two-approver rule needs two distinct approvers', async () => {
    const id = await create('carol', 'oncall', 'oncall-write-app');
    await ok('request', 'approve', id, '--as', 'bob', '--groups', 'dba');
    expect(await state(id)).toBe('pending');
    expect((await cli('request', 'approve', id, '--as', 'bob', '--groups', 'dba')).stderr).toContain(
      'bob has already approved',
    );
    await ok('request', 'approve', id, '--as', 'erin', '--groups', 'dba');
    expect(await state(id)).toBe('approved');
    const t = await a.issue('carol', { groups: ['oncall'] });
    await eventually(async () =>
      expect((await psql(a, 'carol', a.database, t.token, ['-c', 'select 1'])).stdout.trim()).toBe('1'),
    );
    await ok('request', 'revoke', id, '--as', 'erin', '--groups', 'dba', '--reason', 'done');
    await eventually(async () =>
      expect((await psql(a, 'carol', a.database, t.token, ['-c', 'select 1'])).code).not.toBe(0),
    );
  });

  it('a denied request grants nothing', async () => {
    const id = await create('alice', 'developers', 'dev-write-app', ['--reason', 'OPS-3']);
    await ok('request', 'deny', id, '--as', 'bob', '--groups', 'dba', '--reason', 'use the replica');
    expect(await state(id)).toBe('denied');
    expect(await refusedWithHint(a, 'alice', ['developers'])).toContain('HINT:  Ask for access');
    await eventually(() =>
      expect(hooks.some((h) => h.detail['id'] === id && h.text.includes('bob denied'))).toBe(true),
    );
  });

  it('nobody approves their own request unless the rule allows break-glass, which alerts at once', async () => {
    const own = await create('dana', 'developers,dba', 'dev-write-app', ['--reason', 'OPS-4']);
    const refused = await cli('request', 'approve', own, '--as', 'dana', '--groups', 'developers,dba');
    expect(refused.stderr).toContain('nobody approves their own request under rule dev-write-app');
    const glass = await create('dana', 'dba', 'dba-break-glass', ['--reason', 'INC-9 outage']);
    await ok('request', 'approve', glass, '--as', 'dana', '--groups', 'dba', '--reason', 'outage');
    expect(await state(glass)).toBe('approved');
    await eventually(() => {
      const alert = hooks.find((h) => h.kind === 'break-glass' && h.detail['id'] === glass);
      expect(alert?.text).toContain('BREAK-GLASS: dana approved their own access');
    });
    const anomalies = await superuserQuery(
      inject('pgCluster'),
      `select kind, severity from anomalies where session_id = $1`,
      a.storeUrl.split('/').pop(),
      [glass],
    );
    expect(anomalies.rows).toEqual([{ kind: 'break-glass', severity: 'high' }]);
  });

  it('the request events are in exports (JSONL, CSV, OCSF), and audit verify covers them', async () => {
    const from = new Date(Date.now() - 3_600_000).toISOString();
    for (const format of ['jsonl', 'csv', 'ocsf']) {
      const out = join(dir, `all.${format}`);
      await ok('audit', 'export', '--from', from, '--format', format, '-o', out);
      const text = await readFile(out, 'utf8');
      for (const k of [
        'access_requested',
        'access_approval',
        'access_approved',
        'access_denied',
        'access_cancelled',
        'access_expired',
        'access_revoked',
        'access_used',
      ])
        expect(text).toContain(k);
      const verified = await cli('audit', 'verify', out, '--trust-on-first-use');
      expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    }
  });
});
