import { beforeAll, describe, expect, it } from 'vitest';
import { emptyBaseline } from '../../src/detect/baseline.js';
import { StatementInspector } from '../../src/detect/classify.js';
import { bindValues, SessionMonitor } from '../../src/detect/session-monitor.js';
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
