import { beforeAll, describe, expect, it } from 'vitest';
import { loadSqlParser, normalizeStatement, parseFailure, parseStatements } from '../../src/detect/sql-parser.js';

beforeAll(() => loadSqlParser());

const SKEW = 'SELECT 1 FROM (VALUES (1)) AS system_user';

describe('grammar of the upstream major', () => {
  it('reads text only an older grammar accepts with that grammar', () => {
    // SYSTEM_USER is reserved since 16: 18's grammar refuses what 13–15 run.
    expect(parseStatements(SKEW)).toBeNull();
    expect(parseStatements(SKEW, 18)).toBeNull();
    expect(parseStatements(SKEW, 17)).toBeNull();
    for (const major of [13, 14, 15]) {
      const stmts = parseStatements(`SET default_transaction_read_only = off; ${SKEW}`, major);
      expect(stmts?.map((s) => Object.keys(s)[0])).toEqual(['VariableSetStmt', 'SelectStmt']);
    }
  });

  it('gives 13 and 14 trees the shape 15+ write', () => {
    for (const major of [13, 14]) {
      const [set] = parseStatements(`SET default_transaction_read_only = 0; ${SKEW}`, major)!;
      expect(set).toEqual({
        VariableSetStmt: {
          kind: 'VAR_SET_VALUE',
          name: 'default_transaction_read_only',
          args: [{ A_Const: { ival: {}, location: 36 } }],
        },
      });
      const [drop] = parseStatements(`DROP TABLE victim2; ${SKEW}`, major)!;
      expect(JSON.stringify(drop)).toContain('{"String":{"sval":"victim2"}}');
      const [call] = parseStatements(
        `SELECT set_config('default_transaction_read_only', 'fal', false); ${SKEW}`,
        major,
      )!;
      const args = (
        call as { SelectStmt: { targetList: Array<{ ResTarget: { val: { FuncCall: { args: unknown[] } } } }> } }
      ).SelectStmt.targetList[0]!.ResTarget.val.FuncCall.args;
      expect(args).toEqual([
        { A_Const: { sval: { sval: 'default_transaction_read_only' }, location: 18 } },
        { A_Const: { sval: { sval: 'fal' }, location: 51 } },
        { A_Const: { boolval: {}, location: 58 } },
      ]);
    }
  });

  it('reports the syntax error and 1-based position Postgres would', () => {
    expect(parseFailure('SELECT 1 FROM foo wher x', 15)).toEqual({
      message: 'syntax error at or near "x"',
      position: 24,
    });
    expect(parseFailure(SKEW, 16)).toEqual({ message: 'syntax error at or near "system_user"', position: 31 });
    expect(parseFailure(SKEW, 15)).toBeNull();
    expect(parseFailure('SELECT 1')).toBeNull();
  });

  it('normalizes constants also where only the older grammar parses', () => {
    expect(normalizeStatement("SELECT 'a', 1 FROM t WHERE x = 2.5")).toBe('SELECT $1, $2 FROM t WHERE x = $3');
    expect(normalizeStatement(`SELECT 'secret', 42, x'ff', $1 FROM (VALUES (7)) AS system_user`, 15)).toBe(
      'SELECT $2, $3, $4, $1 FROM (VALUES ($5)) AS system_user',
    );
    expect(normalizeStatement(SKEW, 17)).toBeNull();
  });
});
