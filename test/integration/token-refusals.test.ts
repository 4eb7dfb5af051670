import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TokenService } from '../../src/identity/token-service.js';
import { pastInstant } from '../harness/activity.js';
import { psql } from '../harness/clients.js';
import { eventually } from '../harness/eventually.js';
import { lastAuthFailure, startTestGateway, type TestGateway } from '../harness/gateway.js';
import { startTestIssuer, type TestIssuer } from '../harness/jwt-issuer.js';

let gw: TestGateway;
let ci: TestIssuer;
/** An issuer whose discovery endpoint accepts connections and never answers. */
let silent: { url: string; close(): Promise<void> };
/** An issuer whose discovery document sends key fetches to a plain-http host elsewhere. */
let plainKeys: { url: string; close(): Promise<void> };

beforeAll(async () => {
  ci = await startTestIssuer();
  silent = await serve(() => undefined);
  plainKeys = await serve((req, res, url) =>
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ issuer: url, jwks_uri: 'http://keys.example.net/jwks' })),
  );
  gw = await startTestGateway(inject('pgCluster'), {
    auth: {
      // Jobs and services send their token as a cleartext password (over TLS only).
      passwordUsers: ['ci-*', 'svc-*'],
      // A workload session is capped like a gateway token of its (mapped) groups.
      groupTtl: { short: '3s' },
      externalIssuers: [
        {
          issuer: ci.issuer,
          audience: 'pgward',
          algorithms: ['RS256'],
          allowInsecure: true,
          requiredClaims: { repository: 'acme/app' },
          groupMap: { 'acme/deployers': 'deployers', 'acme/brief': 'short' },
        },
        { issuer: silent.url, audience: 'pgward', algorithms: ['RS256'], allowInsecure: true },
        { issuer: plainKeys.url, audience: 'pgward', algorithms: ['RS256'], allowInsecure: true },
      ],
    },
  });
});
afterAll(async () => {
  await gw?.close();
  await ci?.close();
  await silent?.close();
  await plainKeys?.close();
});

/** A local HTTP server standing in for an external issuer. */
async function serve(
  answer: (req: http.IncomingMessage, res: http.ServerResponse, url: string) => void,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  server.on('request', (req, res) => answer(req, res, url));
  return {
    url,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/**
 * Every refusal has Postgres's own words and code (28P01). A workload token gets nothing
 * more; the gateway's own tokens get the way back to a new one (`after`: the DETAIL and HINT
 * lines psql prints), and why only where the client proved it holds the token.
 */
async function expectRefused(user: string, secret: string, reason: string, after: RegExp[] = []): Promise<void> {
  const r = await psql(gw, user, gw.database, secret, ['-c', 'select 1'], {
    extra: { application_name: 'refusal-check' },
  });
  expect(r.code).not.toBe(0);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trim().split('\n');
  expect(lines[0]).toMatch(new RegExp(`FATAL:  password authentication failed for user "${user}"$`));
  expect(lines.slice(1)).toEqual(after.map((a) => expect.stringMatching(a)));
  expect(await lastAuthFailure(gw, user)).toBe(reason);
}

const NEW_TOKEN = /^HINT: {2}Get a new token with "pgward login"\.$/;
const IF_DEAD = /^HINT: {2}If your token expired or was revoked, get a new one with "pgward login"\.$/;

const tamper = (jwt: string, claims: Record<string, unknown>): string => {
  const [h, p, s] = jwt.split('.') as [string, string, string];
  const payload = { ...JSON.parse(Buffer.from(p, 'base64url').toString()), ...claims };
  return [h, Buffer.from(JSON.stringify(payload)).toString('base64url'), s].join('.');
};

describe('workload identity: JWTs from an external issuer as cleartext passwords over TLS', () => {
  it('lets a CI job in with its issuer-signed token, recorded as workload-jwt', async () => {
    const jwt = await ci.sign({ repository: 'acme/app', groups: ['ci'] }, { subject: 'ci-deploy' });
    const r = await psql(gw, 'ci-deploy', gw.database, jwt, ['-c', 'select 40 + 2']);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('42');
    const { rows } = await gw.cp.store.sql.query<{ auth_method: string }>(
      `select auth_method from sessions where username = 'ci-deploy'`,
    );
    expect(rows.map((x) => x.auth_method)).toEqual(['workload-jwt']);
  });

  it('never asks for a workload token over plaintext', async () => {
    const jwt = await ci.sign({ repository: 'acme/app' }, { subject: 'ci-plain' });
    const r = await psql(gw, 'ci-plain', gw.database, jwt, ['-c', 'select 1'], { extra: { sslmode: 'disable' } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('no encryption');
  });

  it('refuses a wrong audience', async () => {
    await expectRefused(
      'ci-aud',
      await ci.sign({ repository: 'acme/app' }, { subject: 'ci-aud', audience: 'someone-else' }),
      'token wrong-audience',
    );
  });

  it('refuses an expired token', async () => {
    const past = Math.floor(Date.now() / 1000) - 120;
    await expectRefused(
      'ci-exp',
      await ci.sign({ repository: 'acme/app' }, { subject: 'ci-exp', expiresIn: past }),
      'token expired',
    );
  });

  it('refuses a tampered token (claims changed after signing)', async () => {
    const jwt = await ci.sign({ repository: 'acme/other' }, { subject: 'ci-tamper' });
    await expectRefused('ci-tamper', tamper(jwt, { repository: 'acme/app' }), 'token bad-signature');
  });

  it('refuses alg=none, even naming the trusted issuer', async () => {
    const none = new UnsecuredJWT({ repository: 'acme/app' })
      .setIssuer(ci.issuer)
      .setAudience('pgward')
      .setSubject('ci-none')
      .setExpirationTime('5m')
      .encode();
    await expectRefused('ci-none', none, 'token alg-not-allowed');
  });

  it('refuses a token missing a pinned claim value', async () => {
    await expectRefused(
      'ci-claim',
      await ci.sign({ repository: 'evil/fork' }, { subject: 'ci-claim' }),
      'token missing-claims',
    );
  });

  it("refuses another subject's token", async () => {
    await expectRefused(
      'ci-victim',
      await ci.sign({ repository: 'acme/app' }, { subject: 'ci-attacker' }),
      'token wrong-user',
    );
  });

  it("maps the issuer's groups through groupMap: unlisted ones (even pgward's own names) give nothing", async () => {
    const jwt = await ci.sign(
      { repository: 'acme/app', groups: ['acme/deployers', 'admins', 'developers'] },
      { subject: 'ci-groups' },
    );
    const r = await psql(gw, 'ci-groups', gw.database, jwt, ['-c', 'select 1']);
    expect(r.stderr).toBe('');
    await gw.gateway.settled();
    const { rows } = await gw.cp.store.sql.query<{ groups: string[] }>(
      `select groups from sessions where username = 'ci-groups'`,
    );
    expect(rows.map((x) => x.groups)).toEqual([['deployers']]);
  });

  it("a session ends at its groups' lifetime cap counted from iat; past the cap the token is refused", async () => {
    const jwt = await ci.sign({ repository: 'acme/app', groups: ['acme/brief'] }, { subject: 'ci-brief' });
    // The JWT itself lives 5 minutes; the group `short` allows 3 seconds.
    const r = await psql(gw, 'ci-brief', gw.database, jwt, ['-c', 'select pg_sleep(20)']);
    expect(r.stderr).toContain('FATAL:  terminating connection: the token of this session expired');
    await expectRefused('ci-brief', jwt, 'token expired');
  });

  it('revoking the user ends live workload sessions and refuses JWTs issued until then; later ones work', async () => {
    const before = await ci.sign({ repository: 'acme/app' }, { subject: 'ci-revoke' });
    const running = psql(gw, 'ci-revoke', gw.database, before, ['-c', 'select pg_sleep(20)']);
    await eventually(() => expect(gw.gateway.sessions.list().map((x) => x.user)).toContain('ci-revoke'));
    await gw.cp.tokens.revokeUser('ci-revoke', 'test', { endSessions: true });
    expect((await running).stderr).toContain('FATAL:  terminating connection: the token of this session was revoked');
    await expectRefused('ci-revoke', before, 'token revoked');
    // iat has whole seconds: a token minted in a later second is newer than the revocation.
    await new Promise((r) => setTimeout(r, 1_100));
    const after = await ci.sign({ repository: 'acme/app' }, { subject: 'ci-revoke' });
    expect((await psql(gw, 'ci-revoke', gw.database, after, ['-c', 'select 3'])).stdout.trim()).toBe('3');
  });

  it('an issuer whose discovery does not answer: refused within the fetch timeout as unavailable (57P03)', async () => {
    const jwt = await ci.sign({ repository: 'acme/app' }, { subject: 'ci-silent', issuer: silent.url });
    const t0 = performance.now();
    const r = await psql(gw, 'ci-silent', gw.database, jwt, ['-c', 'select 1']);
    expect(performance.now() - t0).toBeLessThan(15_000);
    expect(r.stderr).toContain('FATAL:  pgward cannot verify credentials right now');
    expect(await lastAuthFailure(gw, 'ci-silent')).toMatch(
      /^external issuer unavailable: discovery failed for http:\/\/127\.0\.0\.1:\d+: /,
    );
  });

  it('a discovered jwks_uri on plain http elsewhere is not fetched', async () => {
    const jwt = await ci.sign({ repository: 'acme/app' }, { subject: 'ci-plainkeys', issuer: plainKeys.url });
    const r = await psql(gw, 'ci-plainkeys', gw.database, jwt, ['-c', 'select 1']);
    expect(r.stderr).toContain('FATAL:  pgward cannot verify credentials right now');
    expect(await lastAuthFailure(gw, 'ci-plainkeys')).toMatch(/jwks_uri of http:\/\/127\.0\.0\.1:\d+ must use https/);
  });

  it('refuses a token from an issuer that is not configured', async () => {
    const jwt = await ci.sign({ repository: 'acme/app' }, { subject: 'ci-iss', issuer: 'https://evil.example' });
    // Not a configured issuer's: pgward reads it as one of its own tokens, and answers as for one.
    await expectRefused('ci-iss', jwt, 'token wrong-issuer', [IF_DEAD]);
  });
});

describe("the gateway's own tokens", () => {
  it('over cleartext: revoked, wrong audience, wrong issuer, alg=none and tampered each named in the audit', async () => {
    const revoked = await gw.issue('svc-a');
    await gw.cp.tokens.revoke(revoked.jti, 'test');
    await expectRefused('svc-a', revoked.token, 'token revoked', [/^DETAIL: {2}The token was revoked\.$/, NEW_TOKEN]);

    // Signed with this gateway's own key by a deployment configured for another audience/issuer.
    const sibling = (policy: Partial<typeof gw.config.auth>) =>
      new TokenService(gw.cp.store, gw.cp.keys, { ...gw.config.auth, ...policy });
    const wrongAud = await sibling({ audience: 'staging' }).issue({ user: 'svc-b', groups: [], issuedBy: 'test' });
    await expectRefused('svc-b', wrongAud.token, 'token wrong-audience', [IF_DEAD]);
    const wrongIss = await sibling({ issuer: 'https://other-pgward.example' }).issue({
      user: 'svc-c',
      groups: [],
      issuedBy: 'test',
    });
    await expectRefused('svc-c', wrongIss.token, 'token wrong-issuer', [IF_DEAD]);

    const none = new UnsecuredJWT({ groups: ['admins'] })
      .setIssuer(gw.config.auth.issuer)
      .setAudience(gw.config.auth.audience)
      .setSubject('svc-d')
      .setJti('00000000-0000-4000-8000-000000000000')
      .setIssuedAt()
      .setExpirationTime('5m')
      .encode();
    await expectRefused('svc-d', none, 'token alg-not-allowed', [IF_DEAD]);

    const good = await gw.issue('svc-e', { groups: ['developers'] });
    await expectRefused('svc-e', tamper(good.token, { groups: ['admins'] }), 'token bad-signature', [IF_DEAD]);
    expect((await psql(gw, 'svc-e', gw.database, good.token, ['-c', 'select 5'])).stdout.trim()).toBe('5');
  });

  it('over SCRAM: a revoked or expired token is 28P01 with why and the way back; the audit says which', async () => {
    const revoked = await gw.issue('scram-r');
    await gw.cp.tokens.revoke(revoked.jti, 'test');
    await gw.issue('scram-r'); // a live one too, so the revoked proof is not the only verifier
    // The proof matched the revoked token: its holder learns why, and the way back.
    await expectRefused('scram-r', revoked.token, 'token revoked', [/^DETAIL: {2}The token was revoked\.$/, NEW_TOKEN]);

    const short = await gw.cp.tokens.issue({ user: 'scram-x', groups: [], ttl: '1s', issuedBy: 'test' });
    await gw.issue('scram-x');
    await pastInstant(short.expiresAt);
    await expectRefused('scram-x', short.token, 'token expired', [
      /^DETAIL: {2}The token expired at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\.$/,
      NEW_TOKEN,
    ]);

    const live = await gw.issue('scram-w');
    // A proof nothing matches: no detail (nothing about what exists), the way to a new token.
    await expectRefused('scram-w', live.token.slice(0, -3) + 'xyz', 'wrong proof (no token matches)', [IF_DEAD]);
  });
});
