import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ConfigInput } from '../../src/config/schema.js';
import { startTestGateway, type TestGateway } from '../harness/gateway.js';

/*
 * Who may read /metrics, and whose address the sign-in rate limit counts, over real HTTP
 * from 127.0.0.1 (the console listening on its port); X-Forwarded-For is what a reverse
 * proxy in front of the console would add.
 */

const started: TestGateway[] = [];
async function gatewayWith(web: NonNullable<ConfigInput['web']>): Promise<TestGateway> {
  const gw = await startTestGateway(
    inject('pgCluster'),
    { web: { host: '127.0.0.1', port: 0, ...web } },
    { web: true },
  );
  started.push(gw);
  return gw;
}
afterAll(async () => {
  for (const gw of started) await gw.close();
});

async function get(gw: TestGateway, path: string, headers: Record<string, string> = {}) {
  const res = await fetch(gw.web!.url + path, { headers, redirect: 'manual' });
  return { status: res.status, body: await res.text(), auth: res.headers.get('www-authenticate') };
}

describe('/metrics', () => {
  it('without a token: served to loopback only, never through a proxy it does not trust', async () => {
    const gw = await gatewayWith({});
    const direct = await get(gw, '/metrics');
    expect(direct.status).toBe(200);
    expect(direct.body).toContain('pgward_active_sessions');
    // A reverse proxy on this host: every visitor would look like 127.0.0.1.
    expect(await get(gw, '/metrics', { 'x-forwarded-for': '203.0.113.9' })).toMatchObject({
      status: 403,
      body: JSON.stringify({ error: 'metrics are not served through an untrusted proxy' }),
    });
    const remote = await gw.web!.app.inject({ method: 'GET', url: '/metrics', remoteAddress: '10.1.2.3' });
    expect([remote.statusCode, remote.json()]).toEqual([
      403,
      { error: 'metrics are served only to web.metrics.allowFrom' },
    ]);
  });

  it('with a token from the environment: the bearer token and nothing else, and it is never logged', async () => {
    const env = `PGWARD_TEST_METRICS_${randomBytes(4).toString('hex')}`;
    const token = randomBytes(24).toString('base64url');
    process.env[env] = token;
    try {
      const gw = await gatewayWith({ metrics: { tokenEnv: env } });
      const none = await get(gw, '/metrics');
      expect([none.status, none.auth]).toEqual([401, 'Bearer realm="pgward metrics"']);
      expect((await get(gw, '/metrics', { authorization: `Bearer ${token}x` })).status).toBe(401);
      expect((await get(gw, '/metrics', { authorization: `Bearer ${token.slice(1)}` })).status).toBe(401);
      expect((await get(gw, '/metrics', { authorization: token })).status).toBe(401);
      const ok = await get(gw, '/metrics', { authorization: `Bearer ${token}`, 'x-forwarded-for': '203.0.113.9' });
      expect(ok.status).toBe(200);
      expect(ok.body).toContain('pgward_active_sessions');
      expect(gw.logs.join('\n')).toContain('"event":"metrics_access","mode":"token"');
      expect(gw.logs.join('\n')).not.toContain(token);
    } finally {
      delete process.env[env];
    }
  });

  it('with a token in the configuration', async () => {
    const token = randomBytes(24).toString('hex');
    const gw = await gatewayWith({ metrics: { token } });
    expect((await get(gw, '/metrics')).status).toBe(401);
    expect((await get(gw, '/metrics', { authorization: `Bearer ${token}` })).status).toBe(200);
  });
});

/** 35 sign-in starts from one client behind the proxy, then one from another client. */
async function burstThenOther(gw: TestGateway): Promise<{ first: number[]; other: number }> {
  const first: number[] = [];
  for (let i = 0; i < 35; i++) first.push((await get(gw, '/auth/login', { 'x-forwarded-for': '203.0.113.5' })).status);
  return { first, other: (await get(gw, '/auth/login', { 'x-forwarded-for': '203.0.113.6' })).status };
}

describe('the sign-in rate limit behind a reverse proxy (web.trustProxy)', () => {
  let trusting: TestGateway;
  let plain: TestGateway;
  beforeAll(async () => {
    trusting = await gatewayWith({ trustProxy: ['127.0.0.1/32', '::1'] });
    plain = await gatewayWith({});
  }, 60_000);

  it('with the proxy listed, one client that bursts is slowed and the next client is not', async () => {
    const { first, other } = await burstThenOther(trusting);
    expect(first.slice(0, 30).every((s) => s === 302)).toBe(true);
    expect(first.slice(30).every((s) => s === 429)).toBe(true);
    expect(other).toBe(302);
  });

  it('without it, everyone behind the proxy shares one budget (the reason to list it)', async () => {
    const { first, other } = await burstThenOther(plain);
    expect(first.filter((s) => s === 429).length).toBe(5);
    expect(other).toBe(429);
  });

  it('a listed proxy names the client for /metrics too: a forwarded outsider is refused', async () => {
    expect((await get(trusting, '/metrics', { 'x-forwarded-for': '203.0.113.7' })).status).toBe(403);
    expect((await get(trusting, '/metrics')).status).toBe(200);
  });
});
