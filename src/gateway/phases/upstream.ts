import type { Grant } from '../../policy/evaluate.js';
import { PgError } from '../../protocol/errors.js';
import { SqlState } from '../../protocol/sqlstate.js';
import type { UpstreamBroker } from '../../upstream/broker.js';
import { connectUpstream, type UpstreamConnection } from '../../upstream/connector.js';
import { UpstreamError } from '../../upstream/errors.js';
import { readBackendState } from '../../upstream/backend-state.js';
import { PersonRoleError, provisionOver, type PersonLogin } from '../../upstream/person-roles.js';
import { personRoleName } from '../../upstream/role-names.js';
import { poolSettings } from '../../upstream/pool-key.js';
import { PoolWaitAbortedError, PoolWaitTimeoutError, type UpstreamPool } from '../../upstream/pool.js';
import type { Logger } from '../../util/logger.js';
import { PersonCredentialMismatch, personCredential } from '../../vault/person-credential.js';
import type { Vault } from '../../vault/vault.js';
import type { ResolvedTarget } from '../context.js';
import { controlPlaneDown } from './auth-common.js';

export interface UpstreamPorts {
  vault: Vault;
  pools: UpstreamBroker;
  /** Where provisioning of per-person logins is reported (absent: not reported). */
  log?: Logger | undefined;
}

/** A target that gives each person their own upstream login (target option personRoles). */
export type PersonRolesTarget = ResolvedTarget & { personRoles?: { provisioner: string } | null | undefined };

/** A session's upstream: connected now, or to be had from a pool at its first message. */
export type UpstreamPlan =
  | { kind: 'bound'; up: UpstreamConnection; pool: UpstreamPool | null }
  | { kind: 'deferred'; pool: UpstreamPool; parameters: Array<[string, string]> };

/** Where the connections of one grant come from; `connect` serves both login and first message. */
export class UpstreamSource {
  /**
   * The role upstream connections log in as: the person's own login for the granted role
   * (`alice:demo_ro`) when the target provisions them, else the granted role. Replication
   * connections always use the granted role (a person's login has no REPLICATION).
   */
  readonly login: string;
  /** The person and the provisioner of their login; null when connections use the granted role. */
  private readonly personal: { person: string; provisioner: string } | null;

  constructor(
    private readonly target: PersonRolesTarget,
    private readonly grant: Grant,
    private readonly ports: UpstreamPorts,
    /** The authenticated person (who.user). */
    person?: string,
  ) {
    const provisioner = target.personRoles?.provisioner;
    this.personal = person !== undefined && provisioner && !grant.replication ? { person, provisioner } : null;
    this.login = this.personal ? personRoleName(this.personal.person, grant.role) : grant.role;
  }

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

  /** A connection of this grant's login outside any pool (data masking's catalogue reads). */
  openUnpooled(): Promise<UpstreamConnection> {
    return this.open(this.grant.forward);
  }

  /** The warm pool of (target, login role, database, read-only, startup settings): per person with personRoles. */
  private pool(): UpstreamPool {
    const { target, grant } = this;
    const settings = poolSettings(grant.forward);
    const { min, idleMs, reset, max, waitTimeoutMs, maxPools } = target.pool;
    return this.ports.pools.pool(
      { target: target.name, role: this.login, database: grant.database, readOnly: grant.session.readOnly, settings },
      () => this.open(settings),
      { min, idleMs, reset, max, waitTimeoutMs, maxPools, readState: (up, before) => readBackendState(up, before) },
    );
  }

  /** Opens a new upstream connection as the login role, with the vaulted credential. */
  private async open(params: Array<[string, string]>): Promise<UpstreamConnection> {
    if (this.personal) return this.openPersonal(this.personal, params);
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
    return connectAs(target, grant.database, grant.role, password, params).catch((err: unknown) => {
      throw connectFailed(err, target);
    });
  }

  /**
   * As the person's own login: its password from the vault (made and stored on first use,
   * then shared by every gateway on the store), the role created upstream when the vault
   * had no entry, and created or repaired once more when the server refuses the login (the
   * role is gone, or its person changed its password).
   */
  private async openPersonal(
    { person, provisioner }: { person: string; provisioner: string },
    params: Array<[string, string]>,
  ): Promise<UpstreamConnection> {
    const { target, grant, login } = this;
    let cred: { password: string; created: boolean };
    try {
      cred = await personCredential(this.ports.vault, target.name, login, { person, role: grant.role }, (t, k) =>
        vaultSecret(this.ports.vault, t, k),
      );
    } catch (err) {
      if (err instanceof PersonCredentialMismatch) {
        throw new PgError(
          SqlState.sqlServerRejectedConnection,
          `pgward cannot log you in to database "${target.name}"`,
          {
            internalReason: err.message,
            hint: 'An administrator can find the reason in the gateway log.',
          },
        );
      }
      throw controlPlaneDown(err);
    }
    const provision = (): Promise<void> =>
      provisionLogin(target, provisioner, { login, person, role: grant.role, password: cred.password }, this.ports);
    if (cred.created) await provision();
    try {
      return await connectAs(target, grant.database, login, cred.password, params);
    } catch (err) {
      if (cred.created || !loginRefused(err)) throw connectFailed(err, target);
    }
    await provision();
    return connectAs(target, grant.database, login, cred.password, params).catch((err: unknown) => {
      throw connectFailed(err, target);
    });
  }
}

function connectAs(
  target: ResolvedTarget,
  database: string,
  user: string,
  password: string,
  params: Array<[string, string]>,
): Promise<UpstreamConnection> {
  return connectUpstream(target.endpoint, { user, database, password, params });
}

/** The server refused the login itself: no such role or a wrong password (28P01), or NOLOGIN (28000). */
function loginRefused(err: unknown): boolean {
  const code = err instanceof UpstreamError ? err.serverError?.code : undefined;
  return code === SqlState.invalidPassword || code === SqlState.invalidAuthorizationSpecification;
}

/** A failed connect as the client sees it: the server's own FATAL, or 08006 naming the target. */
export function connectFailed(err: unknown, target: ResolvedTarget): PgError {
  if (err instanceof PgError) return err;
  if (err instanceof UpstreamError && err.kind === 'server-error' && err.serverError) {
    const f = err.serverError;
    return new PgError(f.code, f.message, { detail: f.detail, hint: f.hint, internalReason: err.message });
  }
  const reason = err instanceof Error ? err.message : String(err);
  return new PgError(
    SqlState.connectionFailure,
    `pgward could not connect to the server for database "${target.name}"`,
    {
      internalReason: reason,
    },
  );
}

/** Provisionings under way, per (target, login): a burst of one person's first sessions provisions once. */
const provisioning = new Map<string, Promise<void>>();

/**
 * Creates or repairs a person's login with the target's provisioner credential. Refusals
 * reach the client as 08004 without the upstream's reason (that goes to the log): the
 * person can do nothing about a provisioner that lacks a privilege.
 */
function provisionLogin(
  target: ResolvedTarget,
  provisioner: string,
  who: PersonLogin,
  ports: UpstreamPorts,
): Promise<void> {
  const key = `${target.name}\0${who.login}`;
  let running = provisioning.get(key);
  if (!running) {
    running = provisionOnce(target, provisioner, who, ports).finally(() => provisioning.delete(key));
    provisioning.set(key, running);
  }
  return running;
}

async function provisionOnce(
  target: ResolvedTarget,
  provisioner: string,
  who: PersonLogin,
  ports: UpstreamPorts,
): Promise<void> {
  let password: string | null;
  try {
    password = await vaultSecret(ports.vault, target.name, provisioner);
  } catch (err) {
    throw controlPlaneDown(err);
  }
  const refuse = (reason: string, hint = 'An administrator can find the reason in the gateway log.'): PgError =>
    new PgError(
      SqlState.sqlServerRejectedConnection,
      `pgward could not prepare your login for database "${target.name}"`,
      {
        internalReason: reason,
        hint,
      },
    );
  if (password === null)
    throw refuse(
      `vault has no entry for ${target.name}/${provisioner} (the personRoles provisioner)`,
      'An administrator must run: pgward vault set TARGET PROVISIONER',
    );
  const started = Date.now();
  try {
    const outcome = await provisionOver(
      target.endpoint,
      { user: provisioner, password, database: target.database },
      who,
    );
    ports.log?.info(
      {
        event: `person_role_${outcome}`,
        target: target.name,
        login: who.login,
        role: who.role,
        ms: Date.now() - started,
      },
      outcome === 'created' ? 'created a per-person upstream login' : 'repaired a per-person upstream login',
    );
  } catch (err) {
    if (err instanceof PersonRoleError) throw refuse(`provisioning ${who.login}: ${err.message} (${err.code})`);
    if (err instanceof UpstreamError) throw refuse(`provisioner ${provisioner} could not connect: ${err.message}`);
    throw err;
  }
}

/** Lookups under way, per vault: a burst of dials for one role asks the store once. */
const lookups = new WeakMap<Vault, Map<string, Promise<string | null>>>();

/**
 * The vaulted credential of (target, role). Concurrent lookups share one query (a burst of
 * first messages each dialling must not queue hundreds of identical lookups on the store's
 * small login pool); nothing is kept once it is answered, so a rotated secret is read next time.
 */
export function vaultSecret(vault: Vault, target: string, role: string): Promise<string | null> {
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
