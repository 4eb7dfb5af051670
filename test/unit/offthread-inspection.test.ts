import { afterAll, describe, expect, it } from 'vitest';
import { StatementInspector } from '../../src/detect/classify.js';
import { NORMALIZED_KEEP } from '../../src/detect/parse-worker.js';
import {
  closeParseWorkers,
  configureParseBudget,
  inspectOffThread,
  overParseBudget,
  ParsePool,
  PARSE_BUDGET_DEFAULTS,
} from '../../src/detect/offthread-inspection.js';
import { ReadOnlyGuard } from '../../src/detect/read-only-guard.js';
import { loadSqlParser } from '../../src/detect/sql-parser.js';

/** An INSERT with a VALUES list of about `bytes` bytes. */
export function valuesList(bytes: number, head = 'insert into t(a, b) values '): string {
  const rows: string[] = [];
  let n = head.length;
  for (let i = 0; n < bytes; i++) {
    const row = `(${i}, 'row ${i}')`;
    rows.push(row);
    n += row.length + 1;
  }
  return head + rows.join(',');
}

const pools: ParsePool[] = [];
const pool = (options: Partial<typeof PARSE_BUDGET_DEFAULTS> = {}): ParsePool => {
  const p = new ParsePool({ ...PARSE_BUDGET_DEFAULTS, ...options });
  pools.push(p);
  return p;
};
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
  await closeParseWorkers();
});

describe('parse pool', () => {
  it('classifies a large text in a worker as the event loop would', async () => {
    await loadSqlParser();
    const sql = valuesList(200_000) + '; truncate victim';
    const answer = await pool().classify(sql, true);
    if ('error' in answer) throw new Error(answer.error);
    expect(answer.info.category).toBe('write');
    expect(answer.info.risks).toContain('truncate');
    expect(answer.info.tables).toEqual(['t', 'victim']);
    expect(answer.verdict).toBeNull();
    expect(answer.info.normalized.length).toBeLessThan(NORMALIZED_KEEP + 100);
    expect(answer.info.normalized).toMatch(/^insert into t\(a, b\) values \(\$1, \$2\)/);
  });
});

describe('parse pool: what the read-only guard needs', () => {
  it('finds a switch of read-only buried in a large text', async () => {
    const sql = `${valuesList(300_000, 'select * from (values ')}) v; set default_transaction_read_only = off`;
    const answer = await pool().classify(sql, true);
    if ('error' in answer) throw new Error(answer.error);
    expect(answer.verdict?.code).toBe('25006');
    // Without a read-only grant the guard's parse is not run at all.
    const other = await pool().classify(sql, false);
    expect('error' in other ? other.error : other.verdict).toBeNull();
  });
});

describe('parse pool: failures refuse the statement, never the gateway', () => {
  it('a worker over its heap limit dies; the text is answered with why, and the next text gets a new worker', async () => {
    const p = pool({ maxHeapMb: 32 });
    const answer = await p.classify(valuesList(4_000_000), false);
    expect('error' in answer && answer.error).toBe('pgward ran out of memory classifying this statement');
    expect(p.counts.failed).toBe(1);
    const next = await p.classify('select 1', false);
    expect('info' in next && next.info.category).toBe('read');
    expect(p.counts.started).toBe(2);
  });

  it('a text not classified in time is answered as such and its worker replaced', async () => {
    const p = pool({ timeoutMs: 200 });
    const started = Date.now();
    const answer = await p.classify(valuesList(6_000_000), false);
    expect('error' in answer && answer.error).toBe('pgward could not classify this statement within 0.2 s');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(p.workers).toBe(0);
  });

  it('texts wait their turn for the one worker, in order', async () => {
    const p = pool({ workers: 1 });
    const answers = await Promise.all(
      ['select 1', 'delete from t', 'truncate t', 'drop table t'].map((sql) => p.classify(sql, false)),
    );
    expect(answers.map((a) => ('info' in a ? a.info.category : a.error))).toEqual(['read', 'write', 'write', 'ddl']);
    expect(p.counts.started).toBe(1);
  });
});

describe('parse pool: memory', () => {
  it('a worker that parsed a text above the recycle size is replaced (its WASM memory goes back)', async () => {
    const p = pool({ recycleAboveBytes: 100_000 });
    await p.classify(valuesList(50_000), false);
    expect(p.workers).toBe(1);
    await p.classify(valuesList(150_000), false);
    expect(p.counts.recycled).toBe(1);
    expect(p.workers).toBe(0);
  });
});

describe('inspectOffThread: the inspector and guard take the answer once', () => {
  it('primes when the relay calls back, so the monitor reads it without parsing', async () => {
    configureParseBudget({ budgetBytes: 1024 });
    const inspector = new StatementInspector();
    const guard = new ReadOnlyGuard();
    const sql = valuesList(4096) + '; truncate victim';
    expect(overParseBudget(sql)).toBe(true);
    expect(overParseBudget('select 1')).toBe(false);
    const prepared = await inspectOffThread({ inspector, guard, sql });
    expect(prepared()).toBeNull();
    expect(inspector.inspect(sql).risks).toContain('truncate');
    expect(guard.check(sql)).toBeNull();
    expect(inspector.parses).toBe(0);
  });

  it('a budget counted in UTF-8 bytes', () => {
    configureParseBudget({ budgetBytes: 1000 });
    expect(overParseBudget(`select '${'é'.repeat(400)}'`)).toBe(false);
    expect(overParseBudget(`select '${'é'.repeat(600)}'`)).toBe(true);
  });
});
