import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ScramClientExchange } from '../../src/auth/scram-client.js';
import { makeVerifier } from '../../src/auth/scram-primitives.js';
import { AuthThrottle } from '../../src/gateway/auth-throttle.js';
import { LinkWatch } from '../../src/gateway/link-watch.js';
import { ClientLink } from '../../src/gateway/client-link.js';
import { authenticate, type AuthenticatePorts } from '../../src/gateway/phases/authenticate.js';
import { LoginFailures } from '../../src/gateway/phases/failures.js';
import type { ScramLookup, TokenService } from '../../src/identity/token-service.js';
import { PgError } from '../../src/protocol/errors.js';
import type { IdentityQueries, LoginLinkRow } from '../../src/store/identity-queries.js';
import type { Notice } from '../../src/store/notices.js';
import type { Store } from '../../src/store/store.js';
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
    tokens: {
      scramLookup: async () => lookup(),
      lifetime: () => 600_000,
      lockOf: async () => null,
    } as unknown as TokenService,
    workload: null,
    linkLogin: null,
    tls: null,
    scramMockSecret: Buffer.alloc(32, 1),
    consoleUrl: 'https://pgward.example.test',
    throttle,
    failures,
    gatewayId: 'gw-test',
    extendDeadline: (ms) => void extended.push(ms),
    log,
    ...over,
  };
  return { ...pair, link, ports, events, throttle, extended, from: new MessageQueue(pair.client) };
}

function linkRow(username: string, expiresAt: Date): LoginLinkRow {
  return {
    username,
    clientAddr: null,
    database: null,
    createdAt: new Date(),
    expiresAt,
    approvedAt: null,
    approvedGroups: null,
    refusedAt: null,
    usedAt: null,
    openedAt: null,
  };
}

/** Store.subscribe in memory: `send` delivers a notice to every subscriber of its kind. */
function fakeNoticeBus(): { store: Pick<Store, 'subscribe'>; send(n: Notice): void } {
  const subs: Array<{ kinds: readonly string[]; notice(n: Notice): void }> = [];
  return {
    store: {
      subscribe: (kinds, handlers) => {
        subs.push({ kinds, notice: (n) => handlers.notice(n as never) });
        return { ready: Promise.resolve(), close: async () => undefined };
      },
    },
    send: (n) => {
      for (const s of subs) if (s.kinds.includes(n.kind)) s.notice(n);
    },
  };
}

/** Plays a SCRAM client on the test's end of the pair. */
async function scramClient(
  s: Awaited<ReturnType<typeof setup>>,
  password: string,
  seen: { serverFirst?: string } = {},
): Promise<string[]> {
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
  seen.serverFirst = cont!.body.subarray(4).toString();
  s.client.write(msg('p', client.serverFirst(seen.serverFirst)));
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

  it('SCRAM with a revoked token: 28P01, and its holder learns why and the way back; the brake counts it', async () => {
    const s = await setup();
    const who = authenticate(s.link, 'alice', 'app', false, s.ports).catch((e: unknown) => e);
    void scramClient(s, 'tok-dead');
    const err = (await who) as PgError;
    expect(err).toBeInstanceOf(PgError);
    expect(err.code).toBe('28P01');
    expect(err.message).toBe('password authentication failed for user "alice"');
    // Only a client whose proof matched the revoked token's verifier gets this far.
    expect(err.detail).toBe('The token was revoked.');
    expect(err.hint).toBe('Get a new token with "pgward login" or at https://pgward.example.test.');
    expect(s.events).toEqual([{ username: 'alice', method: 'scram-sha-256', reason: 'token revoked' }]);
    expect(s.throttle.addressBlocked(s.link.addr)).not.toBeNull();
  });

  it('SCRAM with a wrong token: no detail (nothing about what exists), a hint with the way to a new token', async () => {
    const s = await setup();
    const who = authenticate(s.link, 'alice', 'app', false, s.ports).catch((e: unknown) => e);
    void scramClient(s, 'not-a-token-of-hers');
    const err = (await who) as PgError;
    expect(err.code).toBe('28P01');
    expect(err.detail).toBeUndefined();
    expect(err.hint).toBe(
      'If your token expired or was revoked, get a new one with "pgward login" or at https://pgward.example.test.',
    );
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
        void rows.set(l.idHash.toString('hex'), linkRow(l.username, l.expiresAt)),
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
    // Without an open window the link's lifetime (plus the slack for the FATAL) bounds the wait.
    expect(s.extended).toHaveLength(1);
    expect(s.extended[0]).toBeGreaterThan(64_000);
    expect(s.extended[0]).toBeLessThanOrEqual(65_000);
  });

  it('a link wait is woken by its notices: one row read for the decision, the open window widened once opened', async () => {
    const rows = new Map<string, LoginLinkRow>();
    let reads = 0;
    const queries = {
      createLink: async (l: { idHash: Buffer; username: string; expiresAt: Date }) =>
        void rows.set(l.idHash.toString('hex'), linkRow(l.username, l.expiresAt)),
      link: async (idHash: Buffer) => {
        reads++;
        return rows.get(idHash.toString('hex')) ?? null;
      },
      useLink: async () => true,
    } as unknown as IdentityQueries;
    const bus = fakeNoticeBus();
    const watch = new LinkWatch(bus.store, log);
    const s = await setup({
      linkLogin: { queries, baseUrl: 'https://c', ttlMs: 120_000, pollMs: 5, watch, openWithinMs: 60_000 },
    });
    const who = authenticate(s.link, 'dana', 'app', true, s.ports);
    await s.from.next();
    await s.from.next();
    const [hex] = [...rows.keys()];
    // At most the normal authentication timeout until the person opens the page.
    expect(s.extended[0]).toBeLessThanOrEqual(65_000);
    await new Promise((r) => setTimeout(r, 50));
    expect(reads).toBe(0);
    bus.send({ kind: 'link-changed', link: hex!, state: 'opened' });
    await vi.waitFor(() => expect(s.extended[1]).toBeGreaterThan(120_000));
    Object.assign(rows.get(hex!)!, { approvedAt: new Date(), approvedGroups: ['ops'] });
    bus.send({ kind: 'link-changed', link: hex!, state: 'decided' });
    expect(await who).toMatchObject({ user: 'dana', groups: ['ops'], method: 'link' });
    expect(reads).toBe(1);
    expect(watch.waiting).toBe(0);
  });

  it('a link not opened within the open window: 28000 that says so, audited as link not opened', async () => {
    const queries = {
      createLink: async () => undefined,
      link: async () => null,
      useLink: async () => false,
    } as unknown as IdentityQueries;
    const bus = fakeNoticeBus();
    const s = await setup({
      linkLogin: {
        queries,
        baseUrl: 'https://c',
        ttlMs: 60_000,
        pollMs: 5,
        watch: new LinkWatch(bus.store, log),
        openWithinMs: 200,
      },
    });
    const err = (await authenticate(s.link, 'erin', 'app', true, s.ports).catch((e: unknown) => e)) as PgError;
    expect(err.code).toBe('28000');
    expect(err.message).toBe('sign-in link was not opened in time');
    expect(s.events).toEqual([{ username: 'erin', method: 'link', reason: 'link not opened' }]);
  });

  it('sign-in links over the address budget: 53300 before any store work, and no audit row', async () => {
    let created = 0;
    const queries = {
      createLink: async () => void created++,
      link: async () => null,
      useLink: async () => false,
    } as unknown as IdentityQueries;
    const throttle = new AuthThrottle({
      windowMs: 60_000,
      perAddress: 100,
      perUser: 100,
      maxDelayMs: 0,
      linksPerAddress: 1,
    });
    // Open-by no earlier than expiry: the first link ends as expired however busy the machine is.
    const s = await setup({
      linkLogin: { queries, baseUrl: 'https://c', ttlMs: 30, pollMs: 5, openWithinMs: 60_000 },
      throttle,
    });
    await authenticate(s.link, 'erin', 'app', true, s.ports).catch(() => undefined);
    const err = (await authenticate(s.link, 'erin', 'app', true, s.ports).catch((e: unknown) => e)) as PgError;
    expect(err.code).toBe('53300');
    expect(err.message).toBe('too many sign-in links requested from this address');
    expect(err.hint).toMatch(/^Try again in \d+ seconds, or use a token\.$/);
    expect(created).toBe(1);
    expect(s.events.map((e) => e.reason)).toEqual(['link expired']);
  });

  it('no live token: the same SCRAM exchange and the same failure as a wrong token of a holder (no oracle)', async () => {
    const queries = { createLink: async () => undefined } as unknown as IdentityQueries;
    const linkLogin = { queries, baseUrl: 'https://c', ttlMs: 30, pollMs: 5 };
    const holder = await setup({ linkLogin });
    const stranger = await setup({
      linkLogin,
      tokens: {
        scramLookup: async () => ({ credentials: null, tokens: new Map(), liveCount: 0 }),
        lifetime: () => 1,
      } as unknown as TokenService,
    });
    const answers: Array<{ serverFirst: string; code: string; message: string; hint: string | undefined }> = [];
    for (const [s, user] of [
      [holder, 'alice'],
      [stranger, 'carol'],
    ] as const) {
      const who = authenticate(s.link, user, 'app', false, s.ports).catch((e: unknown) => e);
      const seen: { serverFirst?: string } = {};
      void scramClient(s, 'wrong', seen);
      const err = (await who) as PgError;
      // The salt differs per user (as for any two users); its length and the count do not.
      const serverFirst = seen.serverFirst!.replace(/r=[^,]+/, 'r=NONCE').replace(/s=[^,]+/, (m) => `s=${m.length}`);
      answers.push({ serverFirst, code: err.code, message: err.message.replace(user, 'USER'), hint: err.hint });
    }
    expect(answers[0]).toEqual(answers[1]);
    expect(answers[0]).toMatchObject({ code: '28P01', message: 'password authentication failed for user "USER"' });
    expect(answers[0]!.hint).toMatch(/pgward\.login=link/);
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
