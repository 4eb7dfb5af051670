import { UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TokenService } from '../../src/identity/token-service.js';
import { pastInstant } from '../harness/activity.js';
import { psql } from '../harness/clients.js';
import { lastAuthFailure, startTestGateway, type TestGateway } from '../harness/gateway.js';
import { startTestIssuer, type TestIssuer } from '../harness/jwt-issuer.js';

let gw: TestGateway;
let ci: TestIssuer;

beforeAll(async () => {
  ci = await startTestIssuer();
  gw = await startTestGateway(inject('pgCluster'), {
    auth: {
      // Jobs and services send their token as a cleartext password (over TLS only).
      passwordUsers: ['ci-*', 'svc-*'],
      externalIssuers: [
        {
          issuer: ci.issuer,
          audience: 'pgward',
          algorithms: ['RS256'],
          allowInsecure: true,
          requiredClaims: { repository: 'acme/app' },
        },
      ],
    },
  });
});
afterAll(async () => {
  await gw?.close();
  await ci?.close();
});

/** Every refusal looks the same to the client: 28P01 and Postgres's own words. */
async function expectRefused(user: string, secret: string, reason: string): Promise<void> {
  const r = await psql(gw, user, gw.database, secret, ['-c', 'select 1'], {
    extra: { application_name: 'refusal-check' },
  });
  expect(r.code).not.toBe(0);
  expect(r.stdout).toBe('');
  expect(r.stderr.trim()).toMatch(new RegExp(`FATAL:  password authentication failed for user "${user}"$`));
  expect(await lastAuthFailure(gw, user)).toBe(reason);
}

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

  it('refuses a token from an issuer that is not configured', async () => {
    const jwt = await ci.sign({ repository: 'acme/app' }, { subject: 'ci-iss', issuer: 'https://evil.example' });
    await expectRefused('ci-iss', jwt, 'token wrong-issuer');
  });
});

describe("the gateway's own tokens", () => {
  it('over cleartext: revoked, wrong audience, wrong issuer, alg=none and tampered each named in the audit', async () => {
    const revoked = await gw.issue('svc-a');
    await gw.cp.tokens.revoke(revoked.jti, 'test');
    await expectRefused('svc-a', revoked.token, 'token revoked');

    // Signed with this gateway's own key by a deployment configured for another audience/issuer.
    const sibling = (policy: Partial<typeof gw.config.auth>) =>
      new TokenService(gw.cp.store, gw.cp.keys, { ...gw.config.auth, ...policy });
    const wrongAud = await sibling({ audience: 'staging' }).issue({ user: 'svc-b', groups: [], issuedBy: 'test' });
    await expectRefused('svc-b', wrongAud.token, 'token wrong-audience');
    const wrongIss = await sibling({ issuer: 'https://other-pgward.example' }).issue({
      user: 'svc-c',
      groups: [],
      issuedBy: 'test',
    });
    await expectRefused('svc-c', wrongIss.token, 'token wrong-issuer');

    const none = new UnsecuredJWT({ groups: ['admins'] })
      .setIssuer(gw.config.auth.issuer)
      .setAudience(gw.config.auth.audience)
      .setSubject('svc-d')
      .setJti('00000000-0000-4000-8000-000000000000')
      .setIssuedAt()
      .setExpirationTime('5m')
      .encode();
    await expectRefused('svc-d', none, 'token alg-not-allowed');

    const good = await gw.issue('svc-e', { groups: ['developers'] });
    await expectRefused('svc-e', tamper(good.token, { groups: ['admins'] }), 'token bad-signature');
    expect((await psql(gw, 'svc-e', gw.database, good.token, ['-c', 'select 5'])).stdout.trim()).toBe('5');
  });

  it('over SCRAM: a revoked or expired token fails like a wrong password, and the audit says which', async () => {
    const revoked = await gw.issue('scram-r');
    await gw.cp.tokens.revoke(revoked.jti, 'test');
    await gw.issue('scram-r'); // a live one too, so the revoked proof is not the only verifier
    await expectRefused('scram-r', revoked.token, 'token revoked');

    const short = await gw.cp.tokens.issue({ user: 'scram-x', groups: [], ttl: '1s', issuedBy: 'test' });
    await gw.issue('scram-x');
    await pastInstant(short.expiresAt);
    await expectRefused('scram-x', short.token, 'token expired');

    const live = await gw.issue('scram-w');
    await expectRefused('scram-w', live.token.slice(0, -3) + 'xyz', 'wrong proof (no token matches)');
  });
});
