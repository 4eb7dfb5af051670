import { afterEach, describe, expect, it } from 'vitest';
import { AuthThrottle } from '../../src/gateway/auth-throttle.js';
import { ClientLink } from '../../src/gateway/client-link.js';
import type { Authenticated } from '../../src/gateway/phases/authenticate.js';
import { authorize, precheckRequest, readStartupRequest } from '../../src/gateway/phases/authorize.js';
import { LoginFailures } from '../../src/gateway/phases/failures.js';
import type { Startup } from '../../src/gateway/phases/negotiate.js';
import { parsePolicyDocuments } from '../../src/policy/loader.js';
import { PgError } from '../../src/protocol/errors.js';
import { createLogger } from '../../src/util/logger.js';
import { MessageQueue, socketPair } from '../harness/socket-pair.js';
import { target } from './phase-fixtures.js';

const log = createLogger('silent');
const pairs: Array<{ close(): void }> = [];
afterEach(() => {
  for (const p of pairs.splice(0)) p.close();
});

const loaded = parsePolicyDocuments(
  {
    'test.yaml': `
rules:
  - name: devs
    effect: allow
    subjects: { groups: [developers] }
    targets: [app]
    role: app_ro
    tls: { required: false }
`,
  },
  3,
);
if (!loaded.ok) throw new Error('test policy does not load');
const policy = { current: () => loaded.set };

const who = (groups: string[]): Authenticated => ({
  user: 'alice',
  groups,
  tokenJti: 't1',
  expiresAt: null,
  method: 'scram-sha-256',
  claims: {},
});
const startup = (params: Array<[string, string]>, minor = 0): Startup =>
  ({ kind: 'startup', major: 3, minor, params }) as Startup;

async function setup() {
  const pair = await socketPair();
  pairs.push(pair);
  const link = new ClientLink(pair.server);
  const events: Array<{ method: string; reason: string }> = [];
  const failures = new LoginFailures(
    {
      store: { recordAuthEvent: async (e) => void events.push({ method: e.method ?? '', reason: e.reason ?? '' }) },
      metrics: { authFailure: () => undefined },
      pending: new Set(),
      gatewayId: 'gw',
    },
    's1',
    () => link.addr,
    () => log,
  );
  return { ...pair, link, failures, events, from: new MessageQueue(pair.client) };
}

describe('startup request', () => {
  it('user and database (defaulting to the user), names cut to 63 bytes', async () => {
    const s = await setup();
    const long = 'u'.repeat(70);
    const r = readStartupRequest(s.link, startup([['user', long]]), true);
    expect(r.user).toBe('u'.repeat(63));
    expect(r.database).toBe('u'.repeat(63));
    expect(r.protocolMinor).toBe(0);
  });

  it('protocol 3.1 and unknown _pq_ options: NegotiateProtocolVersion offers 3.0', async () => {
    const s = await setup();
    const r = readStartupRequest(
      s.link,
      startup(
        [
          ['user', 'a'],
          ['_pq_.x', '1'],
        ],
        1,
      ),
      true,
    );
    expect(r.protocolMinor).toBe(0);
    const m = await s.from.next();
    expect(m!.type).toBe('v');
    expect(m!.body.readUInt32BE(0)).toBe(0x30000);
    expect(m!.body.toString('latin1')).toContain('_pq_.x');
  });

  it('no user: 28000; plaintext when TLS is required: 28000 with a hint', async () => {
    const s = await setup();
    expect(() => readStartupRequest(s.link, startup([['database', 'x']]), true)).toThrow(/no PostgreSQL user name/);
    const err = (() => {
      try {
        readStartupRequest(s.link, startup([['user', 'a']]), false);
      } catch (e) {
        return e as PgError;
      }
      return null;
    })();
    expect(err?.code).toBe('28000');
    expect(err?.hint).toMatch(/sslmode=require/);
  });
});

describe('precheck and authorize', () => {
  it('an address over its failed-login budget is refused before any secret is asked for, and audited', async () => {
    const s = await setup();
    const throttle = new AuthThrottle({ windowMs: 60_000, perAddress: 1, perUser: 10, maxDelayMs: 0 });
    const r = readStartupRequest(s.link, startup([['user', 'alice']]), true);
    precheckRequest(r, s.link.addr, 'scram-sha-256', { policy, throttle, failures: s.failures });
    throttle.failed(s.link.addr, 'alice');
    expect(() => precheckRequest(r, s.link.addr, 'scram-sha-256', { policy, throttle, failures: s.failures })).toThrow(
      /too many failed login attempts/,
    );
    expect(s.events).toEqual([
      { method: 'scram-sha-256', reason: 'throttled: too many failed logins from this address' },
    ]);
  });

  it('a database no target serves: 3D000', async () => {
    const s = await setup();
    const r = readStartupRequest(
      s.link,
      startup([
        ['user', 'alice'],
        ['database', 'nope'],
      ]),
      true,
    );
    const targets = new Map([['app', target]]);
    expect(() => authorize(s.link, r, who(['developers']), { targets, policy, failures: s.failures })).toThrow(
      /database "nope" does not exist/,
    );
  });

  it('granted: the rule, the role and the database', async () => {
    const s = await setup();
    const r = readStartupRequest(
      s.link,
      startup([
        ['user', 'alice'],
        ['database', 'app'],
      ]),
      true,
    );
    const { grant, target: t } = authorize(s.link, r, who(['developers']), {
      targets: new Map([['app', target]]),
      policy,
      failures: s.failures,
    });
    expect(t.name).toBe('app');
    expect(grant).toMatchObject({ kind: 'grant', rule: 'devs', role: 'app_ro', database: 'app', policyVersion: 3 });
  });

  it('denied: a FATAL naming no rule for the client, the full reason for the audit', async () => {
    const s = await setup();
    const r = readStartupRequest(
      s.link,
      startup([
        ['user', 'alice'],
        ['database', 'app'],
      ]),
      true,
    );
    let err: PgError | null = null;
    try {
      authorize(s.link, r, who(['sales']), { targets: new Map([['app', target]]), policy, failures: s.failures });
    } catch (e) {
      err = e as PgError;
    }
    expect(err).toBeInstanceOf(PgError);
    expect(err!.message).not.toContain('devs');
    expect(s.events).toHaveLength(1);
    expect(s.events[0]!.reason).toMatch(/^policy: /);
  });
});
