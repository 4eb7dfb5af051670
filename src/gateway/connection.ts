import { randomUUID } from 'node:crypto';
import type net from 'node:net';
import { PeerClosedError } from '../net/socket-reader.js';
import { PgError, ProtocolFramingError } from '../protocol/errors.js';
import { SqlState } from '../protocol/sqlstate.js';
import type { Logger } from '../util/logger.js';
import { ClientLink } from './client-link.js';
import type { GatewayContext } from './context.js';
import { LiveSession } from './live-session.js';
import { authenticate, configuredMethod } from './phases/authenticate.js';
import { authorize, precheckRequest, readStartupRequest } from './phases/authorize.js';
import { relayCancel } from './phases/cancel.js';
import { LoginFailures } from './phases/failures.js';
import { negotiate, TlsHandshakeError } from './phases/negotiate.js';
import { UpstreamSource } from './phases/upstream.js';

/**
 * One client connection from accept to close, as a pipeline: negotiate (encryption, or a
 * cancel), read the startup request, authenticate the person by token, authorize by
 * policy, get (or plan) the upstream connection, then a LiveSession relays until the end.
 * Each phase takes only the ports it needs and returns a value. Everything before the
 * LiveSession runs under one deadline, like Postgres's authentication_timeout; a PgError
 * becomes a FATAL for the client, anything else a silent close.
 */
export class ClientConnection {
  readonly id = randomUUID();
  private readonly link: ClientLink;
  private log: Logger;
  private deadline: NodeJS.Timeout | null = null;
  private user: string | null = null;
  /** Abandons a wait for an upstream connection when the client goes away during startup. */
  private readonly gone = new AbortController();

  constructor(
    raw: net.Socket,
    private readonly ctx: GatewayContext,
  ) {
    this.link = new ClientLink(raw);
    this.log = ctx.log.child({ session: this.id, client: this.link.addr });
    raw.setNoDelay(true);
    raw.once('close', () => this.gone.abort('client closed'));
  }

  async run(): Promise<void> {
    this.armDeadline(this.ctx.config.limits.startupTimeoutMs, () => {
      // Postgres sends nothing when authentication_timeout fires; neither do we.
      this.log.info({ event: 'startup_timeout' }, 'startup phase timed out');
    });
    try {
      await this.pipeline();
    } catch (err) {
      this.fail(err);
    } finally {
      this.disarmDeadline();
    }
  }

  private async pipeline(): Promise<void> {
    const { ctx, link } = this;
    const negotiated = await negotiate(link, { tls: ctx.tls, proxyFrom: ctx.proxyFrom });
    if (link.addr !== link.raw.remoteAddress) {
      this.log = ctx.log.child({ session: this.id, client: link.addr, via: link.raw.remoteAddress });
    }
    if (negotiated.kind === 'cancel') {
      relayCancel(
        {
          cancels: ctx.cancels,
          publish: (n) => ctx.store.publish(n),
          gatewayId: ctx.config.gatewayId,
          log: this.log,
          addr: link.addr,
        },
        negotiated.pid,
        negotiated.key,
      );
      return link.close();
    }
    if (negotiated.kind === 'nothing') return link.close();

    const request = readStartupRequest(link, negotiated.packet, ctx.config.tls.allowPlaintext);
    this.user = request.user;
    const failures = new LoginFailures(
      { store: ctx.store, metrics: ctx.metrics, pending: ctx.sessionEnds, gatewayId: ctx.config.gatewayId },
      this.id,
      () => link.addr,
      () => this.log,
    );
    precheckRequest(request, link.addr, configuredMethod(ctx.config.auth, request.user), {
      policy: ctx.policy,
      throttle: ctx.throttle,
      failures,
    });

    const who = await authenticate(link, request.user, request.database, request.settings.linkLogin, {
      auth: ctx.config.auth,
      tokens: ctx.tokens,
      workload: ctx.workload,
      linkLogin: ctx.linkLogin,
      tls: ctx.tls,
      scramMockSecret: ctx.scramMockSecret,
      throttle: ctx.throttle,
      failures,
      gatewayId: ctx.config.gatewayId,
      consoleUrl: ctx.consoleUrl,
      extendDeadline: (ms) => this.armDeadline(ms),
      log: this.log,
    });
    link.mark('auth');
    this.log.info({ event: 'authenticated', user: request.user, method: who.method }, 'client authenticated');

    const { target, grant } = authorize(link, request, who, {
      targets: ctx.targets,
      policy: ctx.policy,
      temporary: ctx.temporary,
      failures,
    });
    link.mark('policy');
    const baseline = ctx.config.detector.enabled ? await ctx.baselines.get(request.user) : null;
    const source = new UpstreamSource(target, grant, { vault: ctx.vault, pools: ctx.pools, log: this.log }, who.user);
    const upstream = await source.plan(this.gone.signal);
    link.mark('upstream');

    this.disarmDeadline();
    const session = new LiveSession(
      {
        id: this.id,
        log: this.log,
        link,
        who,
        target,
        grant,
        settings: request.settings,
        protocolMinor: request.protocolMinor,
        baseline,
        upstream,
        source,
      },
      {
        cancels: ctx.cancels,
        sessions: ctx.sessions,
        store: ctx.store,
        audit: ctx.audit,
        metrics: ctx.metrics,
        policy: ctx.policy,
        inspector: ctx.inspector,
        readOnlyGuard: ctx.readOnlyGuard,
        detectorQueries: ctx.detectorQueries,
        alerts: ctx.alerts,
        tokens: ctx.tokens,
        baselines: ctx.baselines,
        pending: ctx.sessionEnds,
        gatewayId: ctx.config.gatewayId,
        limits: ctx.config.limits,
        onTokenExpiry: ctx.config.auth.onTokenExpiry,
        maskingKey: ctx.maskingKey,
      },
    );
    session.start();
  }

  /** (Re)arms the startup deadline: at it, the connection is dropped without a word. */
  private armDeadline(ms: number, before?: () => void): void {
    this.disarmDeadline();
    this.deadline = setTimeout(() => {
      before?.();
      this.link.destroy();
    }, ms);
  }

  private disarmDeadline(): void {
    if (this.deadline) clearTimeout(this.deadline);
    this.deadline = null;
  }

  private fail(err: unknown): void {
    const { link } = this;
    if (err instanceof PgError) {
      this.log.info(
        { event: 'connection_refused', code: err.code, user: this.user, reason: err.internalReason ?? err.message },
        'connection refused',
      );
      link.fatal(err);
      return link.close();
    }
    if (err instanceof ProtocolFramingError || err instanceof PeerClosedError || err instanceof TlsHandshakeError) {
      // Postgres logs these and closes without a word to the peer.
      this.log.debug({ event: 'connection_dropped', reason: err.message }, 'connection dropped');
      return link.destroy();
    }
    this.log.error(
      { event: 'connection_error', err: err instanceof Error ? err.message : String(err) },
      'unexpected error',
    );
    link.fatal(new PgError(SqlState.internalError, 'internal error in pgward'));
    link.close();
  }
}
