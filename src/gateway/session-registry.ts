import type { EndReason } from '../relay/relay.js';

/** A live client session as the rest of the gateway may see it. */
export interface RegisteredSession {
  id: string;
  user: string | null;
  target: string | null;
  clientAddr: string;
  startedAt: Date;
  /** The gateway token the session logged in with (null for link login and workload JWTs). */
  tokenJti: string | null;
  /** Ends the session with a FATAL the client can read. */
  kill(reason: string, endReason?: EndReason): void;
  /** Ends the session once it is between transactions (graceful shutdown). */
  drain(reason: string): void;
}

export class SessionRegistry {
  private readonly sessions = new Map<string, RegisteredSession>();

  add(session: RegisteredSession): void {
    this.sessions.set(session.id, session);
  }

  remove(id: string): void {
    this.sessions.delete(id);
  }

  get(id: string): RegisteredSession | undefined {
    return this.sessions.get(id);
  }

  list(): RegisteredSession[] {
    return [...this.sessions.values()];
  }

  /** Ends every session matching a revocation notice; returns how many. */
  endRevoked(notice: { jti?: string; user?: string }, reason: string): number {
    let n = 0;
    for (const s of this.sessions.values()) {
      const hit =
        (notice.jti !== undefined && s.tokenJti === notice.jti) ||
        (notice.user !== undefined && s.user === notice.user);
      if (hit) {
        s.kill(reason, 'token-revoked');
        n++;
      }
    }
    return n;
  }

  get size(): number {
    return this.sessions.size;
  }
}
