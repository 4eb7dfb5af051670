import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ConsoleSessionQueries } from '../store/console-session-queries.js';
import type { Vault } from '../vault/vault.js';

/**
 * The signed-in person, as the live server-side session says now. The token rides in the
 * sealed cookie (never in the store); everything else comes from the store's row.
 */
export interface WebSession {
  user: string;
  email: string | null;
  groups: string[];
  /** When the identity provider last told us these groups (sign-in, or a later sign-in). */
  groupsReadAt: Date;
  jti: string;
  token: string;
  expiresAt: string;
  csrf: string;
  /**
   * Set when the caller is an API token rather than a person (docs/api-tokens.md): its
   * roles are its scopes, it needs no CSRF token (it is not sent by a browser on its own),
   * and `user` is `api-token:<name>`.
   */
  apiToken?: { id: string; name: string; scopes: ReadonlyArray<'admin' | 'auditor'> };
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
    this.setSealed(reply, name, this.seal(name, value), maxAgeSeconds);
  }

  /** The cookie value for a sealed value (tests present it as a browser would). */
  seal(name: string, value: unknown): string {
    return this.vault.sealInternal(`cookie/${name}`, Buffer.from(JSON.stringify(value))).toString('base64url');
  }

  setSealed(reply: FastifyReply, name: string, sealed: string, maxAgeSeconds: number): void {
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

/** What the session cookie holds, sealed: the session's id (the store keeps its hash) and the token. */
interface SessionCookie {
  sid: string;
  jti: string;
  token: string;
}

export const sessionIdHash = (sid: string): Buffer => createHash('sha256').update(sid).digest();

/**
 * Console sessions bound to the server: the cookie names a row in console_sessions, and a
 * request is signed in only while that row is live (not signed out, not expired, its token
 * not revoked). Every request reads the row from the store, with no cache, so a sign-out or
 * a revocation on any gateway ends the session on all of them at the next request.
 */
export class ConsoleSessions {
  /** One store read per request, however many hooks ask. */
  private readonly seen = new WeakMap<FastifyRequest, Promise<WebSession | null>>();

  constructor(
    private readonly queries: ConsoleSessionQueries,
    private readonly cookies: SealedCookies,
  ) {}

  /** A new session for a person the identity provider just vouched for, with its token. */
  async create(
    who: { user: string; email: string | null; groups: string[] },
    token: { token: string; jti: string; expiresAt: Date },
  ): Promise<{ cookie: string; session: WebSession; maxAgeSeconds: number }> {
    const sid = randomBytes(32).toString('base64url');
    const csrf = newCsrf();
    await this.queries.create({
      idHash: sessionIdHash(sid),
      username: who.user,
      email: who.email,
      groups: who.groups,
      tokenJti: token.jti,
      csrf,
      expiresAt: token.expiresAt,
    });
    const value: SessionCookie = { sid, jti: token.jti, token: token.token };
    return {
      cookie: this.cookies.seal(SESSION_COOKIE, value),
      maxAgeSeconds: Math.max(0, Math.floor((token.expiresAt.getTime() - Date.now()) / 1000)),
      session: {
        ...who,
        groupsReadAt: new Date(),
        jti: token.jti,
        token: token.token,
        expiresAt: token.expiresAt.toISOString(),
        csrf,
      },
    };
  }

  /** Creates the session and sets its cookie. */
  async start(
    reply: FastifyReply,
    who: { user: string; email: string | null; groups: string[] },
    token: { token: string; jti: string; expiresAt: Date },
  ): Promise<WebSession> {
    const made = await this.create(who, token);
    this.cookies.setSealed(reply, SESSION_COOKIE, made.cookie, made.maxAgeSeconds);
    return made.session;
  }

  /** The live session this request's cookie names, or null. */
  read(req: FastifyRequest): Promise<WebSession | null> {
    let found = this.seen.get(req);
    if (!found) {
      found = this.lookup(req);
      this.seen.set(req, found);
    }
    return found;
  }

  private async lookup(req: FastifyRequest): Promise<WebSession | null> {
    const c = this.cookies.get<SessionCookie>(req, SESSION_COOKIE);
    // A cookie of the earlier, self-contained kind has no sid: it names no session.
    if (!c || typeof c.sid !== 'string' || typeof c.token !== 'string') return null;
    const row = await this.queries.live(sessionIdHash(c.sid));
    if (!row || row.tokenJti !== c.jti) return null;
    return {
      user: row.username,
      email: row.email,
      groups: row.groups,
      groupsReadAt: row.groupsReadAt,
      jti: row.tokenJti,
      token: c.token,
      expiresAt: row.expiresAt.toISOString(),
      csrf: row.csrf,
    };
  }

  /**
   * Ends the session the cookie names (whatever its state) and clears the cookie, unless a
   * new session's cookie is about to replace it.
   */
  async end(
    req: FastifyRequest,
    reply: FastifyReply,
    reason: string,
    opts: { keepCookie?: boolean } = {},
  ): Promise<void> {
    const c = this.cookies.get<SessionCookie>(req, SESSION_COOKIE);
    if (c && typeof c.sid === 'string') await this.queries.end(sessionIdHash(c.sid), reason);
    this.seen.delete(req);
    if (!opts.keepCookie) this.cookies.clear(reply, SESSION_COOKIE);
  }

  /** A later sign-in read the same groups: the session's roles count as confirmed from now. */
  async confirmGroups(req: FastifyRequest, groups: string[]): Promise<boolean> {
    const c = this.cookies.get<SessionCookie>(req, SESSION_COOKIE);
    if (!c || typeof c.sid !== 'string') return false;
    this.seen.delete(req);
    return this.queries.confirmGroups(sessionIdHash(c.sid), groups);
  }
}
