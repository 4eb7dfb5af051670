import { readFile } from 'node:fs/promises';
import { AccessRequests } from '../access/access-requests.js';
import { TemporaryGrants } from '../access/temporary-grants.js';
import { resolve } from 'node:path';
import net from 'node:net';
import type { GatewayConfig } from '../config/schema.js';
import type { TokenService } from '../identity/token-service.js';
import { WorkloadIdentity } from '../identity/workload.js';
import { IdentityQueries } from '../store/identity-queries.js';
import { parseDuration } from '../util/duration.js';
import type { Store } from '../store/store.js';
import type { NoticeOf } from '../store/notices.js';
import type { Logger } from '../util/logger.js';
import type { Vault } from '../vault/vault.js';
import { CancelRouter } from './cancel-router.js';
import { ClientConnection } from './connection.js';
import { ReadOnlyGuard } from '../detect/read-only-guard.js';
import { closeParseWorkers, configureParseBudget } from '../detect/offthread-inspection.js';
import { loadSqlParser } from '../detect/sql-parser.js';
import { applyRetention } from '../audit/retention.js';
import { AUDIT_KEY_LABEL, deriveAuditKeys } from '../audit/keys.js';
import { MASKING_KEY_LABEL } from '../mask/session-masking.js';
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
import { LinkWatch } from './link-watch.js';
import type { LinkLoginPorts } from './phases/auth-common.js';

/** Until the store has been read at start. */
const NO_TEMPORARY_GRANTS = { current: () => [], close: () => Promise.resolve() };

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
      personRoles: t.personRoles.enabled ? { provisioner: t.personRoles.provisioner } : null,
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

  private constructor(
    private readonly ctx: GatewayContext,
    /** What link login needs beyond the configuration (rebuilt from it at each reload); null: no console known. */
    private readonly linkDeps: LinkDeps | null,
  ) {
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
    configureParseBudget({ budgetBytes: deps.config.limits.parseBudgetBytes });
    const detectorQueries = new DetectorQueries(deps.store);
    const linkDeps: LinkDeps | null = deps.linkLogin
      ? { ...deps.linkLogin, watch: new LinkWatch(deps.store, deps.log) }
      : null;
    const identity = new IdentityQueries(deps.store);
    const ctx: GatewayContext = {
      readOnlyGuard: new ReadOnlyGuard(),
      inspector: new StatementInspector(),
      audit: new AuditWriter(
        new AuditQueries(deps.store),
        deps.log,
        {
          // Every event carries a MAC and checkpoints are signed with keys from the vault key (docs/audit.md).
          keys: deriveAuditKeys(deps.vault.derive(AUDIT_KEY_LABEL)),
          checkpoint: {
            gatewayId: deps.config.gatewayId,
            file: deps.config.audit.checkpoint.file,
            webhook: deps.config.audit.checkpoint.webhook ?? null,
            intervalMs: parseDuration(deps.config.audit.checkpoint.interval),
          },
        },
        resolve(deps.config.audit.spoolDir ?? `.pgward/spool/${deps.config.gatewayId}`),
      ),
      baselines: new BaselineCache(detectorQueries, deps.log),
      alerts: new AlertSender(deps.log),
      detectorQueries,
      sessionEnds: new Set(),
      metrics: deps.metrics ?? new GatewayMetrics(),
      pools: new UpstreamBroker(deps.log),
      ...deps,
      // Cancel keys carry a tag every gateway sharing the vault key can check (cancel-router.ts).
      cancels: new CancelRouter({ tagSecret: deps.vault.derive('cancel-key-tag'), limits: cancelLimits(deps.config) }),
      sessions: new SessionRegistry(),
      temporary: NO_TEMPORARY_GRANTS,
      targets: await resolveTargets(deps.config),
      scramMockSecret: deps.vault.derive('scram-mock-salt'),
      maskingKey: deps.vault.derive(MASKING_KEY_LABEL),
      consoleUrl: deps.linkLogin?.baseUrl ?? null,
      proxyFrom: deps.config.listen.proxyProtocolFrom.length
        ? new AddressSet(deps.config.listen.proxyProtocolFrom)
        : null,
      throttle: makeThrottle(deps.config),
      linkLogin: makeLinkLogin(deps.config, linkDeps),
      workload: makeWorkload(deps.config, deps.tokens, identity),
    };
    const requests = new AccessRequests({
      store: deps.store,
      audit: ctx.audit,
      alerts: ctx.alerts,
      policy: () => deps.policy.current(),
      log: deps.log,
      actor: deps.config.gatewayId,
    });
    ctx.temporary = await TemporaryGrants.start({
      requests,
      sessions: ctx.sessions,
      log: deps.log,
      finishes: (rule) =>
        deps.policy
          .current()
          .rules.some(
            (r) => r.rule.name === rule && r.rule.effect === 'allow' && r.rule.requestable?.onExpiry === 'finish',
          ),
    });
    return new Gateway(ctx, linkDeps);
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
   * SIGHUP: a re-read configuration, key by key (`limits.maxMessageBytes`, `auth.linkLogin`,
   * `targets.<name>`...). What is read per connection or rebuilt here applies to new
   * connections at once: targets (pools of changed or removed ones are closed; sessions keep
   * the connection they have), limits but shutdownGraceMs, every auth key (sign-in links and
   * external issuers are rebuilt, throttles start afresh, token lifetimes apply from the next
   * token), detector.enabled, tls.allowPlaintext, log.level. Every other changed key is left
   * as started and named in needsRestart, as is auth.linkLogin turned on where no console URL
   * was known at start (links would have nowhere to point).
   */
  async reloadConfig(next: GatewayConfig): Promise<{ applied: string[]; needsRestart: string[] }> {
    const prev = this.ctx.config;
    const applied: string[] = [];
    const needsRestart: string[] = [];
    for (const key of changedKeys(prev, next)) {
      const live = LIVE_KEYS.some((k) => key === k || key.startsWith(`${k}.`)) && !RESTART_KEYS.includes(key);
      const nowhere = key === 'auth.linkLogin' && next.auth.linkLogin && !this.linkDeps;
      (live && !nowhere ? applied : needsRestart).push(key);
    }
    const merged = structuredClone(prev);
    for (const key of applied) setKey(merged, next, key);
    // Resolved before anything changes: a target that cannot be read fails the whole reload.
    const targets = await resolveTargets(merged);
    for (const key of applied) if (key.startsWith('targets.')) this.ctx.pools.invalidateTarget(key.slice(8));
    const touched = (k: string): boolean => applied.some((a) => a === k || a.startsWith(`${k}.`));
    if (touched('auth.throttle')) {
      // New budgets start from a clean slate (the counts so far are dropped).
      this.ctx.throttle = makeThrottle(merged);
      this.ctx.cancels.setLimits(cancelLimits(merged));
    }
    if (TOKEN_POLICY_KEYS.some(touched)) this.ctx.tokens.updatePolicy(merged.auth);
    if (touched('auth.linkLogin') || touched('auth.linkTtl') || touched('limits.startupTimeoutMs'))
      this.ctx.linkLogin = makeLinkLogin(merged, this.linkDeps);
    if (touched('auth.externalIssuers'))
      this.ctx.workload = makeWorkload(merged, this.ctx.tokens, new IdentityQueries(this.ctx.store));
    if (touched('log.level')) this.ctx.log.level = merged.log.level;
    if (touched('limits.parseBudgetBytes')) configureParseBudget({ budgetBytes: merged.limits.parseBudgetBytes });
    this.ctx.config = merged;
    this.ctx.targets = targets;
    this.ctx.log.info({ event: 'config_reloaded', applied, needsRestart }, 'configuration reloaded');
    if (needsRestart.length)
      this.ctx.log.warn(
        { event: 'config_needs_restart', keys: needsRestart },
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
    await this.ctx.temporary.close();
    await this.peerCancels.close();
    await this.linkDeps?.watch.close();
    this.ctx.pools.close();
    if (this.retention) clearInterval(this.retention);
    await this.settled();
    await this.ctx.audit.close();
    await this.ctx.alerts.drain();
    await closeParseWorkers();
    await closed;
  }
}

interface LinkDeps {
  queries: IdentityQueries;
  baseUrl: string;
  watch: LinkWatch;
}

/** Sign-in links as configured, or null when off or when no console URL is known. */
function makeLinkLogin(config: GatewayConfig, deps: LinkDeps | null): LinkLoginPorts | null {
  if (!deps || !config.auth.linkLogin) return null;
  return {
    ...deps,
    ttlMs: parseDuration(config.auth.linkTtl),
    // Reads of the row only while the LISTEN connection is down (link-watch.ts).
    pollMs: 1_000,
    openWithinMs: config.limits.startupTimeoutMs,
  };
}

function makeWorkload(config: GatewayConfig, tokens: TokenService, identity: IdentityQueries): WorkloadIdentity | null {
  if (config.auth.externalIssuers.length === 0) return null;
  return new WorkloadIdentity(config.auth.externalIssuers, {
    lifetimeCap: (groups) => tokens.lifetimeCap(groups),
    revokedAt: (user) => identity.userRevokedAt(user),
  });
}

function makeThrottle(config: GatewayConfig): AuthThrottle {
  return new AuthThrottle({ ...config.auth.throttle, windowMs: parseDuration(config.auth.throttle.window) });
}

function cancelLimits(config: GatewayConfig): { perAddress: number; relayedPerGateway: number } {
  return {
    perAddress: config.auth.throttle.cancelsPerAddress,
    relayedPerGateway: config.auth.throttle.cancelsRelayedPerGateway,
  };
}

/** Sections (or keys) whose changes a reload applies; RESTART_KEYS are the exceptions inside them. */
const LIVE_KEYS = ['targets', 'limits', 'auth', 'detector', 'tls.allowPlaintext', 'log.level'];
/** Read once at start (cli/start.ts waits this long at SIGTERM from the configuration it started with). */
const RESTART_KEYS = ['limits.shutdownGraceMs'];
/** What the token service reads (identity/token-service.ts TokenPolicy). */
const TOKEN_POLICY_KEYS = [
  'auth.issuer',
  'auth.audience',
  'auth.scramIterations',
  'auth.defaultTtl',
  'auth.maxTtl',
  'auth.groupTtl',
];

/**
 * The keys that differ, one level into each section (`auth.linkLogin`, `targets.app`); a
 * section that is not an object, or is missing on one side, is named whole.
 */
export function changedKeys(prev: GatewayConfig, next: GatewayConfig): string[] {
  const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  const out: string[] = [];
  const a = prev as unknown as Record<string, unknown>;
  const b = next as unknown as Record<string, unknown>;
  for (const section of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const pa = a[section];
    const pb = b[section];
    if (same(pa, pb)) continue;
    if (!isObject(pa) || !isObject(pb)) {
      out.push(section);
      continue;
    }
    for (const key of new Set([...Object.keys(pa), ...Object.keys(pb)]))
      if (!same(pa[key], pb[key])) out.push(`${section}.${key}`);
  }
  return out;
}

/** Copies one `section.key` (or a whole section) from next into config, deleting what next lacks. */
function setKey(config: GatewayConfig, next: GatewayConfig, key: string): void {
  const [section, sub] = key.split(/\.(.*)/s) as [string, string | undefined];
  const to = config as unknown as Record<string, Record<string, unknown>>;
  const from = next as unknown as Record<string, Record<string, unknown> | undefined>;
  if (sub === undefined || sub === '') {
    to[section] = structuredClone(from[section]) as Record<string, unknown>;
    return;
  }
  const value = from[section]?.[sub];
  if (value === undefined) delete to[section]![sub];
  else to[section]![sub] = structuredClone(value);
}
