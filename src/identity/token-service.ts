import { randomBytes, randomUUID } from 'node:crypto';
import { makeVerifier } from '../auth/scram-primitives.js';
import type { ScramCredentialSet } from '../auth/scram-server.js';
import { mintToken, TokenError, verifyToken, type TokenIdentity } from '../auth/token.js';
import { IdentityQueries } from '../store/identity-queries.js';
import { ScramMoves, type IssueState, type IssueWrite } from '../store/scram-moves.js';
import { UserLockQueries, type UserLock } from '../store/user-lock-queries.js';
import type { NewToken, Store, UserScram } from '../store/store.js';
import { parseDuration } from '../util/duration.js';
import type { SigningKeys } from './signing-keys.js';
import { MAX_LOCK_MS, UserLockedError } from './user-locks.js';

export interface TokenPolicy {
  issuer: string;
  audience: string;
  scramIterations: number;
  defaultTtl: string;
  maxTtl: string;
  groupTtl: Record<string, string>;
}

export class TokenLifetimeError extends Error {
  override name = 'TokenLifetimeError';
}

export interface IssuedToken {
  token: string;
  jti: string;
  user: string;
  groups: string[];
  expiresAt: Date;
}

export interface ScramLookup {
  credentials: ScramCredentialSet | null;
  /** Groups, expiry and revocation per verifier id (the token's jti). */
  tokens: Map<string, { groups: string[]; expiresAt: Date; revokedAt: Date | null }>;
  /** How many of the verifiers belong to tokens that can still log in. */
  liveCount: number;
}

/**
 * Gateway tokens: minted as JWTs, remembered only as SCRAM verifiers (the token itself
 * is never stored), refused once revoked or expired.
 */
export class TokenService {
  private readonly moves: ScramMoves;
  private readonly identity: IdentityQueries;
  private readonly locks: UserLockQueries;
  private policy: TokenPolicy;

  constructor(
    private readonly store: Store,
    private readonly keys: SigningKeys,
    policy: TokenPolicy,
  ) {
    this.policy = pickPolicy(policy);
    this.moves = new ScramMoves(store);
    this.locks = new UserLockQueries(store);
    this.identity = new IdentityQueries(store);
  }

  /**
   * SIGHUP: lifetimes, caps, SCRAM rounds, issuer and audience of a re-read configuration
   * apply from the next token issued or checked (tokens already issued keep their expiry).
   */
  updatePolicy(policy: TokenPolicy): void {
    this.policy = pickPolicy(policy);
  }

  /** The longest lifetime these groups allow, and where that cap comes from. */
  lifetimeCap(groups: string[]): { ms: number; source: string } {
    let cap = { ms: parseDuration(this.policy.maxTtl), source: `maxTtl ${this.policy.maxTtl}` };
    for (const g of groups) {
      const t = this.policy.groupTtl[g];
      if (t !== undefined && parseDuration(t) < cap.ms) cap = { ms: parseDuration(t), source: `group ${g} (${t})` };
    }
    return cap;
  }

  /** A requested lifetime, or the default, within the policy's caps. */
  lifetime(groups: string[], requested?: string): number {
    const cap = this.lifetimeCap(groups);
    if (requested === undefined) return Math.min(parseDuration(this.policy.defaultTtl), cap.ms);
    const ms = parseDuration(requested);
    if (ms <= 0 || ms > cap.ms)
      throw new TokenLifetimeError(`token lifetime ${requested} is over the limit of ${cap.source}`);
    return ms;
  }

  async issue(req: {
    user: string;
    groups: string[];
    ttl?: string | undefined;
    issuedBy: string;
  }): Promise<IssuedToken> {
    // Every way to a token (console sign-in, pgward login, the operator CLI) ends here.
    const lock = await this.locks.active(req.user);
    if (lock) throw new UserLockedError(lock);
    const ttlMs = this.lifetime(req.groups, req.ttl);
    const jti = randomUUID();
    const expiresAt = new Date(Date.now() + ttlMs);
    const token = await mintToken(this.keys.signingKey(), {
      user: req.user,
      groups: req.groups,
      jti,
      expiresAt,
      issuer: this.policy.issuer,
      audience: this.policy.audience,
    });
    const row: Omit<NewToken, 'storedKey' | 'serverKey'> = {
      jti,
      username: req.user,
      groups: req.groups,
      expiresAt,
      issuedBy: req.issuedBy,
    };
    await this.moves.issue(req.user, { salt: randomBytes(16), iterations: this.policy.scramIterations }, (state) => {
      const plan = planScramIssue(state, this.policy.scramIterations, randomBytes(16));
      const main = makeVerifier(token, plan.verifierParams.salt, plan.verifierParams.iterations);
      const extra = plan.moveParams ? makeVerifier(token, plan.moveParams.salt, plan.moveParams.iterations) : null;
      return {
        ...plan.write,
        token: { ...row, storedKey: main.storedKey, serverKey: main.serverKey },
        ...(extra ? { moveVerifier: { storedKey: extra.storedKey, serverKey: extra.serverKey } } : {}),
      };
    });
    return { token, jti, user: req.user, groups: req.groups, expiresAt };
  }

  /** The lock on a person in force now, if any (read at every login). */
  lockOf(user: string): Promise<UserLock | null> {
    return this.locks.active(user);
  }

  /**
   * Locks a person out for `forMs`: new logins, sign-ins, tokens and link approvals are
   * refused on every gateway until then (live sessions are not ended here: a kill or a
   * revocation does that).
   */
  async lockUser(user: string, forMs: number, reason: string, by: string): Promise<UserLock> {
    if (!Number.isFinite(forMs) || forMs <= 0 || forMs > MAX_LOCK_MS)
      throw new RangeError('a lock lasts more than nothing and at most 30 days');
    return this.locks.lock(user, new Date(Date.now() + forMs), reason, by);
  }

  unlockUser(user: string): Promise<boolean> {
    return this.locks.unlock(user);
  }

  locked(): Promise<UserLock[]> {
    return this.locks.listActive();
  }

  /** Cleartext path: the password is the JWT itself. */
  async verifyPassword(user: string, token: string): Promise<TokenIdentity> {
    const identity = await verifyToken(token, this.keys.publicJwks(), this.policy);
    if (identity.user !== user) throw new TokenError('wrong-user');
    const row = await this.store.token(identity.jti);
    if (!row) throw new TokenError('unknown-token');
    if (row.revokedAt) throw new TokenError('revoked');
    if (row.username !== user) throw new TokenError('wrong-user');
    return identity;
  }

  /** SCRAM path: the salt and every live verifier of the user, or null for a stranger. */
  async scramLookup(user: string): Promise<ScramLookup> {
    const found = await this.store.scramCredentials(user);
    if (!found) return { credentials: null, tokens: new Map(), liveCount: 0 };
    // A move exists only for a user whose count differs from the configured one (a move left
    // over from a count configured back is dropped at the next issue; the user's own verifiers
    // cover every token meanwhile): everyone else costs one lookup, as before moves existed.
    const move = found.user.iterations === this.policy.scramIterations ? null : await this.moves.lookup(user);
    const now = Date.now();
    const live = found.tokens.filter((t) => !t.revokedAt && t.expiresAt.getTime() > now);
    // One salt and count per exchange (the server-first message precedes any sign of which
    // token the client holds): the move's, once every live token has a verifier for it.
    const moved = move !== null && live.every((t) => move.verifiers.has(t.jti));
    const verifiers = moved
      ? found.tokens.flatMap((t) => {
          const v = move.verifiers.get(t.jti);
          return v ? [{ id: t.jti, storedKey: v.storedKey, serverKey: v.serverKey }] : [];
        })
      : found.tokens.map((t) => ({ id: t.jti, storedKey: t.storedKey, serverKey: t.serverKey }));
    const params = moved ? move : found.user;
    return {
      liveCount: live.length,
      credentials: { salt: params.salt, iterations: params.iterations, verifiers },
      tokens: new Map(
        found.tokens.map((t) => [t.jti, { groups: t.groups, expiresAt: t.expiresAt, revokedAt: t.revokedAt }]),
      ),
    };
  }

  /** Refused for new connections at once; with endSessions, every gateway also ends its sessions on it. */
  async revoke(jti: string, reason: string, opts: { endSessions?: boolean } = {}): Promise<boolean> {
    return this.store.revokeToken(jti, reason, opts.endSessions ?? false);
  }

  /**
   * Every gateway token of the user, and every workload JWT of theirs issued until now
   * (identity/workload.ts reads the instant); returns how many gateway tokens were live.
   */
  async revokeUser(user: string, reason: string, opts: { endSessions?: boolean } = {}): Promise<number> {
    return this.identity.revokeUser(user, reason, opts.endSessions ?? false);
  }
}

/** Only the fields the service reads, copied: the caller's configuration object may be swapped or changed. */
function pickPolicy(p: TokenPolicy): TokenPolicy {
  return {
    issuer: p.issuer,
    audience: p.audience,
    scramIterations: p.scramIterations,
    defaultTtl: p.defaultTtl,
    maxTtl: p.maxTtl,
    groupTtl: { ...p.groupTtl },
  };
}

/** How one token issue treats the user's SCRAM salt and count; see docs/scram-iterations.md. */
export interface ScramIssuePlan {
  /** The salt and count of the token's own verifier (the user's, after `write` applies). */
  verifierParams: UserScram;
  /** A second verifier for the user's pending move, when one is under way. */
  moveParams: UserScram | null;
  write: Omit<IssueWrite, 'token' | 'moveVerifier'>;
}

/**
 * A SCRAM verifier cannot be re-derived without the token, and one exchange offers one salt
 * and count, so a user whose count differs from the configured one moves without breaking a
 * live token: at once when none is live; otherwise tokens issued from now on get a verifier
 * for the old and the new salt and count, and logins are offered the new ones as soon as no
 * live token lacks one (older tokens expired or revoked).
 */
export function planScramIssue(state: IssueState, configured: number, freshSalt: Buffer): ScramIssuePlan {
  const { current, move } = state;
  if (current.iterations === configured) {
    return { verifierParams: current, moveParams: null, write: move ? { dropMove: true } : {} };
  }
  if (move && move.iterations === configured && state.liveWithoutMove === 0) {
    return { verifierParams: move, moveParams: null, write: { promoteMove: true, setCurrent: move } };
  }
  if (state.live === 0) {
    const fresh = { salt: freshSalt, iterations: configured };
    return {
      verifierParams: fresh,
      moveParams: null,
      write: { setCurrent: fresh, ...(move ? { dropMove: true } : {}) },
    };
  }
  if (move && move.iterations === configured) return { verifierParams: current, moveParams: move, write: {} };
  const target = { salt: freshSalt, iterations: configured };
  return { verifierParams: current, moveParams: target, write: { startMove: target } };
}
