import type { EndReason } from '../relay/relay.js';

/** What a session is doing now and has done so far, read when the live sessions page asks. */
export interface LiveSessionStats {
  database: string;
  upstreamRole: string;
  applicationName: string | null;
  /** The policy rule that granted the session. */
  rule: string;
  readOnly: boolean;
  /** active: a statement is in flight; idle: waiting for the client. */
  state: 'active' | 'idle';
  /** From the last ReadyForQuery; null where the session has no observer (detector off, not read-only). */
  transaction: 'idle' | 'in transaction' | 'failed' | null;
  /** The statement running now (null: idle, or not observed). */
  statement: string | null;
  statementSince: Date | null;
  /** Statements seen so far (null: not observed). */
  statements: number | null;
  rowsToClient: number;
  bytesFromClient: number;
  bytesToClient: number;
  anomalies: number;
}

/** A live client session as the rest of the gateway may see it. */
export interface RegisteredSession {
  id: string;
  user: string | null;
  target: string | null;
  clientAddr: string;
  startedAt: Date;
  /** The gateway token the session logged in with (null for link login and workload JWTs). */
  tokenJti: string | null;
  /** The access request whose temporary grant admitted the session (ended with it). */
  request?: string | null;
  /** Live numbers for the console (absent for sessions registered without them). */
  stats?(): LiveSessionStats;
  /** Ends the session with a FATAL the client can read. */
  kill(reason: string, endReason?: EndReason): void;
  /** Ends the session once it is between transactions (graceful shutdown). */
  drain(reason: string): void;
}

/** A revocation notice applied here, kept for sessions that register after it. */
interface RecentRevocation {
  jti?: string | undefined;
  user?: string | undefined;
  reason: string;
  at: number;
}

/** How long applied revocations are remembered: longer than any session takes from accept to registration. */
const REMEMBER_MS = 60 * 60_000;
/** At most this many are remembered (a storm of revocations must not grow memory without end). */
const REMEMBER_MAX = 10_000;

export class SessionRegistry {
  private readonly sessions = new Map<string, RegisteredSession>();
  private readonly recent: RecentRevocation[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * Registers a live session. A revocation notice can arrive after the session's login
   * checked its token and before this call (while its upstream connection was being made):
   * such a session is ended here, right after it registers, as if it had been live then.
   * A revoked token ends every session that logs in with it; a revoked user ends the
   * sessions that connected before the notice (one that connected after it logged in with
   * what the revocation left valid).
   */
  add(session: RegisteredSession): void {
    this.sessions.set(session.id, session);
    const missed = this.missedRevocation(session);
    if (missed) {
      // After the caller has finished starting the session, so the kill finds it whole.
      setImmediate(() => {
        if (this.sessions.get(session.id) === session) session.kill(missed.reason, 'token-revoked');
      });
    }
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

  /** Ends every session matching a revocation notice (and remembers it for sessions still starting); returns how many. */
  endRevoked(notice: { jti?: string; user?: string }, reason: string): number {
    this.remember({ jti: notice.jti, user: notice.user, reason, at: this.now() });
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

  private missedRevocation(s: RegisteredSession): RecentRevocation | undefined {
    this.prune();
    return this.recent.find(
      (r) =>
        (r.jti !== undefined && s.tokenJti === r.jti) ||
        (r.user !== undefined && s.user === r.user && s.startedAt.getTime() <= r.at),
    );
  }

  private remember(r: RecentRevocation): void {
    this.recent.push(r);
    if (this.recent.length > REMEMBER_MAX) this.recent.splice(0, this.recent.length - REMEMBER_MAX);
  }

  private prune(): void {
    const since = this.now() - REMEMBER_MS;
    let drop = 0;
    while (drop < this.recent.length && this.recent[drop]!.at < since) drop++;
    if (drop) this.recent.splice(0, drop);
  }
}
