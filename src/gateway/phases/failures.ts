import type { Denial } from '../../policy/evaluate.js';
import { PgError } from '../../protocol/errors.js';
import type { Store } from '../../store/store.js';
import type { Logger } from '../../util/logger.js';
import type { GatewayMetrics } from '../metrics.js';

export interface FailurePorts {
  store: Pick<Store, 'recordAuthEvent'>;
  metrics: Pick<GatewayMetrics, 'authFailure'>;
  /** Records still being written (awaited at shutdown and by Gateway.settled). */
  pending: Set<Promise<void>>;
  gatewayId: string;
}

/** Tracks a record being written, so shutdown (and Gateway.settled) waits for it. */
export function track(pending: Set<Promise<void>>, p: Promise<unknown>): void {
  const done: Promise<void> = p
    .then(
      () => undefined,
      () => undefined,
    )
    .finally(() => pending.delete(done));
  pending.add(done);
}

/** A refused login's audit trail: an auth event row and a metric, for one connection. */
export class LoginFailures {
  constructor(
    private readonly ports: FailurePorts,
    private readonly sessionId: string,
    /** Read at each failure: a PROXY header may have changed it after construction. */
    private readonly clientAddr: () => string,
    private readonly log: () => Logger,
  ) {}

  record(user: string, method: string, reason: string): void {
    this.ports.metrics.authFailure(reason);
    track(
      this.ports.pending,
      this.ports.store
        .recordAuthEvent({
          gatewayId: this.ports.gatewayId,
          sessionId: this.sessionId,
          username: user,
          clientAddr: this.clientAddr(),
          method,
          outcome: 'failure',
          reason,
        })
        .catch((err: unknown) =>
          this.log().error({ event: 'audit_write_failed', err: (err as Error).message }, 'auth event not written'),
        ),
    );
  }

  /** A policy denial: the full reason to the audit log, a Postgres-style FATAL to the client. */
  denied(user: string, method: string, d: Denial): PgError {
    this.record(user, method, `policy: ${d.reason}`);
    this.log().info({ event: 'policy_denied', user, rule: d.rule, reason: d.reason }, 'connection denied by policy');
    return new PgError(d.code, d.message, { hint: d.hint, internalReason: `policy: ${d.reason}` });
  }
}
