import { describe, expect, it } from 'vitest';
import { decideStartupParams } from '../../src/policy/startup-params.js';
import { PgError } from '../../src/protocol/errors.js';

const decide = (params: Array<[string, string]>) => decideStartupParams(params, 'alice', 'app');

function refusal(params: Array<[string, string]>): PgError {
  try {
    decide(params);
  } catch (err) {
    if (err instanceof PgError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('startup parameter allow-list', () => {
  it('forwards what psql, pgbench, node-postgres and JDBC send', () => {
    const d = decide([
      ['user', 'alice'],
      ['database', 'app'],
      ['application_name', 'psql'],
      ['client_encoding', 'UTF8'],
      ['DateStyle', 'ISO'],
      ['TimeZone', 'UTC'],
      ['extra_float_digits', '3'],
    ]);
    expect(d.forward.map(([n]) => n)).toEqual(['application_name', 'client_encoding', 'DateStyle', 'TimeZone', 'extra_float_digits']);
    expect(d.applicationName).toBe('psql');
  });

  it.each([
    [['options', '-c role=postgres']],
    [['role', 'admin']],
    [['session_authorization', 'postgres']],
    [['search_path', 'evil,public']],
    [['app.tenant_id', '42']],
    [['replication', 'database']],
    [['replication', 'true']],
  ] as Array<[[string, string]]>)('denies %j with 42501', (param) => {
    const e = refusal([param]);
    expect(e.code).toBe('42501');
    expect(e.message).toContain(param[0]);
  });

  it('answers replication=maybe exactly as Postgres', () => {
    const e = refusal([['replication', 'maybe']]);
    expect(e.code).toBe('22023');
    expect(e.message).toBe('invalid value for parameter "replication": "maybe"');
    expect(e.hint).toBe('Valid values are: "false", 0, "true", 1, "database".');
  });

  it('refuses client encodings whose trail bytes can be a backslash', () => {
    expect(refusal([['client_encoding', 'SJIS']]).code).toBe('0A000');
    expect(refusal([['client_encoding', 'gbk']]).code).toBe('0A000');
  });

  it('collects _pq_ options for NegotiateProtocolVersion and never forwards them', () => {
    const d = decide([['_pq_.compression', 'on']]);
    expect(d.unsupportedOptions).toEqual(['_pq_.compression']);
    expect(d.forward).toEqual([]);
  });

  it('lets replication=false and empty options through as no-ops', () => {
    const d = decide([['replication', 'false'], ['options', '  ']]);
    expect(d.forward).toEqual([]);
    expect(d.linkLogin).toBe(false);
  });

  it('reads the link-login switch from options in each spelling libpq users write, and forwards nothing', () => {
    for (const v of ['-c pgward.login=link', '-cpgward.login=link', '--pgward.login=link', '  -c   pgward.login=link ']) {
      const d = decide([['options', v]]);
      expect(d.linkLogin).toBe(true);
      expect(d.forward).toEqual([]);
    }
  });

  it('refuses any other setting riding along with the link-login switch', () => {
    for (const v of ['-c pgward.login=link -c role=postgres', '-c pgward.login=token', '-c', 'pgward.login=link']) {
      expect(() => decide([['options', v]])).toThrow(/startup parameter "options" is not allowed/);
    }
  });
});
