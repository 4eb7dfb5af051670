import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { psql } from '../harness/clients.js';
import { eventually } from '../harness/eventually.js';
import { startTestGateway, type TestGateway } from '../harness/gateway.js';
import { JDBC_JAR } from '../harness/global-setup.js';
import { runsAsTsv, type MatrixRun } from '../clients/matrix.js';
import { runProgram } from '../clients/run-program.js';

// A user created while auth.scramIterations was 256, then the configuration moved to 4,096:
// two gateways on one control plane, the second one configured with the new count.
let at256: TestGateway;
let at4096: TestGateway;

beforeAll(async () => {
  const cluster = inject('pgCluster');
  at256 = await startTestGateway(cluster, { auth: { scramIterations: 256, allowWeakScramIterations: true } });
  at4096 = await startTestGateway(cluster, {}, { share: at256 });
});

afterAll(async () => {
  await at4096?.close();
  await at256?.close();
});

/** pgjdbc's login outcome for each token: 't', or the error it reports. */
async function jdbcLogins(
  gw: TestGateway,
  user: string,
  tokens: Record<string, string>,
): Promise<Record<string, string>> {
  const runs = Object.entries(tokens).map(([name, token]): MatrixRun => ({
    name: name as MatrixRun['name'],
    host: gw.host,
    port: gw.port,
    database: gw.database,
    user,
    password: token,
    caPath: gw.caPath,
    table: 'unused',
    readOnly: false,
  }));
  const out = await runProgram(
    'java',
    (file) => ['-cp', JDBC_JAR, 'test/clients/JdbcChecks.java', file, 'login'],
    runsAsTsv(runs),
  );
  return Object.fromEntries(Object.entries(out).map(([name, o]) => [name, (o as Record<string, string>)['login']!]));
}

const psqlLogin = async (gw: TestGateway, user: string, token: string): Promise<string> => {
  const r = await psql(gw, user, gw.database, token, ['-c', 'select current_user is not null']);
  return r.code === 0 ? r.stdout.trim() : r.stderr.trim();
};

const offered = async (user: string): Promise<number | undefined> =>
  (await at4096.cp.tokens.scramLookup(user)).credentials?.iterations;

describe('moving a user to another SCRAM iteration count', () => {
  it('keeps live tokens working and gives pgjdbc the new count once no older token is live', async () => {
    const old = await at256.issue('mover', { ttl: '1h' });
    expect(await psqlLogin(at256, 'mover', old.token)).toBe('t');
    // The reason for the move: pgjdbc 42.5.5 refuses a server-first message with i=256.
    expect((await jdbcLogins(at256, 'mover', { 'rw direct': old.token }))['rw direct']).toMatch(
      /iteration must be >= 4096/,
    );

    // Configuration now says 4,096; the older token is still live, so logins are still offered
    // 256 and the new token gets verifiers for both counts.
    const next = await at4096.issue('mover', { ttl: '1h' });
    expect(await offered('mover')).toBe(256);
    expect(await psqlLogin(at4096, 'mover', old.token)).toBe('t');
    expect(await psqlLogin(at4096, 'mover', next.token)).toBe('t');
    // The price of not breaking the older token: until it ends, pgjdbc still sees 256.
    expect((await jdbcLogins(at4096, 'mover', { 'rw pgward': next.token }))['rw pgward']).toMatch(
      /iteration must be >= 4096/,
    );

    // The older token ends (revoked here; expiry counts the same): logins are offered 4,096.
    await at4096.cp.tokens.revoke(old.jti, 'test: older token ends');
    expect(await offered('mover')).toBe(4096);
    expect(await psqlLogin(at4096, 'mover', next.token)).toBe('t');
    expect(await psqlLogin(at4096, 'mover', old.token)).toMatch(/password authentication failed for user "mover"/);

    // The next issue makes the move the user's own salt and count; every live token still logs in.
    const third = await at4096.issue('mover', { ttl: '1h' });
    expect(await offered('mover')).toBe(4096);
    const { rows } = await at4096.cp.store.sql.query<{ scram_iterations: number; moves: number }>(
      `select scram_iterations, (select count(*)::int from scram_moves where username = 'mover') as moves from users where name = 'mover'`,
    );
    expect(rows[0]).toEqual({ scram_iterations: 4096, moves: 0 });
    expect(await jdbcLogins(at4096, 'mover', { 'rw direct': next.token, 'rw pgward': third.token })).toEqual({
      'rw direct': 't',
      'rw pgward': 't',
    });
    expect(await psqlLogin(at4096, 'mover', next.token)).toBe('t');
  });

  it('moves the user when the older token expires', async () => {
    await at256.issue('expiring', { ttl: '5s' });
    const next = await at4096.issue('expiring', { ttl: '1h' });
    expect(await offered('expiring')).toBe(256);
    await eventually(async () => expect(await offered('expiring')).toBe(4096));
    expect(await jdbcLogins(at4096, 'expiring', { 'rw pgward': next.token })).toEqual({ 'rw pgward': 't' });
  });

  it('moves a user with no live token at the next issue, at once', async () => {
    const old = await at256.issue('returning', { ttl: '1h' });
    await at256.cp.tokens.revoke(old.jti, 'test: signed out');
    const fresh = await at4096.issue('returning', { ttl: '1h' });
    expect(await offered('returning')).toBe(4096);
    expect(await jdbcLogins(at4096, 'returning', { 'rw pgward': fresh.token })).toEqual({ 'rw pgward': 't' });
  });
});
