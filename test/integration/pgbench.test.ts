import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { run, type RunResult } from '../harness/clients.js';
import { startTestGateway, type TestGateway } from '../harness/gateway.js';

let gw: TestGateway;
let token: string;

beforeAll(async () => {
  gw = await startTestGateway(inject('pgCluster'));
  token = (await gw.issue('bench-user')).token;
});
afterAll(async () => {
  await gw?.close();
});

function pgbench(args: string[]) {
  return run('pgbench', ['-h', gw.host, '-p', String(gw.port), '-U', 'bench-user', ...args, gw.database], {
    env: { PGPASSWORD: token, PGSSLMODE: 'verify-full', PGSSLROOTCERT: gw.caPath },
    timeoutMs: 120_000,
  });
}

/** pgbench -i, once for the file: every run below needs its tables, whichever runs first. */
let initRun: Promise<RunResult> | undefined;
const initialized = (): Promise<RunResult> => (initRun ??= pgbench(['-i', '-s', '1']));
async function needsTables(): Promise<void> {
  const r = await initialized();
  expect(r.code, `pgbench -i: ${r.stderr}`).toBe(0);
}

const tps = (out: string): number => Number(/tps = ([\d.]+)/.exec(out)?.[1] ?? NaN);
const failed = (out: string): number => Number(/number of failed transactions: (\d+)/.exec(out)?.[1] ?? NaN);
const processed = (out: string): number =>
  Number(/number of transactions actually processed: (\d+)/.exec(out)?.[1] ?? NaN);

describe('pgbench through pgward', () => {
  it('initializes its tables (COPY, DDL, vacuum) through the gateway', async () => {
    const r = await initialized();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('done in');
  });

  describe.each(['simple', 'extended', 'prepared'])('-M %s', (mode) => {
    it('select-only (-S), 4 clients, zero failed transactions', async () => {
      await needsTables();
      const r = await pgbench(['-S', '-M', mode, '-c', '4', '-j', '2', '-t', '200']);
      expect(r.code, r.stderr).toBe(0);
      expect(processed(r.stdout)).toBe(800);
      expect(failed(r.stdout)).toBe(0);
      expect(tps(r.stdout)).toBeGreaterThan(0);
    });

    it('the default TPC-B-like run, 4 clients, zero failed transactions', async () => {
      await needsTables();
      const r = await pgbench(['-M', mode, '-c', '4', '-j', '2', '-t', '100']);
      expect(r.code, r.stderr).toBe(0);
      expect(processed(r.stdout)).toBe(400);
      expect(failed(r.stdout)).toBe(0);
    });
  });

  it('connect per transaction (-C) over TLS with SCRAM', async () => {
    await needsTables();
    const r = await pgbench(['-S', '-C', '-c', '2', '-j', '2', '-t', '50']);
    expect(r.code, r.stderr).toBe(0);
    expect(processed(r.stdout)).toBe(100);
    expect(failed(r.stdout)).toBe(0);
  });
});
