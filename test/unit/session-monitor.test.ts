import { beforeAll, describe, expect, it } from 'vitest';
import { emptyBaseline } from '../../src/detect/baseline.js';
import { StatementInspector } from '../../src/detect/classify.js';
import { bindValues, SessionMonitor } from '../../src/detect/session-monitor.js';
import { ReadOnlyGuard } from '../../src/detect/read-only-guard.js';
import { loadSqlParser } from '../../src/detect/sql-parser.js';
import { profileSchema } from '../../src/policy/profiles.js';

let inspector: StatementInspector;
beforeAll(async () => {
  await loadSqlParser();
  inspector = new StatementInspector();
});

function bind(statement: string, values: Array<string | null>): Buffer {
  const parts: Buffer[] = [Buffer.from(`\0${statement}\0`), Buffer.from([0, 0])];
  const n = Buffer.alloc(2);
  n.writeUInt16BE(values.length);
  parts.push(n);
  for (const v of values) {
    const len = Buffer.alloc(4);
    len.writeInt32BE(v === null ? -1 : Buffer.byteLength(v));
    parts.push(len, Buffer.from(v ?? ''));
  }
  parts.push(Buffer.from([0, 0]));
  return Buffer.concat(parts);
}

function monitor(logParameters: boolean) {
  const events: Array<{ kind: string; payload: Record<string, unknown> }> = [];
  let t = 1_000;
  const m = new SessionMonitor({
    inspector,
    profile: profileSchema.parse({ logParameters }),
    baseline: emptyBaseline(),
    readOnly: null,
    clientAddr: '10.0.0.1',
    now: () => (t += 5),
    sinks: {
      record: (kind, payload) => events.push({ kind, payload }),
      anomaly: () => undefined,
      end: () => undefined,
      revoke: () => undefined,
    },
  });
  return { m, events };
}

describe('session monitor', () => {
  it('pairs pipelined extended-protocol batches with their results in order', () => {
    const { m, events } = monitor(false);
    m.statement('P', 'select * from a where id = $1', 's1');
    m.statement('P', "update b set v = 'x' where id = $1", 's2');
    m.sync();
    m.bind('s1', bind('s1', ['1']));
    m.sync();
    m.bind('s2', bind('s2', ['2']));
    m.sync();
    m.ready({ rows: 0, bytes: 10, error: null, status: 'I' });
    m.ready({ rows: 1, bytes: 50, error: null, status: 'I' });
    m.ready({ rows: 0, bytes: 20, error: '23505', status: 'I' });
    m.finish('client-terminate');
    expect(events).toHaveLength(1);
    const p = events[0]!.payload as { statements: Array<{ sql: string }>; runs: unknown[][] };
    expect(p.statements.map((s) => s.sql)).toEqual([
      'select * from a where id = $1',
      'update b set v = $2 where id = $1',
    ]);
    expect(p.runs.map((r) => [r[0], r[1], r[5], r[6] ?? null])).toEqual([
      [0, 1, 'ok', null],
      [1, 0, 'error', '23505'],
    ]);
    expect(JSON.stringify(p)).not.toContain('"2"');
  });

  it('keeps bound values out unless the profile logs parameters', () => {
    const { m, events } = monitor(true);
    m.statement('P', 'select $1::text', '');
    m.bind('', bind('', ['hello', null]));
    m.sync();
    m.ready({ rows: 1, bytes: 30, error: null, status: 'I' });
    m.finish('client-terminate');
    const run = (events[0]!.payload as { runs: unknown[][] }).runs[0]!;
    expect(run[7]).toEqual([['hello', null]]);
    expect(bindValues(bind('x', ['a', 'bc']))).toEqual(['a', 'bc']);
  });

  it('marks statements still running at the end as interrupted', () => {
    const { m, events } = monitor(false);
    m.statement('Q', 'select pg_sleep(10)', '');
    m.finish('upstream-closed');
    expect((events[0]!.payload as { runs: unknown[][] }).runs[0]![5]).toBe('interrupted');
  });
});

/** A FunctionCall body: oid, text formats, the arguments, text result. */
function functionCall(oid: number, args: Array<string | null>): Buffer {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(8);
  head.writeUInt32BE(oid, 0);
  head.writeUInt16BE(0, 4); // no format codes: all text
  head.writeUInt16BE(args.length, 6);
  parts.push(head);
  for (const a of args) {
    const len = Buffer.alloc(4);
    len.writeInt32BE(a === null ? -1 : Buffer.byteLength(a));
    parts.push(len, Buffer.from(a ?? ''));
  }
  parts.push(Buffer.from([0, 0]));
  return Buffer.concat(parts);
}

interface Seen {
  anomalies: Array<{ kind: string; severity: string; action: string; detail: Record<string, unknown> }>;
  ended: string[];
  events: Array<{ kind: string; payload: Record<string, unknown> }>;
}

function guarded(opts: { readOnly: boolean; risks?: Record<string, string>; server?: Array<[string, string]> }) {
  const seen: Seen = { anomalies: [], ended: [], events: [] };
  const m = new SessionMonitor({
    inspector,
    profile: profileSchema.parse({ risks: opts.risks ?? {} }),
    baseline: emptyBaseline(),
    readOnly: opts.readOnly ? new ReadOnlyGuard() : null,
    clientAddr: '10.0.0.1',
    server: opts.server ?? [
      ['server_version', '15.20 (Debian 15.20-0+deb12u1)'],
      ['default_transaction_read_only', opts.readOnly ? 'on' : 'off'],
    ],
    sinks: {
      record: (kind, payload) => seen.events.push({ kind, payload }),
      anomaly: (kind, severity, action, detail) => seen.anomalies.push({ kind, severity, action, detail }),
      end: (message) => seen.ended.push(message),
      revoke: () => undefined,
    },
  });
  return { m, seen };
}

const ready = { rows: 0, bytes: 0, error: null, status: 'I' };

describe('read-only that the server reports', () => {
  it('ends the session, with a high anomaly, when the server reports default_transaction_read_only off', async () => {
    const { m, seen } = guarded({ readOnly: true });
    expect(m.statement('Q', 'select app.lift()', '')).toBeNull();
    m.setting('default_transaction_read_only', 'off');
    expect(seen.anomalies).toEqual([
      { kind: 'read-only-lifted', severity: 'high', action: 'end-session', detail: { reported: 'off' } },
    ]);
    // Whatever the client sent meanwhile does not go upstream.
    expect(m.statement('Q', 'select 1', '')).toEqual({ action: 'end', message: 'read-only-lifted' });
    await Promise.resolve();
    expect(seen.ended).toEqual([
      'terminating connection: the server reported default_transaction_read_only = off in a read-only session',
    ]);
  });

  it('leaves a read-write session alone, and a read-only one that stays on', () => {
    const rw = guarded({ readOnly: false });
    rw.m.setting('default_transaction_read_only', 'off');
    const ro = guarded({ readOnly: true });
    ro.m.setting('default_transaction_read_only', 'on');
    expect([...rw.seen.anomalies, ...ro.seen.anomalies]).toEqual([]);
  });

  it('refuses a write sent before earlier statements that ran functions were answered', () => {
    const { m } = guarded({ readOnly: true });
    expect(m.statement('Q', 'select app.lift()', '')).toBeNull();
    expect(m.statement('Q', 'insert into t values (1)', '')).toMatchObject({ action: 'block', code: '25006' });
    expect(m.statement('P', 'update t set v = 1 where id = $1', 's')).toMatchObject({ code: '25006' });
    m.ready(ready);
    m.ready(ready);
    m.ready(ready);
    // Answered (and reported nothing): the server refuses writes itself, with its own words.
    expect(m.statement('Q', 'insert into t values (1)', '')).toBeNull();
  });

  it('lets transaction control and SET run ahead of a write (they run no function)', () => {
    const { m } = guarded({ readOnly: true });
    m.statement('Q', 'begin', '');
    m.statement('Q', 'set statement_timeout = 1000', '');
    expect(m.statement('Q', 'insert into t values (1)', '')).toBeNull();
  });

  it('refuses every write itself on a server that does not report read-only (13)', () => {
    const { m } = guarded({ readOnly: true, server: [['server_version', '13.23']] });
    const v = m.statement('Q', 'insert into t values (1)', '');
    expect(v).toMatchObject({ action: 'block', code: '25006' });
    expect((v as { detail: string }).detail).toContain('does not report default_transaction_read_only');
    expect(m.statement('Q', 'select 1', '')).toBeNull();
  });
});

describe('FunctionCall messages', () => {
  it('refuses set_config by OID (2078) in a read-only session, naming it in the audit', () => {
    const { m, seen } = guarded({ readOnly: true });
    const body = functionCall(2078, ['default_transaction_read_only', 'off', 'false']);
    expect(m.statement('F', null, '', 2078, undefined, body)).toMatchObject({
      action: 'block',
      code: '25006',
      detail:
        "The statement uses set_config() on read-only settings, which this session's access policy does not allow.",
    });
    m.ready({ ...ready, error: 'blocked' });
    m.finish('client-terminate');
    const statements = (seen.events[0]!.payload as { statements: Array<{ sql: string }> }).statements;
    expect(statements[0]!.sql).toBe('FunctionCall set_config (oid 2078)');
    expect(JSON.stringify(seen.events)).not.toContain('default_transaction_read_only');
  });

  it('refuses a function it cannot name where the session is guarded, with an anomaly', () => {
    const ro = guarded({ readOnly: true });
    expect(ro.m.statement('F', null, '', 16_500, undefined, functionCall(16_500, []))).toMatchObject({
      code: '25006',
    });
    const blocking = guarded({ readOnly: false, risks: { drop: 'block' } });
    expect(blocking.m.statement('F', null, '', 16_500, undefined, functionCall(16_500, []))).toMatchObject({
      code: '42501',
    });
    expect([...ro.seen.anomalies, ...blocking.seen.anomalies].map((a) => a.kind)).toEqual([
      'unknown-function-call',
      'unknown-function-call',
    ]);
    // Elsewhere it is recorded as before.
    const plain = guarded({ readOnly: false });
    expect(plain.m.statement('F', null, '', 16_500, undefined, functionCall(16_500, []))).toBeNull();
  });

  it("classifies a call by its function: pg_terminate_backend is signal-backend, set_config('role') is set-role", () => {
    const { m, seen } = guarded({ readOnly: false, risks: { 'set-role': 'block' } });
    expect(m.statement('F', null, '', 2096, undefined, functionCall(2096, ['4242', '0']))).toBeNull();
    expect(seen.anomalies[0]).toMatchObject({ kind: 'risky-statement', action: 'alert' });
    expect(seen.anomalies[0]!.detail['risks']).toEqual(['function-call-message', 'signal-backend']);
    expect(m.statement('F', null, '', 2078, undefined, functionCall(2078, ['role', 'admin', 'false']))).toMatchObject({
      code: '42501',
      message: 'pgward: statement refused by policy (set-role)',
    });
  });

  it('lets the large-object reads pg_dump makes through a read-only session', () => {
    const { m } = guarded({ readOnly: true });
    expect(m.statement('F', null, '', 952, undefined, functionCall(952, ['16400', '262144']))).toBeNull();
    m.ready(ready);
    expect(m.statement('F', null, '', 954, undefined, functionCall(954, ['0', '16384']))).toBeNull();
  });
});

describe('text no grammar of the upstream reads', () => {
  it('is refused with the syntax error Postgres gives where the session is guarded', () => {
    const { m, seen } = guarded({ readOnly: true });
    expect(m.statement('Q', 'selec 1', '')).toEqual({
      action: 'block',
      code: '42601',
      message: 'syntax error at or near "selec"',
      position: 1,
    });
    expect(seen.anomalies.map((a) => a.kind)).toEqual(['unparsable-statement']);
    const blocking = guarded({ readOnly: false, risks: { truncate: 'block' } });
    expect(blocking.m.statement('Q', 'selec 1', '')).toMatchObject({ code: '42601' });
  });

  it('is forwarded (Postgres answers) in a session that guards nothing', () => {
    const { m, seen } = guarded({ readOnly: false });
    expect(m.statement('Q', 'selec 1', '')).toBeNull();
    expect(seen.anomalies).toEqual([]);
  });

  it("is read with the upstream's own grammar when only that one parses it", () => {
    const ro = guarded({ readOnly: true });
    expect(
      ro.m.statement('Q', 'SET default_transaction_read_only = off; SELECT 1 FROM (VALUES (1)) AS system_user', ''),
    ).toMatchObject({ code: '25006' });
    const blocking = guarded({ readOnly: false, risks: { truncate: 'block', drop: 'block' } });
    expect(
      blocking.m.statement('Q', 'TRUNCATE victim2; DROP TABLE victim2; SELECT 1 FROM (VALUES (1)) AS system_user', ''),
    ).toMatchObject({ code: '42501' });
  });
});
