import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import net from 'node:net';
import type { GatewayConfig } from '../config/schema.js';
import type { TokenService } from '../identity/token-service.js';
import { WorkloadIdentity } from '../identity/workload.js';
import type { IdentityQueries } from '../store/identity-queries.js';
import { parseDuration } from '../util/duration.js';
import type { Store } from '../store/store.js';
import type { NoticeOf } from '../store/notices.js';
import type { Logger } from '../util/logger.js';
import type { Vault } from '../vault/vault.js';
import { CancelRouter } from './cancel-router.js';
import { ClientConnection } from './connection.js';
import { ReadOnlyGuard } from '../detect/read-only-guard.js';
import { loadSqlParser } from '../detect/sql-parser.js';
import { applyRetention } from '../audit/retention.js';
import { AuditWriter } from '../audit/writer.js';
import { AlertSender } from '../detect/alerts.js';
import { StatementInspector } from '../detect/classify.js';
import { AuditQueries } from '../store/audit-queries.js';
import { DetectorQueries } from '../store/detector-queries.js';
import { BaselineCache } from './baseline-cache.js';
import { GatewayMetrics } from './metrics.js';
import type { GatewayContext, ResolvedTarget } from './context.js';
import type { PolicySource } from './policy-runtime.js';
import type { ServerTls } from './server-tls.js';
import { AddressSet } from '../util/address-set.js';
import { AuthThrottle } from './auth-throttle.js';
import { SessionRegistry } from './session-registry.js';
import { UpstreamBroker } from '../upstream/broker.js';

export interface GatewayDeps {
  config: GatewayConfig;
  /** Where link-login URLs point (the console), with the store queries behind them. */
  linkLogin?: { queries: IdentityQueries; baseUrl: string } | undefined;
  log: Logger;
  tls: ServerTls | null;
  store: Store;
  vault: Vault;
  tokens: TokenService;
  policy: PolicySource;
  metrics?: GatewayMetrics | undefined;
}

async function resolveTargets(config: GatewayConfig): Promise<Map<string, ResolvedTarget>> {
  const targets = new Map<string, ResolvedTarget>();
  for (const [name, t] of Object.entries(config.targets)) {
    const ca = t.tls.caFile ? await readFile(t.tls.caFile, 'utf8') : undefined;
    targets.set(name, {
      name,
      database: t.database,
      databases: t.databases,
      role: t.role,
      pool: t.pool,
      endpoint: {
        host: t.host,
        port: t.port,
        tlsMode: t.tls.mode,
        tlsNegotiation: t.tls.negotiation,
        ca,
        serverName: t.tls.serverName,
        allowedAuth: t.auth,
        connectTimeoutMs: t.connectTimeoutMs,
        protocolMinor: t.protocol === '3.2' ? 2 : 0,
      },
    });
  }
  return targets;
}

/** The Postgres-facing listener and everything its connections share. */
export class Gateway {
  private readonly server: net.Server;
  private readonly connections = new Set<net.Socket>();
  /** Resolved when the last open socket closes (shutdown waits on it, not on a poll). */
  private readonly whenNoConnections: Array<() => void> = [];
  private readonly revocations: { close(): Promise<void> };
  private readonly peerCancels: { close(): Promise<void> };
  private readonly retention: NodeJS.Timeout | null = null;
  readonly sessions: SessionRegistry;
  readonly cancels: CancelRouter;

  private constructor(private readonly ctx: GatewayContext) {
    this.sessions = ctx.sessions;
    this.cancels = ctx.cancels;
    this.server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.server.on('error', (err) => ctx.log.error({ event: 'listener_error', err: err.message }, 'listener error'));
    const keep = ctx.config.audit.retention;
    if (keep) {
      const run = (): void => {
        applyRetention(
          new AuditQueries(ctx.store),
          new Date(Date.now() - parseDuration(keep)),
          `gateway ${ctx.config.gatewayId}`,
        ).catch((err: unknown) =>
          ctx.log.error({ event: 'retention_failed', err: (err as Error).message }, 'audit retention failed'),
        );
      };
      this.retention = setInterval(run, 3_600_000);
      this.retention.unref();
      setTimeout(run, 10_000).unref();
    }
    this.peerCancels = ctx.store.subscribe(['cancel'], {
      notice: (n) => {
        if (n.from === ctx.config.gatewayId) return;
        const forwarded = ctx.cancels.routeHashed(n.pid, Buffer.from(n.keyHash, 'hex'));
        if (forwarded) ctx.log.info({ event: 'cancel_from_peer', from: n.from }, 'cancel relayed by a peer gateway');
      },
      down: (err) =>
        ctx.log.warn({ event: 'cancel_listener_down', err: err.message }, 'peer cancel listener reconnecting'),
      log: ctx.log,
    });
    this.revocations = ctx.store.subscribe(['token-revoked', 'user-revoked', 'session-killed'], {
      notice: (n) => this.onRevocation(n),
      down: (err) =>
        ctx.log.warn({ event: 'revocation_listener_down', err: err.message }, 'revocation listener reconnecting'),
      log: ctx.log,
    });
  }

  /** A revocation with endSessions or an administrator's kill, from any gateway or the CLI: end what it names here. */
  private onRevocation(notice: NoticeOf<'token-revoked' | 'user-revoked' | 'session-killed'>): void {
    if (notice.kind === 'session-killed') {
      this.ctx.sessions.get(notice.session)?.kill(`terminated by administrator ${notice.by}`.trim());
      return;
    }
    const target = notice.kind === 'token-revoked' ? { jti: notice.jti } : { user: notice.user };
    const ended = this.ctx.sessions.endRevoked(target, 'the token of this session was revoked');
    this.ctx.log.info({ event: 'revocation_received', ...target, ended }, 'revocation applied to live sessions');
  }

  static async create(deps: GatewayDeps): Promise<Gateway> {
    await loadSqlParser();
    const detectorQueries = new DetectorQueries(deps.store);
    const ctx: GatewayContext = {
      readOnlyGuard: new ReadOnlyGuard(),
      inspector: new StatementInspector(),
      audit: new AuditWriter(
        new AuditQueries(deps.store),
        deps.log,
        {},
        resolve(deps.config.audit.spoolDir ?? `.pgward/spool/${deps.config.gatewayId}`),
      ),
      baselines: new BaselineCache(detectorQueries, deps.log),
      alerts: new AlertSender(deps.log),
      detectorQueries,
      sessionEnds: new Set(),
      metrics: deps.metrics ?? new GatewayMetrics(),
      pools: new UpstreamBroker(deps.log),
      ...deps,
      cancels: new CancelRouter(),
      sessions: new SessionRegistry(),
      targets: await resolveTargets(deps.config),
      scramMockSecret: deps.vault.derive('scram-mock-salt'),
      proxyFrom: deps.config.listen.proxyProtocolFrom.length
        ? new AddressSet(deps.config.listen.proxyProtocolFrom)
        : null,
      throttle: new AuthThrottle({
        ...deps.config.auth.throttle,
        windowMs: parseDuration(deps.config.auth.throttle.window),
      }),
      linkLogin:
        deps.linkLogin && deps.config.auth.linkLogin
          ? { ...deps.linkLogin, ttlMs: parseDuration(deps.config.auth.linkTtl), pollMs: 250 }
          : null,
      workload:
        deps.config.auth.externalIssuers.length > 0 ? new WorkloadIdentity(deps.config.auth.externalIssuers) : null,
    };
    return new Gateway(ctx);
  }

  listen(
    host = this.ctx.config.listen.host,
    port = this.ctx.config.listen.port,
  ): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      // A deep accept queue: a connection storm waits in the kernel instead of being dropped
      // and retried a second later (the kernel caps it at net.core.somaxconn).
      this.server.listen({ port, host, backlog: 4096 }, () => {
        this.server.off('error', reject);
        const addr = this.server.address() as net.AddressInfo;
        this.ctx.log.info({ event: 'listening', host: addr.address, port: addr.port }, 'pgward listening');
        resolve({ host: addr.address, port: addr.port });
      });
    });
  }

  /** Resolves once every ended session's record is written (its end runs asynchronously). */
  async settled(): Promise<void> {
    while (this.ctx.sessionEnds.size) await Promise.allSettled([...this.ctx.sessionEnds]);
    await this.ctx.audit.flush();
  }

  /** SIGHUP: new certificates for new connections (live sessions keep theirs). */
  reloadTls(tls: ServerTls): void {
    this.ctx.tls = tls;
    this.ctx.log.info({ event: 'tls_reloaded', cert: tls.certPath }, 'server certificate reloaded');
  }

  /**
   * SIGHUP: a re-read configuration. What connections read when they need it (targets,
   * limits, auth method and password users, token-expiry rule, plaintext, detector on/off)
   * applies to new connections at once; pools of changed or removed targets are closed
   * (sessions keep the connection they have). Anything else needs a restart and is named.
   */
  async reloadConfig(next: GatewayConfig): Promise<{ applied: string[]; needsRestart: string[] }> {
    const prev = this.ctx.config;
    const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
    const targets = await resolveTargets(next);
    const applied: string[] = [];
    for (const [name, t] of Object.entries(prev.targets)) {
      if (same(t, next.targets[name])) continue;
      applied.push(`targets.${name}`);
      this.ctx.pools.invalidateTarget(name);
    }
    for (const name of Object.keys(next.targets)) if (!(name in prev.targets)) applied.push(`targets.${name}`);
    const live: Array<keyof GatewayConfig> = ['limits', 'auth', 'detector'];
    for (const k of live) if (!same(prev[k], next[k])) applied.push(k);
    if (prev.tls.allowPlaintext !== next.tls.allowPlaintext) applied.push('tls.allowPlaintext');
    const needsRestart = (Object.keys(next) as Array<keyof GatewayConfig>).filter(
      (k) =>
        k !== 'targets' &&
        !live.includes(k) &&
        !same(
          k === 'tls' ? { ...prev.tls, allowPlaintext: null } : prev[k],
          k === 'tls' ? { ...next.tls, allowPlaintext: null } : next[k],
        ),
    );
    // Only what is read at use time is swapped; the rest keeps running as started.
    const merged: GatewayConfig = {
      ...prev,
      targets: next.targets,
      limits: next.limits,
      auth: next.auth,
      detector: next.detector,
      tls: { ...prev.tls, allowPlaintext: next.tls.allowPlaintext },
    };
    if (!same(prev.auth.throttle, next.auth.throttle)) {
      // New budgets start from a clean slate (the counts so far are dropped).
      this.ctx.throttle = new AuthThrottle({
        ...next.auth.throttle,
        windowMs: parseDuration(next.auth.throttle.window),
      });
    }
    this.ctx.config = merged;
    this.ctx.targets = targets;
    this.ctx.log.info({ event: 'config_reloaded', applied, needsRestart }, 'configuration reloaded');
    if (needsRestart.length)
      this.ctx.log.warn(
        { event: 'config_needs_restart', sections: needsRestart },
        'some changed settings apply only after a restart',
      );
    return { applied, needsRestart };
  }

  get metrics(): GatewayMetrics {
    return this.ctx.metrics;
  }

  get registry(): SessionRegistry {
    return this.ctx.sessions;
  }

  get audit(): AuditWriter {
    return this.ctx.audit;
  }

  get activeConnections(): number {
    return this.connections.size;
  }

  private accept(socket: net.Socket): void {
    if (this.connections.size >= this.ctx.config.limits.maxConnections) {
      socket.destroy();
      return;
    }
    this.connections.add(socket);
    socket.once('close', () => {
      this.connections.delete(socket);
      if (this.connections.size === 0) for (const resolve of this.whenNoConnections.splice(0)) resolve();
    });
    // Errors on a client socket concern that client only.
    socket.on('error', () => undefined);
    void new ClientConnection(socket, this.ctx).run();
  }

  /** Resolves when no socket is open, or after ms, whichever comes first. */
  private connectionsClosed(ms: number): Promise<void> {
    if (this.connections.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.whenNoConnections.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /**
   * Graceful stop: no new connections; idle sessions end at once with a readable FATAL,
   * busy ones when their statement or transaction completes; whatever still runs at the
   * deadline is ended (its statement cancelled). Audit records are flushed last.
   */
  async close(graceMs = 5_000): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sessions.list()) s.drain('pgward is shutting down');
    await this.connectionsClosed(graceMs);
    for (const s of this.sessions.list()) s.kill('pgward is shutting down');
    // A killed session writes its FATAL and closes; a second is plenty for that.
    await this.connectionsClosed(1_000);
    for (const socket of this.connections) socket.destroy();
    await this.revocations.close();
    await this.peerCancels.close();
    this.ctx.pools.close();
    if (this.retention) clearInterval(this.retention);
    await this.settled();
    await this.ctx.audit.close();
    await this.ctx.alerts.drain();
    await closed;
  }
}
