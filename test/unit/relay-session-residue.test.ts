import { describe, expect, it } from 'vitest';
import { mayDefinePlaceholder } from '../../src/relay/session-residue.js';

const reads = (sql: string): boolean => mayDefinePlaceholder(Buffer.from(`${sql}\0`));

describe('statements that may leave a placeholder setting in a pooled backend', () => {
  it('SET of a dotted name (any case, SESSION or LOCAL, quoted) and any set_config', () => {
    const defining = [
      "SET app.tenant = 'x'",
      'set local "App".x to 1',
      'SET SESSION myapp.user TO 1',
      "select set_config('a.b', 'c', false)",
      'SELECT SET_CONFIG($1, $2, true)',
    ];
    expect(defining.filter((sql) => !reads(sql))).toEqual([]);
  });

  it('ordinary statements, SET of built-in settings and UPDATE ... SET do not count', () => {
    const plain = [
      'select 1',
      "SET work_mem = '4MB'",
      'set search_path = public',
      'update t set a = 1',
      'update t set x = s.y from s',
      "select current_setting('app.tenant', true)",
    ];
    expect(plain.filter(reads)).toEqual([]);
  });
});
