import type { Grant } from '../../policy/evaluate.js';
import { PgError } from '../../protocol/errors.js';
import { SqlState } from '../../protocol/sqlstate.js';
import type { UpstreamBroker } from '../../upstream/broker.js';
import { connectUpstream, type UpstreamConnection } from '../../upstream/connector.js';
import { UpstreamError } from '../../upstream/errors.js';
import { readBackendState } from '../../upstream/backend-state.js';
import { poolSettings } from '../../upstream/pool-key.js';
import { PoolWaitAbortedError, PoolWaitTimeoutError, type UpstreamPool } from '../../upstream/pool.js';
import type { Vault } from '../../vault/vault.js';
import type { ResolvedTarget } from '../context.js';
import { controlPlaneDown } from './auth-common.js';

export interface UpstreamPorts {
  vault: Vault;
  pools: UpstreamBroker;
}

/** A session's upstream: connected now, or to be had from a pool at its first message. */
export type UpstreamPlan =
  | { kind: 'bound'; up: UpstreamConnection; pool: UpstreamPool | null }
  | { kind: 'deferred'; pool: UpstreamPool; parameters: Array<[string, string]> };

/** Where the connections of one grant come from; `connect` serves both login and first message. */
export class UpstreamSource {
  constructor(
    private readonly target: ResolvedTarget,
    private readonly grant: Grant,
    private readonly ports: UpstreamPorts,
  ) {}

  /**
   * Deferred when the pool can give this session its connection later and already knows
   * what to tell the client now (idle clients then hold no upstream connection); otherwise
   * connected now. `signal` abandons a wait in line (the client left).
   */
  async plan(signal?: AbortSignal): Promise<UpstreamPlan> {
    const { target, grant } = this;
    if (!grant.replication && target.pool.enabled && target.pool.assign === 'first-message') {
      const pool = this.pool();
      const parameters = pool.reported();
      if (parameters) return { kind: 'deferred', pool, parameters };
    }
    return { kind: 'bound', ...(await this.connect(signal)) };
  }

  /**
   * An upstream connection for this grant: from the warm pool of (target, role, database,
   * read-only, startup settings) when pooling is on; a fresh one for replication
   * connections or when pooling is off. Either way the session's startup settings are the
   * backend's startup parameters, so RESET returns to them and an invalid one fails here
   * with the server's own FATAL (DETAIL and HINT included).
   */
  async connect(signal?: AbortSignal): Promise<{ up: UpstreamConnection; pool: UpstreamPool | null }> {
    const { target, grant } = this;
    if (grant.replication || !target.pool.enabled) {
      const params: Array<[string, string]> = grant.replication
        ? [...grant.forward, ['replication', grant.replication]]
        : grant.forward;
      return { up: await this.open(params), pool: null };
    }
    const pool = this.pool();
    const { up } = await pool.acquire(signal).catch((err: unknown) => {
      throw waitFailed(err, target);
    });
    return { up, pool };
  }

  /** The warm pool of (target, role, database, read-only, startup settings). */
  private pool(): UpstreamPool {
    const { target, grant } = this;
    const settings = poolSettings(grant.forward);
    const { min, idleMs, reset, max, waitTimeoutMs, maxPools } = target.pool;
    return this.ports.pools.pool(
      { target: target.name, role: grant.role, database: grant.database, readOnly: grant.session.readOnly, settings },
      () => this.open(settings),
      { min, idleMs, reset, max, waitTimeoutMs, maxPools, readState: (up, before) => readBackendState(up, before) },
    );
  }

  /** Opens a new upstream connection as the grant's role, with the vaulted credential. */
  private async open(params: Array<[string, string]>): Promise<UpstreamConnection> {
    const { target, grant } = this;
    let password: string | null;
    try {
      password = await vaultSecret(this.ports.vault, target.name, grant.role);
    } catch (err) {
      throw controlPlaneDown(err);
    }
    if (password === null) {
      throw new PgError(
        SqlState.sqlServerRejectedConnection,
        `pgward has no credential for database "${target.name}"`,
        {
          internalReason: `vault has no entry for ${target.name}/${grant.role}`,
          hint: 'An administrator must run: pgward vault set TARGET ROLE',
        },
      );
    }
    try {
      return await connectUpstream(target.endpoint, { user: grant.role, database: grant.database, password, params });
    } catch (err) {
      if (err instanceof UpstreamError && err.kind === 'server-error' && err.serverError) {
        const f = err.serverError;
        throw new PgError(f.code, f.message, { detail: f.detail, hint: f.hint, internalReason: err.message });
      }
      const reason = err instanceof Error ? err.message : String(err);
      throw new PgError(
        SqlState.connectionFailure,
        `pgward could not connect to the server for database "${target.name}"`,
        {
          internalReason: reason,
        },
      );
    }
  }
}

/** Lookups under way, per vault: a burst of dials for one role asks the store once. */
const lookups = new WeakMap<Vault, Map<string, Promise<string | null>>>();

/**
 * The vaulted credential of (target, role). Concurrent lookups share one query (a burst of
 * first messages each dialling must not queue hundreds of identical lookups on the store's
 * small login pool); nothing is kept once it is answered, so a rotated secret is read next time.
 */
function vaultSecret(vault: Vault, target: string, role: string): Promise<string | null> {
  let pending = lookups.get(vault);
  if (!pending) lookups.set(vault, (pending = new Map()));
  const key = `${target}\0${role}`;
  let lookup = pending.get(key);
  if (!lookup) {
    lookup = vault.get(target, role).finally(() => pending.delete(key));
    pending.set(key, lookup);
  }
  return lookup;
}

/**
 * A wait in line that ended without a connection. Timeout: FATAL 53300 (too_many_connections),
 * whether the session waited at login or at its first message. Both places end the session
 * (a session that got no connection cannot go on), and 53300 is what Postgres itself sends
 * when it is full, so drivers and poolers already treat it as "retry later"; 57014 would
 * suggest the statement was cancelled and the session could continue. A Ctrl-C while in
 * line is that cancel, so it gets 57014 (the session still ends: its waiting messages were
 * never sent, and nothing could answer them in step).
 */
function waitFailed(err: unknown, target: ResolvedTarget): unknown {
  if (err instanceof PoolWaitTimeoutError) {
    return new PgError(SqlState.tooManyConnections, `sorry, too many clients already for database "${target.name}"`, {
      detail: `All ${err.max} upstream connections stayed busy for ${Math.round(err.waitedMs / 1000)} seconds.`,
      hint: 'Try again later.',
      internalReason: err.message,
    });
  }
  if (err instanceof PoolWaitAbortedError) {
    return new PgError(SqlState.queryCanceled, 'canceling statement due to user request', {
      internalReason: `wait for an upstream connection abandoned (${String(err.reason)})`,
    });
  }
  // The pool's own exchange with a new connection failed (its state query).
  if (err instanceof UpstreamError) {
    return new PgError(
      SqlState.connectionFailure,
      `pgward could not connect to the server for database "${target.name}"`,
      { internalReason: err.message },
    );
  }
  return err;
}
