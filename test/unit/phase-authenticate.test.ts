import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { ScramClientExchange } from '../../src/auth/scram-client.js';
import { makeVerifier } from '../../src/auth/scram-primitives.js';
import { AuthThrottle } from '../../src/gateway/auth-throttle.js';
import { ClientLink } from '../../src/gateway/client-link.js';
import { authenticate, type AuthenticatePorts } from '../../src/gateway/phases/authenticate.js';
import { LoginFailures } from '../../src/gateway/phases/failures.js';
import type { ScramLookup, TokenService } from '../../src/identity/token-service.js';
import { PgError } from '../../src/protocol/errors.js';
import type { IdentityQueries, LoginLinkRow } from '../../src/store/identity-queries.js';
import { createLogger } from '../../src/util/logger.js';
import { errorFields, MessageQueue, msg, socketPair } from '../harness/socket-pair.js';

const log = createLogger('silent');
const pairs: Array<{ close(): void }> = [];
afterEach(() => {
  for (const p of pairs.splice(0)) p.close();
});

const salt = randomBytes(16);
const ITER = 64;
/** A user with one live token "tok-live" (jti t-live) and one revoked token "tok-dead". */
function lookup(): ScramLookup {
  const far = new Date(Date.now() + 3_600_000);
  return {
    credentials: {
      salt,
      iterations: ITER,
      verifiers: [
        { id: 't-live', ...makeVerifier('tok-live', salt, ITER) },
        { id: 't-dead', ...makeVerifier('tok-dead', salt, ITER) },
      ],
    },
    tokens: new Map([
      ['t-live', { groups: ['dev'], expiresAt: far, revokedAt: null }],
      ['t-dead', { groups: ['dev'], expiresAt: far, revokedAt: new Date() }],
    ]),
    liveCount: 1,
  };
}

async function setup(over: Partial<AuthenticatePorts> = {}) {
  const pair = await socketPair();
  pairs.push(pair);
  const link = new ClientLink(pair.server);
  link.readFrom(pair.server);
  const events: Array<{ username: string; method: string; reason: string }> = [];
  const failures = new LoginFailures(
    {
      store: {
        recordAuthEvent: async (e) =>
          void events.push({ username: e.username ?? '', method: e.method ?? '', reason: e.reason ?? '' }),
      },
      metrics: { authFailure: () => undefined },
      pending: new Set(),
      gatewayId: 'gw-test',
    },
    'session-1',
    () => link.addr,
    () => log,
  );
  const throttle = new AuthThrottle({ windowMs: 60_000, perAddress: 1, perUser: 100, maxDelayMs: 0 });
  const extended: number[] = [];
  const ports: AuthenticatePorts = {
    auth: { method: 'scram-sha-256', passwordUsers: [], scramIterations: ITER },
    tokens: { scramLookup: async () => lookup(), lifetime: () => 600_000 } as unknown as TokenService,
    workload: null,
    linkLogin: null,
    tls: null,
    scramMockSecret: Buffer.alloc(32, 1),
    throttle,
    failures,
    gatewayId: 'gw-test',
    extendDeadline: (ms) => void extended.push(ms),
    log,
    ...over,
  };
  return { ...pair, link, ports, events, throttle, extended, from: new MessageQueue(pair.client) };
}

/** Plays a SCRAM client on the test's end of the pair. */
async function scramClient(s: Awaited<ReturnType<typeof setup>>, password: string): Promise<string[]> {
  const sasl = await s.from.next();
  expect(sasl?.type).toBe('R');
  expect(sasl!.body.readUInt32BE(0)).toBe(10);
  const client = new ScramClientExchange({ password, mechanisms: ['SCRAM-SHA-256'], channelBinding: null });
  const first = client.clientFirst();
  const len = Buffer.alloc(4);
  len.writeUInt32BE(first.length);
  s.client.write(msg('p', Buffer.concat([Buffer.from(`${client.mechanism}\0`), len, first])));
  const cont = await s.from.next();
  expect(cont!.body.readUInt32BE(0)).toBe(11);
  s.client.write(msg('p', client.serverFirst(cont!.body.subarray(4).toString())));
  const answers: string[] = [];
  for (;;) {
    const m = await s.from.next();
    if (!m) return answers;
    answers.push(m.type === 'R' ? `R${m.body.readUInt32BE(0)}` : m.type);
    if (m.type === 'E' || (m.type === 'R' && m.body.readUInt32BE(0) === 0)) return answers;
  }
}

describe('authenticate phase (over a socket pair)', () => {
  it('SCRAM with a live token: SASLFinal and AuthenticationOk, and who it was', async () => {
    const s = await setup();
    const who = authenticate(s.link, 'alice', 'app', false, s.ports);
    expect(await scramClient(s, 'tok-live')).toEqual(['R12', 'R0']);
    expect(await who).toMatchObject({ user: 'alice', groups: ['dev'], tokenJti: 't-live', method: 'scram-sha-256' });
    expect(s.events).toEqual([]);
    expect(s.throttle.addressBlocked(s.link.addr)).toBeNull();
  });

  it('SCRAM with a revoked token: 28P01 like any wrong password; the audit learns why; the brake counts it', async () => {
    const s = await setup();
    const who = authenticate(s.link, 'alice', 'app', false, s.ports).catch((e: unknown) => e);
    void scramClient(s, 'tok-dead');
    const err = (await who) as PgError;
    expect(err).toBeInstanceOf(PgError);
    expect(err.code).toBe('28P01');
    expect(err.message).toBe('password authentication failed for user "alice"');
    expect(s.events).toEqual([{ username: 'alice', method: 'scram-sha-256', reason: 'token revoked' }]);
    expect(s.throttle.addressBlocked(s.link.addr)).not.toBeNull();
  });

  it('cleartext is never asked for without TLS', async () => {
    const s = await setup({ auth: { method: 'password', passwordUsers: [], scramIterations: ITER } });
    const err = (await authenticate(s.link, 'bob', 'app', false, s.ports).catch((e: unknown) => e)) as PgError;
    expect(err.code).toBe('28000');
    expect(err.message).toMatch(/requires an encrypted connection/);
    expect(s.events.map((e) => e.method)).toEqual(['password']);
  });

  it('a sign-in link asked for where links are off: 28000 with a hint', async () => {
    const s = await setup();
    const err = (await authenticate(s.link, 'bob', 'app', true, s.ports).catch((e: unknown) => e)) as PgError;
    expect(err.code).toBe('28000');
    expect(err.hint).toMatch(/pgward.login=link/);
  });

  it('link login: AuthenticationOk, a notice with the URL, then the approved groups once approved', async () => {
    const rows = new Map<string, LoginLinkRow>();
    let polls = 0;
    const queries = {
      createLink: async (l: { idHash: Buffer; username: string; expiresAt: Date }) =>
        void rows.set(l.idHash.toString('hex'), {
          username: l.username,
          clientAddr: null,
          database: null,
          createdAt: new Date(),
          expiresAt: l.expiresAt,
          approvedAt: null,
          approvedGroups: null,
          refusedAt: null,
          usedAt: null,
        }),
      // Approved by the person at the third poll.
      link: async (idHash: Buffer) => {
        const row = rows.get(idHash.toString('hex')) ?? null;
        if (row && ++polls === 3) Object.assign(row, { approvedAt: new Date(), approvedGroups: ['ops'] });
        return row;
      },
      useLink: async () => true,
    } as unknown as IdentityQueries;
    const s = await setup({ linkLogin: { queries, baseUrl: 'https://console.example', ttlMs: 60_000, pollMs: 5 } });
    const who = authenticate(s.link, 'dana', 'app', true, s.ports);
    const ok = await s.from.next();
    expect(ok!.type).toBe('R');
    expect(ok!.body.readUInt32BE(0)).toBe(0);
    const notice = await s.from.next();
    expect(notice!.type).toBe('N');
    expect(errorFields(notice!.body)['M']).toMatch(
      /^pgward: sign in to continue: https:\/\/console\.example\/link\/[A-Za-z0-9_-]+$/,
    );
    expect(await who).toMatchObject({ user: 'dana', groups: ['ops'], tokenJti: null, method: 'link' });
    // The startup deadline gave way to the link's own lifetime.
    expect(s.extended).toEqual([65_000]);
  });

  it('no live token and links on: the link is offered instead of a password prompt that could only fail', async () => {
    const queries = {
      createLink: async () => undefined,
      link: async () => null,
      useLink: async () => false,
    } as unknown as IdentityQueries;
    const s = await setup({
      linkLogin: { queries, baseUrl: 'https://c', ttlMs: 30, pollMs: 5 },
      tokens: {
        scramLookup: async () => ({ ...lookup(), liveCount: 0 }),
        lifetime: () => 1,
      } as unknown as TokenService,
    });
    const err = (await authenticate(s.link, 'erin', 'app', false, s.ports).catch((e: unknown) => e)) as PgError;
    expect(err.message).toBe('sign-in link expired before it was approved');
    expect(s.events).toEqual([{ username: 'erin', method: 'scram-sha-256', reason: 'link expired' }]);
  });

  it('the control plane down: 57P03, fail closed', async () => {
    const s = await setup({
      tokens: { scramLookup: async () => Promise.reject(new Error('ECONNREFUSED')) } as unknown as TokenService,
    });
    const err = (await authenticate(s.link, 'alice', 'app', false, s.ports).catch((e: unknown) => e)) as PgError;
    expect(err.code).toBe('57P03');
    expect(err.message).toBe('pgward cannot verify credentials right now');
  });
});
