import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Vault } from '../vault/vault.js';

/** The signed-in person; the token rides in the sealed cookie, never in the store. */
export interface WebSession {
  user: string;
  email: string | null;
  groups: string[];
  jti: string;
  token: string;
  expiresAt: string;
  csrf: string;
}

export const SESSION_COOKIE = 'pgward_session';
export const LOGIN_COOKIE = 'pgward_login';

/** Cookies sealed with the vault key (AES-256-GCM): unreadable and unforgeable by the browser. */
export class SealedCookies {
  constructor(
    private readonly vault: Vault,
    private readonly secure: boolean,
  ) {}

  set(reply: FastifyReply, name: string, value: unknown, maxAgeSeconds: number): void {
    const sealed = this.vault.sealInternal(`cookie/${name}`, Buffer.from(JSON.stringify(value))).toString('base64url');
    reply.setCookie(name, sealed, {
      path: '/',
      httpOnly: true,
      sameSite: 'lax',
      secure: this.secure,
      maxAge: maxAgeSeconds,
    });
  }

  get<T>(request: FastifyRequest, name: string): T | null {
    const raw = request.cookies[name];
    if (!raw) return null;
    try {
      return JSON.parse(this.vault.openInternal(`cookie/${name}`, Buffer.from(raw, 'base64url')).toString('utf8')) as T;
    } catch {
      return null;
    }
  }

  clear(reply: FastifyReply, name: string): void {
    reply.clearCookie(name, { path: '/' });
  }
}

export const newCsrf = (): string => randomBytes(18).toString('base64url');

/** Whether a request carried the session's CSRF token (compared in constant time). */
export function csrfMatches(s: WebSession, given: unknown): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(s.csrf);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Only same-site relative paths: never an open redirect. */
export function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/(?![/\\])[\x21-\x7e]*$/.test(next) ? next : '/';
}
