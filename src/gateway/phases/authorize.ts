import { resolveDatabase } from '../../config/resolve-database.js';
import { evaluate, precheck, type Grant } from '../../policy/evaluate.js';
import { readStartupSettings, type StartupSettings } from '../../policy/startup-settings.js';
import * as W from '../../protocol/backend-writer.js';
import { PgError } from '../../protocol/errors.js';
import { SqlState } from '../../protocol/sqlstate.js';
import { paramValue, printable, truncateIdentifier } from '../../protocol/startup.js';
import type { AuthThrottle } from '../auth-throttle.js';
import type { ClientLink } from '../client-link.js';
import type { ResolvedTarget } from '../context.js';
import type { TemporaryGrantSource } from '../../access/temporary-grants.js';
import type { PolicySource } from '../policy-runtime.js';
import type { Authenticated } from './authenticate.js';
import type { LoginFailures } from './failures.js';
import type { Startup } from './negotiate.js';

/** What the client asked for in its StartupMessage, read and checked. */
export interface StartupRequest {
  user: string;
  /** As the client named it (defaults to the user name, as in Postgres). */
  database: string;
  settings: StartupSettings;
  /** Minor version of protocol 3 the session speaks: 0, or 2 (longer cancel keys). */
  protocolMinor: number;
}

/**
 * Reads the StartupMessage. We speak 3.0 and 3.2: 3.1 is reserved (libpq refuses it), so a
 * 3.1 client is offered 3.0; newer minors are offered 3.2. `_pq_` options are never granted
 * or forwarded. Plaintext is refused here unless configured.
 */
export function readStartupRequest(link: ClientLink, startup: Startup, allowPlaintext: boolean): StartupRequest {
  const protocolMinor = startup.minor >= 2 ? 2 : 0;
  const unknownOptions = startup.params.filter(([n]) => n.startsWith('_pq_.')).map(([n]) => n);
  if (startup.minor !== protocolMinor || unknownOptions.length > 0) {
    link.write(W.negotiateProtocolVersion(protocolMinor, unknownOptions));
  }
  const rawUser = paramValue(startup.params, 'user');
  if (!rawUser) {
    throw new PgError(
      SqlState.invalidAuthorizationSpecification,
      'no PostgreSQL user name specified in startup packet',
    );
  }
  const user = truncateIdentifier(rawUser);
  const database = truncateIdentifier(paramValue(startup.params, 'database') || user);
  if (!link.tls && !allowPlaintext) {
    throw new PgError(
      SqlState.invalidAuthorizationSpecification,
      `no pgward access rule for host "${link.addr}", user "${printable(user)}", database "${printable(database)}", no encryption`,
      { hint: 'pgward requires TLS: connect with sslmode=require or stronger.' },
    );
  }
  return { user, database, settings: readStartupSettings(startup.params), protocolMinor };
}

export interface PrecheckPorts {
  policy: PolicySource;
  throttle: AuthThrottle;
  failures: LoginFailures;
}

/**
 * Before any secret is asked for: settings no rule could grant are refused, and an address
 * with too many failed logins is turned away. `method` is what the audit row names.
 */
export function precheckRequest(
  request: StartupRequest,
  clientAddr: string,
  method: string,
  ports: PrecheckPorts,
): void {
  const early = precheck(ports.policy.current(), request.settings);
  if (early) throw ports.failures.denied(request.user, 'startup', early);
  const retryIn = ports.throttle.addressBlocked(clientAddr);
  if (retryIn !== null) {
    ports.failures.record(request.user, method, 'throttled: too many failed logins from this address');
    throw new PgError(SqlState.invalidAuthorizationSpecification, 'too many failed login attempts from this address', {
      hint: `Try again in ${retryIn} seconds.`,
      internalReason: 'throttled: too many failed logins from this address',
    });
  }
}

export interface AuthorizePorts {
  targets: Map<string, ResolvedTarget>;
  policy: PolicySource;
  /** Approved access requests in force (none when absent). */
  temporary?: TemporaryGrantSource;
  failures: LoginFailures;
}

/** What the policy granted, and where. */
export interface Authorized {
  target: ResolvedTarget;
  grant: Grant;
}

/** The database the client named, resolved to a target, and the policy's decision on it. */
export function authorize(
  link: ClientLink,
  request: StartupRequest,
  who: Authenticated,
  ports: AuthorizePorts,
): Authorized {
  const place = resolveDatabase(ports.targets.values(), request.database, ports.targets);
  if (!place) {
    throw new PgError(SqlState.invalidCatalogName, `database "${printable(request.database)}" does not exist`, {
      internalReason: 'no target serves that database',
    });
  }
  const decision = evaluate(
    ports.policy.current(),
    {
      user: request.user,
      groups: who.groups,
      claims: who.claims,
      method: who.method,
      source: link.addr,
      tls: { version: link.tls?.getProtocol() ?? null, channelBinding: who.method === 'scram-sha-256-plus' },
      target: place.target.name,
      clientDatabase: request.database,
      database: place.database,
      targetDatabase: place.target.database,
      targetRole: place.target.role,
      settings: request.settings,
      at: new Date(),
    },
    ports.temporary?.current() ?? [],
  );
  if (decision.kind === 'deny') throw ports.failures.denied(request.user, who.method, decision);
  return { target: place.target, grant: decision };
}
