import { describe, expect, it } from 'vitest';
import { LiveActivity } from '../../src/gateway/live-activity.js';
import type { CycleResult, RelayObserver, StatementVerdict } from '../../src/relay/observer.js';

/** A monitor stand-in that records what reaches it and refuses what it is told to. */
function monitor(refuse: string | null = null) {
  const calls: string[] = [];
  const inner: RelayObserver = {
    statement: (kind, sql, name) => {
      calls.push(`statement ${kind} ${sql ?? '-'} ${name}`);
      return sql === refuse ? ({ action: 'block', code: '42501', message: 'no' } satisfies StatementVerdict) : null;
    },
    bind: (name) => void calls.push(`bind ${name}`),
    sync: () => void calls.push('sync'),
    ready: (r) => void calls.push(`ready ${r.status}`),
  };
  return { inner, calls };
}
const ready = (status: string): CycleResult => ({ rows: 0, bytes: 0, error: null, status });

describe('LiveActivity (what a session runs now, for the live sessions page)', () => {
  it('forwards every call and verdict unchanged, and adds none of the optional methods the monitor lacks', () => {
    const { inner, calls } = monitor('drop table t');
    const a = new LiveActivity(inner);
    expect(a.statement('Q', 'drop table t', '')).toEqual({ action: 'block', code: '42501', message: 'no' });
    expect(a.statement('P', 'select $1', 's1')).toBeNull();
    a.bind('s1', Buffer.alloc(0));
    a.sync();
    a.ready(ready('I'));
    expect(calls).toEqual(['statement Q drop table t ', 'statement P select $1 s1', 'bind s1', 'sync', 'ready I']);
    // The relay tests for these: a monitor without them must not appear to have them.
    expect(a.prepare).toBeUndefined();
    expect(a.mustWait).toBeUndefined();
    expect(a.setting).toBeUndefined();
  });

  it('knows the running statement (a Bind names its prepared text), since when, and the transaction state', () => {
    const a = new LiveActivity(monitor().inner);
    expect([a.current, a.transaction, a.statements]).toEqual([null, 'idle', 0]);
    a.statement('Q', 'begin', '');
    expect(a.current).toBe('begin');
    expect(a.since).toBeInstanceOf(Date);
    a.ready(ready('T'));
    expect([a.current, a.since, a.transaction]).toEqual([null, null, 'in transaction']);
    a.statement('P', 'select * from t where id = $1', 'by_id');
    expect(a.current).toBeNull(); // a Parse alone runs nothing
    a.bind('by_id', Buffer.alloc(0));
    expect(a.current).toBe('select * from t where id = $1');
    a.ready(ready('E'));
    expect(a.transaction).toBe('failed');
    a.statement('F', null, '', 1299);
    expect(a.current).toBe('(function call, oid 1299)');
    a.ready(ready('I'));
    expect([a.transaction, a.statements]).toEqual(['idle', 3]);
  });

  it('remembers a bounded number of prepared statements', () => {
    const a = new LiveActivity(monitor().inner);
    for (let i = 0; i < 500; i++) a.statement('P', `select ${i}`, `s${i}`);
    a.bind('s0', Buffer.alloc(0));
    expect(a.current).toBe('(prepared statement)');
    a.bind('s499', Buffer.alloc(0));
    expect(a.current).toBe('select 499');
  });
});
