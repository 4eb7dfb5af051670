import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { GatewayConfig } from '../config/schema.js';
import { AddressSet } from '../util/address-set.js';

/** Headers a reverse proxy adds; from a peer that is not a trusted proxy they mean "someone else is behind it". */
const FORWARDING_HEADERS = ['x-forwarded-for', 'forwarded', 'x-real-ip'] as const;

export type MetricsVerdict = { ok: true } | { ok: false; status: 401 | 403; error: string };

export interface MetricsAccess {
  /** How /metrics is guarded, for the startup log (never the token). */
  mode: 'token' | 'addresses';
  check(req: FastifyRequest): MetricsVerdict;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * Who may read /metrics. With a token (web.metrics.token, or the environment variable named
 * by web.metrics.tokenEnv), every request must send `Authorization: Bearer <token>`, compared
 * in constant time (both sides hashed first, so their lengths do not show). Without one, only
 * client addresses in web.metrics.allowFrom (loopback by default) are served, and a request
 * that carries forwarding headers from a peer outside web.trustProxy is refused: a proxy on
 * the same host would otherwise make every visitor look like loopback.
 */
export function metricsAccess(config: GatewayConfig, env: NodeJS.ProcessEnv = process.env): MetricsAccess {
  const m = config.web.metrics;
  const fromEnv = env[m.tokenEnv];
  const token = fromEnv !== undefined && fromEnv !== '' ? fromEnv : (m.token ?? null);
  if (token !== null) {
    const want = digest(token);
    return {
      mode: 'token',
      check: (req) => {
        const auth = req.headers.authorization ?? '';
        const given = auth.startsWith('Bearer ') ? auth.slice(7) : '';
        return given !== '' && timingSafeEqual(digest(given), want)
          ? { ok: true }
          : { ok: false, status: 401, error: 'metrics need the bearer token' };
      },
    };
  }
  const allowed = new AddressSet(m.allowFrom);
  const proxies = new AddressSet(config.web.trustProxy);
  return {
    mode: 'addresses',
    check: (req) => {
      const forwarded = FORWARDING_HEADERS.some((h) => req.headers[h] !== undefined);
      if (forwarded && !proxies.has(req.socket.remoteAddress))
        return { ok: false, status: 403, error: 'metrics are not served through an untrusted proxy' };
      return allowed.has(req.ip)
        ? { ok: true }
        : { ok: false, status: 403, error: 'metrics are served only to web.metrics.allowFrom' };
    },
  };
}
