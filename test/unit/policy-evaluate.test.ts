import { describe, expect, it } from 'vitest';
import { evaluate, precheck, type AccessRequest, type Decision } from '../../src/policy/evaluate.js';
import { parsePolicyDocuments } from '../../src/policy/loader.js';
import type { PolicySet } from '../../src/policy/schema.js';
import { readStartupSettings } from '../../src/policy/startup-settings.js';

function policy(yaml: string): PolicySet {
  const loaded = parsePolicyDocuments({ 'test.yaml': yaml }, 7);
  if (!loaded.ok) throw new Error(loaded.problems.map((p) => `${p.line}:${p.column} ${p.message}`).join('\n'));
  return loaded.set;
}

function request(
  over: Partial<Omit<AccessRequest, 'settings'>> & { params?: Array<[string, string]> } = {},
): AccessRequest {
  const { params, ...rest } = over;
  return {
    user: 'alice',
    groups: ['developers'],
    claims: {},
    method: 'scram-sha-256-plus',
    source: '10.1.2.3',
    tls: { version: 'TLSv1.3', channelBinding: true },
    target: 'app',
    clientDatabase: 'app',
    database: 'app',
    targetDatabase: 'app',
    targetRole: 'app_rw',
    settings: readStartupSettings(params ?? []),
    at: new Date('2026-11-25T10:00:00Z'),
    ...rest,
  };
}

const outcome = (d: Decision): string => (d.kind === 'grant' ? `grant ${d.rule}` : `deny ${d.rule ?? '-'} ${d.code}`);

describe('subjects, targets and precedence', () => {
  const p = policy(`
rules:
  - name: no-contractors
    effect: deny
    subjects: { groups: [contractors] }
  - name: devs
    effect: allow
    subjects: { groups: [developers] }
    targets: [app]
    role: app_ro
  - name: ci
    effect: allow
    subjects: { users: ['ci-*'], claims: { repository: acme/app } }
    targets: [app]
  - name: reports
    effect: allow
    subjects: { users: [alice] }
    targets: [warehouse]
    databases: ['report_*']
`);
  it.each([
    ['a developer on the default database', request(), 'grant devs'],
    [
      'deny beats allow for a developer who is also a contractor',
      request({ groups: ['developers', 'contractors'] }),
      'deny no-contractors 28000',
    ],
    [
      'a user glob with a matching claim',
      request({ user: 'ci-deploy', groups: [], claims: { repository: 'acme/app' } }),
      'grant ci',
    ],
    [
      'a user glob with the wrong claim',
      request({ user: 'ci-deploy', groups: [], claims: { repository: 'evil/fork' } }),
      'deny - 28000',
    ],
    ['a user glob with the claim missing', request({ user: 'ci-deploy', groups: [] }), 'deny - 28000'],
    ['another database on the target is not implied', request({ database: 'app_archive' }), 'deny - 28000'],
    [
      'a database glob on another target',
      request({ target: 'warehouse', database: 'report_2026', targetDatabase: 'dw' }),
      'grant reports',
    ],
    [
      'a database outside the glob',
      request({ target: 'warehouse', database: 'raw', targetDatabase: 'dw' }),
      'deny - 28000',
    ],
    ['no rule for a stranger', request({ user: 'mallory', groups: [] }), 'deny - 28000'],
  ])('%s', (_n, req, expected) => {
    expect(outcome(evaluate(p, req))).toBe(expected);
  });

  it('maps the grant to its role, falling back to the target role', () => {
    const d = evaluate(p, request());
    expect(d.kind === 'grant' && [d.role, d.policyVersion]).toEqual(['app_ro', 7]);
    const ci = evaluate(p, request({ user: 'ci-x', groups: [], claims: { repository: 'acme/app' } }));
    expect(ci.kind === 'grant' && ci.role).toBe('app_rw');
  });

  it('tells the client little and the audit everything', () => {
    const d = evaluate(p, request({ groups: ['contractors'] }));
    expect(d.kind === 'deny' && [d.message, d.reason]).toEqual([
      'pgward: access to database "app" is denied for user "alice"',
      'denied by rule no-contractors (test.yaml)',
    ]);
    const none = evaluate(p, request({ user: 'mallory', groups: [] }));
    expect(none.kind === 'deny' && none.message).toBe('pgward: user "mallory" has no access to database "app"');
  });
});

describe('source address ranges', () => {
  const p = policy(`
rules:
  - name: office
    effect: allow
    subjects: { users: ['*'] }
    sources: [192.168.10.0/24, 10.0.0.7, '2001:db8::/32']
`);
  it.each([
    ['192.168.10.0', true],
    ['192.168.10.255', true],
    ['192.168.11.0', false],
    ['192.168.9.255', false],
    ['10.0.0.7', true],
    ['10.0.0.8', false],
    ['::ffff:192.168.10.42', true],
    ['2001:db8:ffff::1', true],
    ['2001:db9::1', false],
    ['not-an-ip', false],
  ])('%s → %s', (source, allowed) => {
    const d = evaluate(p, request({ source }));
    expect(d.kind).toBe(allowed ? 'grant' : 'deny');
    if (!allowed)
      expect(d.kind === 'deny' && d.message).toBe(
        'pgward: connections to database "app" are not allowed from this address',
      );
  });
});

describe('time windows', () => {
  const p = policy(`
rules:
  - name: night-shift
    effect: allow
    subjects: { users: [ops] }
    schedule: { timezone: Europe/Paris, days: [fri], from: '22:00', to: '06:00' }
  - name: office-hours
    effect: allow
    subjects: { users: [alice] }
    schedule: { timezone: America/New_York, days: [mon, tue, wed, thu, fri], from: '09:00', to: '17:30' }
  - name: dst-window
    effect: allow
    subjects: { users: [dst] }
    schedule: { timezone: Europe/Paris, from: '01:30', to: '03:30' }
`);
  it.each([
    // Friday 27 Nov 2026: Paris is UTC+1.
    ['ops', '2026-11-27T21:00:00Z', true, 'Friday 22:00 Paris: the window opens'],
    ['ops', '2026-11-27T20:59:00Z', false, 'Friday 21:59 Paris: not yet'],
    ['ops', '2026-11-28T02:00:00Z', true, 'Saturday 03:00 Paris belongs to Friday night'],
    ['ops', '2026-11-28T05:00:00Z', false, 'Saturday 06:00 Paris: closed (end is exclusive)'],
    ['ops', '2026-11-29T02:00:00Z', false, 'Sunday 03:00 Paris: Saturday night is not in the days'],
    ['alice', '2026-11-25T14:00:00Z', true, 'Wednesday 09:00 New York (UTC-5)'],
    ['alice', '2026-11-25T13:59:00Z', false, 'Wednesday 08:59 New York'],
    ['alice', '2026-07-15T13:00:00Z', true, 'Wednesday 09:00 New York in summer (UTC-4)'],
    ['alice', '2026-11-28T15:00:00Z', false, 'Saturday'],
    // 29 March 2026: Paris jumps from 02:00 to 03:00 (UTC+1 → UTC+2).
    ['dst', '2026-03-29T00:45:00Z', true, '01:45 Paris before the jump'],
    ['dst', '2026-03-29T01:15:00Z', true, '03:15 Paris just after the jump'],
    ['dst', '2026-03-29T01:35:00Z', false, '03:35 Paris: closed, one hour of wall clock was skipped'],
    // 25 October 2026: Paris falls back from 03:00 to 02:00; 02:30 happens twice.
    ['dst', '2026-10-25T00:30:00Z', true, 'the first 02:30'],
    ['dst', '2026-10-25T01:30:00Z', true, 'the second 02:30'],
    ['dst', '2026-10-25T02:30:00Z', false, '03:30 after the fall back'],
  ])('%s at %s → %s (%s)', (user, at, allowed) => {
    expect(evaluate(p, request({ user, groups: [], at: new Date(at) })).kind).toBe(allowed ? 'grant' : 'deny');
  });

  it('says the time is wrong, not why', () => {
    const d = evaluate(p, request({ user: 'alice', groups: [], at: new Date('2026-11-28T15:00:00Z') }));
    expect(d.kind === 'deny' && d.message).toBe('pgward: connections to database "app" are not allowed at this time');
  });
});

describe('authentication method and TLS requirements', () => {
  const p = policy(`
rules:
  - name: strict
    effect: allow
    subjects: { users: [alice] }
    methods: [scram-sha-256-plus]
    tls: { channelBinding: required, minVersion: TLSv1.3 }
  - name: plain-ok
    effect: allow
    subjects: { users: [bob] }
    tls: { required: false }
`);
  it.each([
    ['SCRAM-PLUS on TLS 1.3', request(), 'grant strict'],
    [
      'SCRAM without channel binding',
      request({ method: 'scram-sha-256', tls: { version: 'TLSv1.3', channelBinding: false } }),
      'deny strict 28000',
    ],
    ['TLS 1.2', request({ tls: { version: 'TLSv1.2', channelBinding: true } }), 'deny strict 28000'],
    [
      'bob without TLS where the rule allows it',
      request({ user: 'bob', groups: [], method: 'password', tls: { version: null, channelBinding: false } }),
      'grant plain-ok',
    ],
  ])('%s', (_n, req, expected) => {
    expect(outcome(evaluate(p, req))).toBe(expected);
  });
});

describe('startup parameters', () => {
  const p = policy(`
rules:
  - name: reader
    effect: allow
    subjects: { users: [alice] }
    session: { readOnly: true }
  - name: tenant
    effect: allow
    subjects: { users: [bob] }
    params:
      app.tenant_id: { pattern: '[0-9]+' }
      search_path: [public, 'app, public']
      role: [reporting]
      replication: [database]
`);
  const bob = (params: Array<[string, string]>) => request({ user: 'bob', groups: [], params });
  it.each([
    [
      'baseline settings for everyone',
      request({
        params: [
          ['application_name', 'psql'],
          ['DateStyle', 'ISO'],
        ],
      }),
      'grant reader',
    ],
    ['an ungranted setting', request({ params: [['search_path', 'evil']] }), 'deny reader 42501'],
    ['a granted setting with an allowed value', bob([['app.tenant_id', '42']]), 'grant tenant'],
    ['a granted setting with a value outside the pattern', bob([['app.tenant_id', '42; drop']]), 'deny tenant 42501'],
    ['a value from the list', bob([['search_path', 'app, public']]), 'grant tenant'],
    ['a value not in the list', bob([['search_path', 'pg_temp, public']]), 'deny tenant 42501'],
    ['a role switch named by the grant', bob([['role', 'reporting']]), 'grant tenant'],
    ['a role switch to another role', bob([['role', 'postgres']]), 'deny tenant 42501'],
    ['the same switch through options', bob([['options', '-c role=postgres']]), 'deny tenant 42501'],
    [
      'options with an escaped space, read as the backend does',
      bob([['options', '-c search_path=app,\\ public']]),
      'grant tenant',
    ],
    ['replication granted by value', bob([['replication', 'database']]), 'grant tenant'],
    ['replication not granted', request({ params: [['replication', 'database']] }), 'deny reader 42501'],
    // Postgres applies the last value: checking the first would let the second through.
    [
      'a duplicate whose last value is allowed',
      bob([
        ['search_path', 'evil'],
        ['search_path', 'public'],
      ]),
      'grant tenant',
    ],
    [
      'a duplicate whose last value is not',
      bob([
        ['search_path', 'public'],
        ['search_path', 'evil'],
      ]),
      'deny tenant 42501',
    ],
    [
      'options first, top-level last',
      bob([
        ['search_path', 'public'],
        ['options', '-c search_path=evil'],
      ]),
      'grant tenant',
    ],
    [
      'a duplicate the grant does not name',
      request({
        params: [
          ['application_name', 'a'],
          ['application_name', 'b'],
        ],
      }),
      'deny reader 42501',
    ],
    [
      'read-only switched off in a read-only grant',
      request({ params: [['default_transaction_read_only', 'off']] }),
      'deny reader 42501',
    ],
    [
      'read-only switched off through options',
      request({ params: [['options', '-c default_transaction_read_only=off']] }),
      'deny reader 42501',
    ],
  ])('%s', (_n, req, expected) => {
    expect(outcome(evaluate(p, req))).toBe(expected);
  });

  it('forwards each setting once, with the value that was checked, and read-only on', () => {
    const d = evaluate(
      p,
      request({
        params: [
          ['application_name', 'x'],
          ['TimeZone', 'UTC'],
        ],
      }),
    );
    expect(d.kind === 'grant' && d.forward).toEqual([
      ['application_name', 'x'],
      ['timezone', 'UTC'],
      ['default_transaction_read_only', 'on'],
    ]);
    const dup = evaluate(
      p,
      bob([
        ['search_path', 'evil'],
        ['search_path', 'public'],
      ]),
    );
    expect(dup.kind === 'grant' && dup.forward).toEqual([['search_path', 'public']]);
  });

  it('refuses before authentication what no rule could grant', () => {
    expect(precheck(p, readStartupSettings([['session_authorization', 'postgres']]))?.message).toBe(
      'startup parameter "session_authorization" is not allowed through pgward',
    );
    expect(precheck(p, readStartupSettings([['role', 'postgres']]))).toBeNull();
    expect(precheck(p, readStartupSettings([['application_name', 'psql']]))).toBeNull();
  });
});
