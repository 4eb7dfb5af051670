import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { metricsAccess } from '../../src/web/metrics-access.js';
import { sessionRoles } from '../../src/web/roles.js';
import type { WebSession } from '../../src/web/session.js';

const config = parseConfig({});
const MINUTE = 60_000;

function session(groups: string[], readMinutesAgo: number, now: number): WebSession {
  return {
    user: 'bob',
    email: null,
    groups,
    groupsReadAt: new Date(now - readMinutesAgo * MINUTE),
    jti: '00000000-0000-4000-8000-000000000000',
    token: 'not-a-token',
    expiresAt: new Date(now + 3600_000).toISOString(),
    csrf: 'x',
  };
}

describe('sessionRoles: admin and auditor rest on groups read within web.rolesMaxAge', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  it.each([
    [['admins', 'auditors'], 0, ['developer', 'admin', 'auditor'], []],
    [['admins', 'auditors'], 15, ['developer', 'admin', 'auditor'], []],
    [['admins', 'auditors'], 16, ['developer'], ['admin', 'auditor']],
    [['developers'], 600, ['developer'], []],
    [['auditors'], 16, ['developer'], ['auditor']],
  ] as const)('groups %j read %d minutes ago: usable %j, to confirm %j', (groups, ago, usable, toConfirm) => {
    const r = sessionRoles(session([...groups], ago, now), config, now);
    expect([...r.usable]).toEqual(usable);
    expect([...r.toConfirm]).toEqual(toConfirm);
  });

  it('follows web.rolesMaxAge and the role groups of the configuration as it is now', () => {
    const strict = parseConfig({ web: { rolesMaxAge: '1m', roles: { admin: ['ops'] } } });
    expect([...sessionRoles(session(['ops'], 0.5, now), strict, now).usable]).toEqual(['developer', 'admin']);
    expect([...sessionRoles(session(['ops'], 2, now), strict, now).toConfirm]).toEqual(['admin']);
    expect([...sessionRoles(session(['admins'], 0, now), strict, now).held]).toEqual(['developer']);
  });

  it('refuses a rolesMaxAge that is not a duration, and a trustProxy entry that is not an address', () => {
    expect(() => parseConfig({ web: { rolesMaxAge: 'soon' } })).toThrow();
    expect(() => parseConfig({ web: { trustProxy: ['proxy.internal'] } })).toThrow();
    expect(parseConfig({ web: { trustProxy: ['10.0.0.0/8', '::1'] } }).web.trustProxy).toEqual(['10.0.0.0/8', '::1']);
  });
});

/** Only what metricsAccess reads of a request. */
const request = (o: { ip: string; peer?: string; headers?: Record<string, string> }): FastifyRequest =>
  ({ ip: o.ip, socket: { remoteAddress: o.peer ?? o.ip }, headers: o.headers ?? {} }) as unknown as FastifyRequest;

describe('metricsAccess', () => {
  it('without a token: loopback by default, and forwarding headers only from a listed proxy', () => {
    const a = metricsAccess(config, {});
    expect(a.mode).toBe('addresses');
    expect(a.check(request({ ip: '127.0.0.1' })).ok).toBe(true);
    expect(a.check(request({ ip: '::ffff:127.0.0.1' })).ok).toBe(true);
    expect(a.check(request({ ip: '::1' })).ok).toBe(true);
    expect(a.check(request({ ip: '10.0.0.1' }))).toEqual({
      ok: false,
      status: 403,
      error: 'metrics are served only to web.metrics.allowFrom',
    });
    for (const h of ['x-forwarded-for', 'forwarded', 'x-real-ip'])
      expect(a.check(request({ ip: '127.0.0.1', headers: { [h]: '203.0.113.1' } })).ok).toBe(false);
    const behind = metricsAccess(
      parseConfig({ web: { trustProxy: ['127.0.0.1'], metrics: { allowFrom: ['10.1.0.0/16'] } } }),
      {},
    );
    // A listed proxy: the address it names (fastify's req.ip) decides.
    expect(
      behind.check(request({ ip: '10.1.2.3', peer: '127.0.0.1', headers: { 'x-forwarded-for': '10.1.2.3' } })).ok,
    ).toBe(true);
    expect(
      behind.check(request({ ip: '10.2.0.1', peer: '127.0.0.1', headers: { 'x-forwarded-for': '10.2.0.1' } })).ok,
    ).toBe(false);
  });

  it('with a token: the environment variable wins over the file; only the exact bearer token passes', () => {
    const withToken = parseConfig({ web: { metrics: { token: 'from-the-config-file-123' } } });
    const fromFile = metricsAccess(withToken, {});
    const fromEnv = metricsAccess(withToken, { PGWARD_METRICS_TOKEN: 'from-the-environment-456' });
    const bearer = (t: string) => request({ ip: '127.0.0.1', headers: { authorization: `Bearer ${t}` } });
    expect(fromFile.mode).toBe('token');
    expect(fromFile.check(bearer('from-the-config-file-123')).ok).toBe(true);
    expect(fromFile.check(bearer('from-the-config-file-12')).ok).toBe(false);
    expect(fromFile.check(request({ ip: '127.0.0.1' }))).toEqual({
      ok: false,
      status: 401,
      error: 'metrics need the bearer token',
    });
    expect(fromEnv.check(bearer('from-the-environment-456')).ok).toBe(true);
    expect(fromEnv.check(bearer('from-the-config-file-123')).ok).toBe(false);
    // An empty variable is no token: the configured one stays.
    expect(metricsAccess(withToken, { PGWARD_METRICS_TOKEN: '' }).check(bearer('from-the-config-file-123')).ok).toBe(
      true,
    );
    expect(() => parseConfig({ web: { metrics: { token: 'short' } } })).toThrow();
  });
});
