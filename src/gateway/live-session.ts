import type { AuditWriter } from '../audit/writer.js';
import type { AlertSender } from '../detect/alerts.js';
import { emptyBaseline, type BaselineState } from '../detect/baseline.js';
import type { StatementInspector } from '../detect/classify.js';
import type { ReadOnlyGuard } from '../detect/read-only-guard.js';
import { majorOf, SessionMonitor } from '../detect/session-monitor.js';
import { normalizeStatement } from '../detect/sql-parser.js';
import type { TokenService } from '../identity/token-service.js';
import type { Grant } from '../policy/evaluate.js';
import type { MaskingRules } from '../policy/masking-schema.js';
import { DEFAULT_PROFILE } from '../policy/profiles.js';
import type { StartupSettings } from '../policy/startup-settings.js';
import * as W from '../protocol/backend-writer.js';
import { PgError } from '../protocol/errors.js';
import { SqlState } from '../protocol/sqlstate.js';
import { catalogueOver, maskingRulesFor, sessionMasker } from '../mask/session-masking.js';
import { Relay, type BoundUpstream, type EndReason } from '../relay/relay.js';
import type { DetectorQueries } from '../store/detector-queries.js';
import type { Store } from '../store/store.js';
import { sendUpstreamCancel } from '../upstream/cancel.js';
import type { UpstreamConnection } from '../upstream/connector.js';
import type { UpstreamPool } from '../upstream/pool.js';
import { noteParameter } from '../upstream/simple-query.js';
import type { Logger } from '../util/logger.js';
import type { BaselineCache } from './baseline-cache.js';
import type { CancelRouter } from './cancel-router.js';
import type { ClientLink } from './client-link.js';
import type { ResolvedTarget } from './context.js';
import type { GatewayMetrics } from './metrics.js';
import type { PolicySource } from './policy-runtime.js';
import type { LiveSessionStats, SessionRegistry } from './session-registry.js';
import { LiveActivity } from './live-activity.js';
import type { Authenticated } from './phases/authenticate.js';
import { track } from './phases/failures.js';
import { SessionRecord } from './session-record.js';
import type { UpstreamPlan, UpstreamSource } from './phases/upstream.js';

export interface LiveSessionPorts {
  cancels: CancelRouter;
  sessions: SessionRegistry;
  store: Pick<Store, 'sessionOpened' | 'sessionEnded'>;
  audit: AuditWriter;
  metrics: GatewayMetrics;
  policy: PolicySource;
  inspector: StatementInspector;
  readOnlyGuard: ReadOnlyGuard;
  detectorQueries: DetectorQueries;
  alerts: AlertSender;
  tokens: TokenService;
  baselines: BaselineCache;
  /** Records still being written (awaited at shutdown and by Gateway.settled). */
  pending: Set<Promise<void>>;
  gatewayId: string;
  limits: { maxMessageBytes: number; messageStallMs?: number | undefined };
  onTokenExpiry: 'end' | 'allow';
  /** Key of data masking's hash strategy. */
  maskingKey: Buffer;
}

/** The live page normalizes statements up to this length on the event loop (longer ones are named by their size). */
const LIVE_NORMALIZE_MAX = 16 * 1024;
/** And shows this much of them (the audit record keeps them whole). */
const LIVE_SHOWN_CHARS = 2000;

/** Everything the setup phases established. */
export interface SessionSpec {
  id: string;
  log: Logger;
  link: ClientLink;
  who: Authenticated;
  target: ResolvedTarget;
  grant: Grant;
  settings: StartupSettings;
  protocolMinor: number;
  /** The person's detector baseline (null: detector off). */
  baseline: BaselineState | null;
  upstream: UpstreamPlan;
  /** Where a deferred session gets its connection at its first message. */
  source: UpstreamSource;
}

/**
 * A session from ReadyForQuery to its end. It owns what the session holds (the relay and
 * its sockets, the detector's monitor, timers, the cancel key, the registry entry, the
 * upstream connection or its place in a pool's line, the metrics and the audit record) and
 * releases all of it in one place, dispose(), which the relay's end calls exactly once.
 */
export class LiveSession {
  private readonly relay: Relay;
  private readonly monitor: SessionMonitor | null;
  /** What the session runs now, for the console; present when the monitor is. */
  private readonly activity: LiveActivity | null;
  private anomalies = 0;
  /** Whether the session's detector profile logs statements as sent (else the audit keeps them normalized). */
  private logParameters = false;
  /** The last statement shown on the live page and how it was shown (a long one is normalized once). */
  private shown: { sql: string; text: string } | null = null;
  private readonly cancelKey: { pid: number; key: Buffer };
  private readonly timers: NodeJS.Timeout[] = [];
  /** The upstream connection once the session has one, and the pool it goes back to. */
  private up: UpstreamConnection | null;
  private readonly pool: UpstreamPool | null;
  /** A cancel arrived before the upstream connection: sent once the waiting statement is. */
  private cancelAsked = false;
  /** Abandons a wait in the pool's line (Ctrl-C, or the client left). */
  private readonly line = new AbortController();
  private readonly audit: SessionRecord;
  /** The grant's data masking, or null. */
  private readonly maskingRules: MaskingRules | null;
  private disposed = false;

  constructor(
    private readonly spec: SessionSpec,
    private readonly ports: LiveSessionPorts,
  ) {
    const { link, upstream } = spec;
    this.up = upstream.kind === 'bound' ? upstream.up : null;
    this.pool = upstream.pool;
    // 3.2 clients get a 32-byte key, as Postgres 18 issues: guessing one is hopeless.
    this.cancelKey = ports.cancels.register(
      { busy: () => this.relay.busy, cancel: () => this.cancelUpstream() },
      spec.protocolMinor >= 2 ? 32 : 4,
    );
    const parameters = upstream.kind === 'bound' ? upstream.up.parameters : upstream.parameters;
    link.writeAll([
      ...parameters.map(([name, value]) => W.parameterStatus(name, value)),
      W.backendKeyData(this.cancelKey.pid, this.cancelKey.key),
      W.readyForQuery('I'),
    ]);
    link.mark('ready');
    this.maskingRules = maskingRulesFor(ports.policy.current(), spec.grant);
    this.audit = new SessionRecord(spec, ports);
    this.audit.opened();
    this.monitor = this.makeMonitor();
    this.monitor?.begin();
    this.activity = this.monitor ? new LiveActivity(this.monitor) : null;
    ports.metrics.onboarded(link.stages);
    ports.metrics.activeSessions.inc();
    const clientLeftover = link.handOver();
    this.relay = new Relay(link.socket, this.up?.socket ?? null, {
      maxMessageBytes: ports.limits.maxMessageBytes,
      messageStallMs: ports.limits.messageStallMs,
      clientLeftover,
      upstreamLeftover: this.up?.leftover,
      parameters,
      bindUpstream: this.up ? undefined : () => this.bind(),
      onBound: () => {
        if (this.cancelAsked) this.cancelUpstream();
      },
      observer: this.activity ?? undefined,
      // Only for a grant with masking rules (docs/masking.md); otherwise no row is looked at.
      masker: sessionMasker(
        this.maskingRules,
        { target: spec.target.name, database: spec.grant.database },
        { key: ports.maskingKey, catalogue: catalogueOver(() => spec.source.openUnpooled()) },
      ),
      keepUpstream: this.pool !== null,
      // The pool's view of the connection is what the server last reported, never an assumption.
      onParameterStatus: (name, value) => {
        if (this.up) noteParameter(this.up.parameters, name, value);
      },
      onEnd: (reason, detail, reusable) => this.dispose(reason, detail, reusable === true),
      onIllegalTransition: (err) => spec.log.error({ event: 'relay_phase_error', err: err.message }, 'relay phase bug'),
    });
  }

  get id(): string {
    return this.spec.id;
  }

  /** Registers the session, arms its timers and starts relaying. */
  start(): void {
    const { spec, ports } = this;
    const { who, grant, target, link } = spec;
    ports.sessions.add({
      id: spec.id,
      user: who.user,
      target: target.name,
      clientAddr: link.addr,
      startedAt: link.startedAt,
      tokenJti: who.tokenJti,
      request: grant.request ?? null,
      stats: () => this.stats(),
      kill: (reason, endReason) => this.kill(reason, endReason),
      drain: (reason) => this.relay.endWhenIdle(`terminating connection: ${reason}`),
    });
    if (who.expiresAt && ports.onTokenExpiry === 'end') {
      this.timers.push(
        setTimeout(
          () => this.kill('the token of this session expired', 'token-expired'),
          Math.max(0, who.expiresAt.getTime() - Date.now()),
        ),
      );
    }
    const { maxDurationMs, idleTimeoutMs } = grant.session;
    if (maxDurationMs !== null) {
      this.timers.push(
        setTimeout(() => this.kill('the session reached its maximum duration', 'max-duration'), maxDurationMs),
      );
    }
    if (idleTimeoutMs !== null) this.watchIdle(idleTimeoutMs);
    spec.log.info(
      { event: 'session_ready', user: who.user, target: target.name, role: grant.role, stages: link.stages },
      'session ready',
    );
    this.relay.start();
  }

  /** Live numbers for the console's live sessions page. */
  stats(): LiveSessionStats {
    const { grant, settings } = this.spec;
    const { relay, activity } = this;
    return {
      database: grant.database,
      upstreamRole: grant.role,
      applicationName: settings.applicationName ?? null,
      rule: grant.rule,
      readOnly: grant.session.readOnly,
      state: relay.busy ? 'active' : 'idle',
      transaction: activity ? activity.transaction : null,
      statement: activity?.current ? this.showStatement(activity.current) : null,
      statementSince: activity?.since ?? null,
      statements: activity ? activity.statements : null,
      rowsToClient: relay.stats.rowsToClient,
      bytesFromClient: relay.stats.bytesFromClient,
      bytesToClient: relay.stats.bytesToClient,
      anomalies: this.anomalies,
    };
  }

  /**
   * A statement as the live page may show it: as the audit records it, so constants (a
   * password in an ALTER ROLE, a customer's e-mail) are replaced by $n unless the session's
   * profile logs parameters. Worked out when the page asks, not per statement.
   */
  private showStatement(sql: string): string {
    if (this.shown?.sql === sql) return this.shown.text;
    let text: string;
    if (this.logParameters) text = sql;
    else if (sql.length > LIVE_NORMALIZE_MAX) text = `(a statement of ${sql.length} characters)`;
    else {
      const server =
        this.spec.upstream.kind === 'bound' ? this.spec.upstream.up.parameters : this.spec.upstream.parameters;
      const version = server.find(([k]) => k === 'server_version')?.[1];
      text = normalizeStatement(sql, version ? majorOf(version) : undefined) ?? '(a statement pgward could not read)';
    }
    if (text.length > LIVE_SHOWN_CHARS) text = `${text.slice(0, LIVE_SHOWN_CHARS)}…`;
    this.shown = { sql, text };
    return text;
  }

  /** Ends the session with a FATAL the client can read. */
  kill(reason: string, endReason: EndReason = 'killed'): void {
    this.end(`terminating connection: ${reason}`, endReason);
  }

  private end(message: string, endReason: EndReason, code: string = SqlState.adminShutdown): void {
    // A closed socket alone would leave a running statement to finish upstream.
    if (this.relay.busy) this.cancelUpstream();
    this.relay.kill(endReason, message, code);
  }

  /** One timer per session, re-armed for the remainder: no timer churn per message. */
  private watchIdle(idleTimeoutMs: number): void {
    const slot = this.timers.length;
    const check = (): void => {
      const idleFor = Date.now() - this.relay.lastClientData;
      if (!this.relay.busy && idleFor >= idleTimeoutMs) {
        this.end('terminating connection due to idle-session timeout', 'idle-timeout', SqlState.idleSessionTimeout);
        return;
      }
      this.timers[slot] = setTimeout(check, this.relay.busy ? idleTimeoutMs : idleTimeoutMs - idleFor);
    };
    this.timers[slot] = setTimeout(check, idleTimeoutMs);
  }

  private cancelUpstream(): void {
    const up = this.up;
    if (!up) {
      // The statement waits for its upstream connection: a wait in line ends now (FATAL
      // 57014); a connection being opened is cancelled as soon as the statement is sent.
      this.cancelAsked = true;
      this.line.abort('cancel');
      return;
    }
    sendUpstreamCancel(this.spec.target.endpoint, up.pid, up.key).catch((err: unknown) =>
      this.spec.log.warn({ event: 'cancel_failed', err: (err as Error).message }, 'forwarding a cancel failed'),
    );
  }

  /** The first message: a connection from the pool, then the relay sends what waited. */
  private async bind(): Promise<BoundUpstream> {
    try {
      const { up } = await this.spec.source.connect(this.line.signal);
      // Gone meanwhile: the relay closes it; the pool must count its slot free.
      if (this.disposed) this.pool?.release(up, false);
      else this.up = up;
      return { socket: up.socket, leftover: up.leftover, parameters: up.parameters };
    } catch (err) {
      this.spec.log.warn(
        {
          event: 'upstream_bind_failed',
          err: err instanceof PgError ? (err.internalReason ?? err.message) : (err as Error).message,
        },
        'no upstream connection for the first message',
      );
      throw err;
    }
  }

  /** The detector's view of the session, when it has a baseline to compare with or a read-only rule to enforce. */
  private makeMonitor(): SessionMonitor | null {
    const { spec, ports } = this;
    const { who, grant, baseline } = spec;
    if (baseline === null && !grant.session.readOnly && !this.maskingRules) return null;
    const profile = ports.policy.current().profiles[grant.session.detector] ?? DEFAULT_PROFILE;
    this.logParameters = profile.logParameters;
    return new SessionMonitor({
      inspector: ports.inspector,
      profile,
      baseline: baseline ?? emptyBaseline(),
      readOnly: grant.session.readOnly ? ports.readOnlyGuard : null,
      readOnlyRule: grant.session.readOnly ? grant.rule : undefined,
      clientAddr: spec.link.addr,
      // What the client was told at start: the upstream's version and read-only as reported.
      server: spec.upstream.kind === 'bound' ? spec.upstream.up.parameters : spec.upstream.parameters,
      sinks: {
        record: (kind, payload) => this.audit.append(kind, payload),
        anomaly: (kind, severity, action, detail) => {
          this.anomalies++;
          this.audit.append('anomaly', { kind, severity, action, ...detail });
          ports.metrics.anomalies.inc({ kind, action });
          spec.log.warn({ event: 'anomaly', kind, severity, action, user: who.user }, 'anomaly detected');
          track(
            ports.pending,
            ports.detectorQueries
              .insertAnomaly({ sessionId: spec.id, username: who.user, kind, severity, action, detail })
              .catch((err: unknown) =>
                spec.log.error(
                  { event: 'anomaly_write_failed', err: (err as Error).message },
                  'anomaly row not written (it is in the session chain)',
                ),
              ),
          );
          if (action !== 'log' && profile.webhook) {
            ports.alerts.send(profile.webhook, {
              kind,
              severity,
              action,
              user: who.user,
              session: spec.id,
              gateway: ports.gatewayId,
              at: new Date().toISOString(),
              detail,
            });
          }
        },
        end: (message) => this.end(message, 'detector'),
        revoke: (reason) => {
          const done = who.tokenJti
            ? ports.tokens.revoke(who.tokenJti, reason, { endSessions: true })
            : ports.tokens.revokeUser(who.user, reason, { endSessions: true });
          void done.catch((err: unknown) =>
            spec.log.error(
              { event: 'revoke_failed', err: (err as Error).message },
              'detector could not revoke the token',
            ),
          );
          this.end('terminating connection: the token of this session was revoked by the detector', 'detector');
        },
      },
    });
  }

  /** Releases everything the session holds; the relay calls it once, at its end. */
  private dispose(reason: EndReason, detail: string | undefined, reusable: boolean): void {
    if (this.disposed) return;
    this.disposed = true;
    const { spec, ports, relay, monitor } = this;
    this.line.abort('gone');
    if (this.up) this.pool?.release(this.up, reusable);
    for (const t of this.timers) clearTimeout(t);
    ports.cancels.unregister(this.cancelKey.pid);
    ports.sessions.remove(spec.id);
    spec.log.info({ event: 'session_end', reason, detail, stats: relay.stats }, 'session ended');
    monitor?.finish(reason);
    ports.metrics.activeSessions.dec();
    ports.metrics.sessions.inc({ reason });
    ports.metrics.bytes.inc({ direction: 'from_client' }, relay.stats.bytesFromClient);
    ports.metrics.bytes.inc({ direction: 'to_client' }, relay.stats.bytesToClient);
    this.audit.closed(
      reason,
      detail,
      relay.stats,
      monitor,
      spec.baseline ? () => ports.baselines.save(spec.who.user) : null,
    );
  }
}
