import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { statementItems } from '../../src/web/statement-runs.js';
import { psql } from '../harness/clients.js';
import { startTestGateway, type TestGateway } from '../harness/gateway.js';

/*
 * The error message of a failed statement in the audit (session playback shows it): kept
 * where the profile keeps values (logParameters), since messages can quote them; elsewhere
 * the playback tells the SQLSTATE's meaning and the stored record holds no message.
 */

const POLICY = `profiles:
  values:
    logParameters: true
rules:
  - name: logged
    effect: allow
    subjects: { users: ['logged-*'] }
    session: { detector: values }
    tls: { required: false }
  - name: others
    effect: allow
    subjects: { users: ['plain-*'] }
    session: { readOnly: true }
    tls: { required: false }
`;

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway(inject('pgCluster'), {}, { policies: { 'p.yaml': POLICY } });
});
afterAll(async () => {
  await gw?.close();
});

async function failedRun(user: string, sql: string) {
  const { token } = await gw.issue(user);
  const r = await psql(gw, user, gw.database, token, ['-c', sql]);
  expect(r.code).not.toBe(0);
  await gw.gateway.settled();
  const { rows } = await gw.cp.store.sql.query<{ payload: unknown }>(
    `select payload from session_events where username = $1 and kind = 'statements' order by seq`,
    [user],
  );
  const items = rows.flatMap((row) => statementItems(0, row.payload, 0, 0, 1000));
  return { items, stored: JSON.stringify(rows) };
}

describe('error messages in statement runs', () => {
  it('a profile that logs values keeps the server message', async () => {
    const { items } = await failedRun('logged-ann', "select 'not a number'::int");
    const failed = items.find((i) => i.outcome === 'error');
    expect(failed).toMatchObject({
      error: '22P02',
      errorMessage: 'invalid input syntax for type integer: "not a number"',
    });
  });

  it('elsewhere the record holds no message (it could quote a value); playback tells the SQLSTATE', async () => {
    const { items, stored } = await failedRun('plain-bob', "select 'secret-ish value'::int");
    const failed = items.find((i) => i.outcome === 'error');
    expect(failed?.error).toBe('22P02');
    expect(failed?.errorMessage).not.toContain('secret-ish');
    expect(stored).not.toContain('secret-ish');
  });
});
