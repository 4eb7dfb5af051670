import { describe, expect, it } from 'vitest';
import { decodeStatementRuns, timelineEvent } from '../../src/web/statement-runs.js';

const statements = [
  { sql: 'select $1', category: 'read' },
  { sql: 'update t set a = $1', category: 'write', tables: ['t'] },
];

describe('statement runs of a chained statements event, by the names in its columns', () => {
  it('decodes runs whatever order the columns were written in', () => {
    const payload = {
      start: '2026-01-01T00:00:00.000Z',
      count: 2,
      statements,
      columns: ['statement', 'rows', 'bytes', 'ms', 'offsetMs', 'outcome', 'error', 'params'],
      runs: [
        [0, 1, 30, 2, 5, 'ok'],
        [[0, 1], 0, 0, 7, 1500, 'error', '23505'],
      ],
    };
    const reordered = {
      ...payload,
      columns: ['outcome', 'offsetMs', 'statement', 'error', 'ms', 'bytes', 'rows'],
      runs: [
        ['ok', 5, 0, undefined, 2, 30, 1],
        ['error', 1500, [0, 1], '23505', 7, 0, 0],
      ],
    };
    const expected = [
      {
        at: new Date('2026-01-01T00:00:00.005Z'),
        sql: ['select $1'],
        rows: 1,
        bytes: 30,
        ms: 2,
        outcome: 'ok',
        error: null,
      },
      {
        at: new Date('2026-01-01T00:00:01.500Z'),
        sql: ['select $1', 'update t set a = $1'],
        rows: 0,
        bytes: 0,
        ms: 7,
        outcome: 'error',
        error: '23505',
      },
    ];
    expect(decodeStatementRuns(payload)).toEqual(expected);
    expect(decodeStatementRuns(reordered)).toEqual(expected);
  });

  it('gives up (null) on a payload it cannot read rather than guessing positions', () => {
    expect(
      decodeStatementRuns({ start: '2026-01-01T00:00:00Z', statements, runs: [[0, 1, 2, 3, 4, 'ok']] }),
    ).toBeNull();
    expect(
      decodeStatementRuns({ start: 'yesterday', statements, columns: ['statement', 'outcome'], runs: [] }),
    ).toBeNull();
    expect(
      decodeStatementRuns({ start: '2026-01-01T00:00:00Z', statements, columns: ['rows'], runs: [[1]] }),
    ).toBeNull();
    expect(decodeStatementRuns('not an object')).toBeNull();
  });

  it('names a statement it cannot find "?" instead of failing the whole timeline', () => {
    const runs = decodeStatementRuns({
      start: '2026-01-01T00:00:00Z',
      statements,
      columns: ['statement', 'outcome'],
      runs: [[7, 'ok']],
    });
    expect(runs?.map((r) => r.sql)).toEqual([['?']]);
  });

  it('keeps the raw payload of other events and of statements events it cannot decode', () => {
    const at = new Date('2026-01-01T00:00:00Z');
    const start = timelineEvent({ seq: 1, at, kind: 'session_start', payload: { client: '10.0.0.1' }, hash: 'ab' });
    expect(start).toEqual({
      seq: 1,
      at,
      kind: 'session_start',
      hash: 'ab',
      payload: { client: '10.0.0.1' },
      runs: null,
    });
    const odd = timelineEvent({ seq: 2, at, kind: 'statements', payload: { runs: 'x' }, hash: 'cd' });
    expect(odd.runs).toBeNull();
    expect(odd.payload).toEqual({ runs: 'x' });
    const good = timelineEvent({
      seq: 3,
      at,
      kind: 'statements',
      payload: { start: at.toISOString(), statements, columns: ['statement', 'outcome'], runs: [[0, 'ok']] },
      hash: 'ef',
    });
    expect(good.payload).toBeNull();
    expect(good.runs).toHaveLength(1);
  });
});
