import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { CANCEL_CHANNEL } from '../store/store.js';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { advertisedMechanisms, ScramServerExchange } from '../auth/scram-server.js';
import { TokenError } from '../auth/token.js';
import type { ScramLookup } from '../identity/token-service.js';
import { PeerClosedError, SocketMessageReader } from '../net/socket-reader.js';
import { PrefixedStream } from '../net/prefixed-stream.js';
import { parseProxyV2 } from '../net/proxy-protocol.js';
import { resolveDatabase } from '../config/resolve-database.js';
import { emptyBaseline, type BaselineState } from '../detect/baseline.js';
import { SessionMonitor } from '../detect/session-monitor.js';
import { DEFAULT_PROFILE } from '../policy/profiles.js';
import { evaluate, precheck, type Denial, type Grant } from '../policy/evaluate.js';
import { readStartupSettings, type StartupSettings } from '../policy/startup-settings.js';
import { parseSASLInitialResponse, parsePasswordMessage } from '../protocol/auth-messages.js';
import * as W from '../protocol/backend-writer.js';
import { Fe, MAX_SASL_MESSAGE_LENGTH } from '../protocol/constants.js';
import { passwordFailed, PgError, ProtocolFramingError, protocolViolation } from '../protocol/errors.js';
import { FrameReader } from '../protocol/frame-reader.js';
import { authLimits } from '../protocol/limits.js';
import { SqlState } from '../protocol/sqlstate.js';
import { paramValue, parseStartupPacket, printable, truncateIdentifier, type StartupPacket } from '../protocol/startup.js';
import { Relay, type BoundUpstream, type EndReason } from '../relay/relay.js';
import { mergeParameters, runSimpleQuery, settingsSql, UpstreamPool, UpstreamQueryError } from '../upstream/pool.js';
import { connectUpstream, type UpstreamConnection } from '../upstream/connector.js';
import { sendUpstreamCancel } from '../upstream/cancel.js';
import { UpstreamError } from '../upstream/errors.js';
import type { Logger } from '../util/logger.js';
import type { GatewayContext, ResolvedTarget } from './context.js';
import { globMatch } from '../util/glob.js';

type Startup = Extract<StartupPacket, { kind: 'startup' }>;

interface Authenticated {
  user: string;
  groups: string[];
  /** null for link login, which proves the person without a token. */
  tokenJti: string | null;
  expiresAt: Date | null;
  method: 'scram-sha-256' | 'scram-sha-256-plus' | 'password' | 'workload-jwt' | 'link';
  claims: Record<string, string>;
}

const TLS_HANDSHAKE = 0x16;

/**
 * One client connection from accept to close: negotiate encryption, read the startup
 * packet, authenticate the person by token, decide, connect upstream with the vaulted
 * credential, then hand both sockets to the relay. The whole startup phase runs under
 * one deadline, like Postgres's authentication_timeout.
 */
export class ClientConnection {
  readonly id = randomUUID();
  private readonly startedAt = new Date();
  private readonly t0 = performance.now();
  private readonly stages: Record<string, number> = {};
  private socket: Duplex;
  private tlsSocket: tls.TLSSocket | null = null;
  private reader: SocketMessageReader | null = null;
  private deadline: NodeJS.Timeout | null = null;
  private log: Logger;
  /** The client's address and port: the socket's, or those a trusted balancer reported. */
  private clientAddr: string;
  private clientPort: number | undefined;
  private user: string | null = null;
  /** Minor version of protocol 3 this client speaks: 0, or 2 (longer cancel keys). */
  private protocolMinor = 0;

  constructor(
    private readonly raw: net.Socket,
    private readonly ctx: GatewayContext,
  ) {
    this.socket = raw;
    this.clientAddr = raw.remoteAddress ?? 'unknown';
    this.clientPort = raw.remotePort;
    this.log = ctx.log.child({ session: this.id, client: this.clientAddr });
    raw.setNoDelay(true);
  }

  async run(): Promise<void> {
    this.deadline = setTimeout(() => {
      // Postgres sends nothing when authentication_timeout fires; neither do we.
      this.log.info({ event: 'startup_timeout' }, 'startup phase timed out');
      this.raw.destroy();
      this.socket.destroy();
    }, this.ctx.config.limits.startupTimeoutMs);
    try {
      const startup = await this.negotiate();
      if (!startup) return this.close();
      await this.startSession(startup);
    } catch (err) {
      this.fail(err);
    } finally {
      if (this.deadline) clearTimeout(this.deadline);
    }
  }

  private mark(stage: string): void {
    this.stages[stage] = Math.round((performance.now() - this.t0) * 1000) / 1000;
  }

  // ---- encryption negotiation -------------------------------------------------------

  private firstChunk(): Promise<Buffer | null> {
    return new Promise((resolve) => {
      const onData = (chunk: Buffer): void => {
        cleanup();
        this.raw.pause();
        resolve(chunk);
      };
      const onEnd = (): void => {
        cleanup();
        resolve(null);
      };
      const cleanup = (): void => {
        this.raw.off('data', onData);
        this.raw.off('end', onEnd);
        this.raw.off('close', onEnd);
        this.raw.off('error', onEnd);
      };
      this.raw.on('data', onData);
      this.raw.on('end', onEnd);
      this.raw.on('close', onEnd);
      this.raw.on('error', onEnd);
      // A second read (after a PROXY header) finds the socket paused by the first.
      this.raw.resume();
    });
  }

  /** Returns the StartupMessage, or null when the connection carried a cancel or nothing. */
  private async negotiate(): Promise<Startup | null> {
    let first = await this.firstChunk();
    if (first && this.ctx.proxyFrom?.has(this.raw.remoteAddress)) first = await this.proxyHeader(first);
    if (!first) return null;
    if (first[0] === TLS_HANDSHAKE) {
      if (!this.ctx.tls) return null;
      await this.upgrade(new PrefixedStream(this.raw, first), true);
    } else {
      const reader = new FrameReader(authLimits(), 'frontend');
      reader.push(first);
      this.reader = new SocketMessageReader(this.raw, reader);
    }
    let sslTried = this.tlsSocket !== null;
    let gssTried = false;
    for (;;) {
      const packet = parseStartupPacket(await this.reader!.startupPacket());
      switch (packet.kind) {
        case 'cancel':
          this.routeCancel(packet.pid, packet.key);
          return null;
        case 'startup':
          this.mark('startup');
          return packet;
        case 'ssl-request': {
          // Stricter than Postgres: the request is exactly 8 bytes, and never inside TLS.
          if (packet.bodyLength !== 4 || this.tlsSocket) return null;
          if (sslTried) throw unsupportedVersion(1234, 5679);
          sslTried = true;
          const early = this.reader!.buffered > 0;
          if (!this.ctx.tls || early) {
            this.socket.write(W.sslRefused());
            if (early) throw unencryptedAfter('SSL');
            continue;
          }
          this.socket.write(W.sslAccepted());
          this.reader!.release();
          await this.upgrade(this.raw, false);
          continue;
        }
        case 'gssenc-request': {
          if (packet.bodyLength !== 4) return null;
          if (gssTried) throw unsupportedVersion(1234, 5680);
          gssTried = true;
          this.socket.write(W.sslRefused());
          if (this.reader!.buffered > 0) throw unencryptedAfter('GSSAPI encryption');
          continue;
        }
      }
    }
  }

  /**
   * A trusted load balancer's PROXY v2 header: the client's address replaces the balancer's
   * for policy, the login brake, audit and logs. Returns the client's first bytes after it.
   */
  private async proxyHeader(first: Buffer): Promise<Buffer | null> {
    let buf = first;
    for (;;) {
      let header;
      try {
        header = parseProxyV2(buf);
      } catch (err) {
        // Nothing is answered: a balancer that speaks no PROXY is misconfigured, not a client.
        throw new ProtocolFramingError((err as Error).message);
      }
      if (header.complete) {
        if (header.source) {
          this.clientAddr = header.source.address;
          this.clientPort = header.source.port;
          this.log = this.ctx.log.child({ session: this.id, client: this.clientAddr, via: this.raw.remoteAddress });
        }
        const rest = buf.subarray(header.length);
        return rest.length > 0 ? rest : this.firstChunk();
      }
      const more = await this.firstChunk();
      if (!more) return null;
      buf = Buffer.concat([buf, more]);
    }
  }

  private async upgrade(transport: Duplex, direct: boolean): Promise<void> {
    const serverTls = this.ctx.tls!;
    const socket = new tls.TLSSocket(transport, {
      isServer: true,
      secureContext: serverTls.context,
      ALPNProtocols: ['postgresql'],
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(new TlsHandshakeError(err.message));
      socket.once('secure', () => {
        socket.off('error', onError);
        resolve();
      });
      socket.once('error', onError);
      socket.once('close', () => reject(new PeerClosedError(false)));
    });
    // Direct TLS must have negotiated ALPN "postgresql" (backend_startup.c).
    if (direct && socket.alpnProtocol !== 'postgresql') {
      socket.destroy();
      throw new TlsHandshakeError('direct SSL connection without ALPN protocol negotiation');
    }
    socket.on('error', () => undefined);
    this.tlsSocket = socket;
    this.socket = socket;
    this.reader = new SocketMessageReader(socket, new FrameReader(authLimits(), 'frontend'));
    this.mark('tls');
  }

  private routeCancel(pid: number, key: Buffer): void {
    if (this.ctx.cancels.owns(pid)) {
      const forwarded = this.ctx.cancels.route(pid, key);
      this.log.debug({ event: 'cancel_request', forwarded }, 'cancel request');
      return;
    }
    // Behind a load balancer the session may live on another gateway: tell them all. Only a
    // hash of the key travels; the owner compares it with the key it issued.
    const keyHash = createHash('sha256').update(key).digest('hex');
    this.ctx.store.pool
      .query('select pg_notify($1, $2)', [CANCEL_CHANNEL, JSON.stringify({ pid, keyHash, from: this.ctx.config.gatewayId })])
      .catch((err: unknown) => this.log.warn({ event: 'cancel_relay_failed', err: (err as Error).message }, 'could not relay a cancel to peer gateways'));
  }

  // ---- startup, authentication, upstream ----------------------------------------------

  private async startSession(startup: Startup): Promise<void> {
    const { ctx } = this;
    // We speak 3.0 and 3.2. 3.1 is reserved (libpq refuses it), so a 3.1 client is offered
    // 3.0; newer minors are offered 3.2. `_pq_` options are never granted or forwarded.
    this.protocolMinor = startup.minor >= 2 ? 2 : 0;
    const unknownOptions = startup.params.filter(([n]) => n.startsWith('_pq_.')).map(([n]) => n);
    if (startup.minor !== this.protocolMinor || unknownOptions.length > 0) {
      this.socket.write(W.negotiateProtocolVersion(this.protocolMinor, unknownOptions));
    }
    const rawUser = paramValue(startup.params, 'user');
    if (!rawUser) {
      throw new PgError(SqlState.invalidAuthorizationSpecification, 'no PostgreSQL user name specified in startup packet');
    }
    const user = truncateIdentifier(rawUser);
    const database = truncateIdentifier(paramValue(startup.params, 'database') || user);
    this.user = user;
    if (!this.tlsSocket && !ctx.config.tls.allowPlaintext) {
      throw new PgError(
        SqlState.invalidAuthorizationSpecification,
        `no pgward access rule for host "${this.clientAddr}", user "${printable(user)}", database "${printable(database)}", no encryption`,
        { hint: 'pgward requires TLS: connect with sslmode=require or stronger.' },
      );
    }
    const settings = readStartupSettings(startup.params);
    // Settings no rule could grant are refused before any secret is asked for.
    const early = precheck(ctx.policy.current(), settings);
    if (early) throw this.denied(user, 'startup', early);

    const retryIn = ctx.throttle.addressBlocked(this.clientAddr);
    if (retryIn !== null) {
      this.auditFailure(user, this.authMethod(user), 'throttled: too many failed logins from this address');
      throw new PgError(SqlState.invalidAuthorizationSpecification, 'too many failed login attempts from this address', {
        hint: `Try again in ${retryIn} seconds.`,
        internalReason: 'throttled: too many failed logins from this address',
      });
    }
    const who = await this.authenticate(user, database, settings.linkLogin);
    this.mark('auth');
    this.log.info({ event: 'authenticated', user, method: who.method }, 'client authenticated');

    const place = resolveDatabase(ctx.targets.values(), database, ctx.targets);
    if (!place) {
      throw new PgError(SqlState.invalidCatalogName, `database "${printable(database)}" does not exist`, {
        internalReason: 'no target serves that database',
      });
    }
    const decision = evaluate(ctx.policy.current(), {
      user,
      groups: who.groups,
      claims: who.claims,
      method: who.method,
      source: this.clientAddr,
      tls: { version: this.tlsSocket?.getProtocol() ?? null, channelBinding: who.method === 'scram-sha-256-plus' },
      target: place.target.name,
      clientDatabase: database,
      database: place.database,
      targetDatabase: place.target.database,
      targetRole: place.target.role,
      settings,
      at: new Date(),
    });
    if (decision.kind === 'deny') throw this.denied(user, who.method, decision);
    this.mark('policy');
    const baseline = ctx.config.detector.enabled ? await ctx.baselines.get(user) : null;
    // A pooled session whose settings the pool has seen before gets its upstream connection
    // at its first message: until then it holds none (idle clients cost a client socket).
    const deferred = this.deferredUpstream(place.target, decision);
    let upstream: UpstreamConnection | null = null;
    let pool: UpstreamPool | null = deferred?.pool ?? null;
    if (!deferred) ({ up: upstream, pool } = await this.connectUpstream(place.target, decision));
    this.mark('upstream');
    this.goLive(who, place.target, decision, settings, upstream, deferred?.parameters ?? upstream!.parameters, baseline, pool);
  }

  /** A policy denial: the full reason to the audit log, a Postgres-style FATAL to the client. */
  private denied(user: string, method: string, d: Denial): PgError {
    this.auditFailure(user, method, `policy: ${d.reason}`);
    this.log.info({ event: 'policy_denied', user, rule: d.rule, reason: d.reason }, 'connection denied by policy');
    return new PgError(d.code, d.message, { hint: d.hint, internalReason: `policy: ${d.reason}` });
  }

  private authMethod(user: string): 'scram-sha-256' | 'password' {
    const auth = this.ctx.config.auth;
    return auth.passwordUsers.some((p) => globMatch(p, user)) ? 'password' : auth.method;
  }

  private async authenticate(user: string, database: string, linkAsked: boolean): Promise<Authenticated> {
    const method = linkAsked ? 'link' : this.authMethod(user);
    try {
      if (linkAsked) {
        if (!this.ctx.linkLogin) {
          throw new PgError(SqlState.invalidAuthorizationSpecification, 'sign-in links are not enabled on this gateway', {
            hint: 'Remove pgward.login=link from the connection options and use a token.',
          });
        }
        return await this.linkLogin(user, database);
      }
      // Success is recorded in the session row (auth_method); failures get their own event.
      if (method === 'password') return await this.cleartextAuth(user);
      const lookup = await this.ctx.tokens.scramLookup(user).catch((err: unknown) => {
        throw controlPlaneDown(err);
      });
      // No live token at all: a password prompt could only fail, so offer a sign-in link.
      if (this.ctx.linkLogin && lookup.liveCount === 0) {
        return await this.linkLogin(user, database);
      }
      return await this.scramAuth(user, lookup);
    } catch (err) {
      const reason =
        err instanceof PgError ? (err.internalReason ?? err.message) : err instanceof Error ? err.message : String(err);
      if (!(err instanceof PeerClosedError)) this.auditFailure(user, method, reason);
      if (err instanceof PgError && err.code === SqlState.invalidPassword) {
        // A wrong secret: count it, and past the user's budget answer it later (no lockout).
        this.ctx.throttle.failed(this.clientAddr, user);
        const delay = this.ctx.throttle.failureDelayMs(user);
        if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      }
      throw err;
    }
  }

  private async readAuthMessage(expected: 'password' | 'SASL'): Promise<Buffer> {
    const frame = await this.reader!.message();
    if (frame.type !== Fe.Password) {
      throw protocolViolation(`expected ${expected} response, got message type ${frame.type}`);
    }
    return frame.body;
  }

  private async cleartextAuth(user: string): Promise<Authenticated> {
    if (!this.tlsSocket) {
      // Never ask for a token over an unencrypted connection.
      throw new PgError(SqlState.invalidAuthorizationSpecification, 'token authentication requires an encrypted connection', {
        hint: 'Connect with sslmode=require or stronger.',
      });
    }
    this.socket.write(W.authenticationCleartextPassword());
    const password = parsePasswordMessage(await this.readAuthMessage('password'));
    if (password.length === 0) throw new PgError(SqlState.invalidPassword, 'empty password returned by client');
    try {
      const external = this.ctx.workload?.handles(password) ?? false;
      const identity = external
        ? await this.ctx.workload!.verify(user, password)
        : await this.ctx.tokens.verifyPassword(user, password);
      this.socket.write(W.authenticationOk());
      return {
        user,
        groups: identity.groups,
        tokenJti: external ? null : identity.jti,
        expiresAt: identity.expiresAt,
        method: external ? 'workload-jwt' : 'password',
        claims: identity.claims ?? {},
      };
    } catch (err) {
      if (err instanceof TokenError) throw passwordFailed(user, `token ${err.reason}`);
      throw controlPlaneDown(err);
    }
  }

  private async scramAuth(user: string, lookup: ScramLookup): Promise<Authenticated> {
    const { ctx } = this;
    const onTls = this.tlsSocket !== null;
    const exchange = new ScramServerExchange({
      user,
      credentials: lookup.credentials,
      mockSecret: ctx.scramMockSecret,
      mockIterations: ctx.config.auth.scramIterations,
      channelBinding: onTls && ctx.tls ? ctx.tls.channelBinding : null,
    });
    this.socket.write(W.authenticationSASL(advertisedMechanisms(onTls)));
    const initial = parseSASLInitialResponse(await this.readSasl(user));
    let started = exchange.start(initial.mechanism, initial.data);
    if ('emptyContinue' in started) {
      this.socket.write(W.authenticationSASLContinue(''));
      started = exchange.clientFirst(await this.readSasl(user));
    }
    this.socket.write(W.authenticationSASLContinue(started.serverFirst));
    const { serverFinal, verifierId } = exchange.clientFinal(await this.readSasl(user));
    const token = lookup.tokens.get(verifierId);
    // A proof that matches a dead token's verifier fails like any wrong password; only the audit learns which.
    if (!token) throw passwordFailed(user, 'password mismatch');
    if (token.revokedAt) throw passwordFailed(user, 'token revoked');
    if (token.expiresAt.getTime() <= Date.now()) throw passwordFailed(user, 'token expired');
    this.socket.cork();
    this.socket.write(W.authenticationSASLFinal(serverFinal));
    this.socket.write(W.authenticationOk());
    this.socket.uncork();
    const plus = initial.mechanism === 'SCRAM-SHA-256-PLUS';
    return {
      user,
      groups: token.groups,
      tokenJti: verifierId,
      expiresAt: token.expiresAt,
      method: plus ? 'scram-sha-256-plus' : 'scram-sha-256',
      claims: {},
    };
  }

  /**
   * Link login: AuthenticationOk first (libpq shows notices only after it), then a
   * NoticeResponse with a one-time URL; nothing is relayed until the person approves it
   * in the browser while signed in as this user.
   */
  private async linkLogin(user: string, database: string): Promise<Authenticated> {
    const link = this.ctx.linkLogin!;
    const secret = randomBytes(24).toString('base64url');
    const idHash = createHash('sha256').update(secret).digest();
    const ttlMs = link.ttlMs;
    await link.queries
      .createLink({ idHash, username: user, clientAddr: this.clientAddr, database, gatewayId: this.ctx.config.gatewayId, expiresAt: new Date(Date.now() + ttlMs) })
      .catch((err: unknown) => {
        throw controlPlaneDown(err);
      });
    // The wait is bounded by the link's lifetime, not the usual startup deadline.
    if (this.deadline) clearTimeout(this.deadline);
    this.deadline = setTimeout(() => this.destroy(), ttlMs + 5_000);
    this.socket.write(W.authenticationOk());
    this.socket.write(
      W.noticeResponse({
        severity: 'NOTICE',
        code: SqlState.successfulCompletion,
        message: `pgward: sign in to continue: ${link.baseUrl}/link/${secret}`,
        detail: `Open the link in a browser and approve this session. It works once and expires in ${Math.round(ttlMs / 1000)} seconds.`,
      }),
    );
    this.log.info({ event: 'link_login_started', user }, 'waiting for link login');
    const until = Date.now() + ttlMs;
    while (Date.now() < until && !this.socket.destroyed) {
      await new Promise((r) => setTimeout(r, link.pollMs));
      const row = await link.queries.link(idHash).catch(() => null);
      if (row?.refusedAt) throw new PgError(SqlState.invalidAuthorizationSpecification, 'sign-in was refused in the browser', { internalReason: 'link refused' });
      if (row?.approvedAt) {
        if (!(await link.queries.useLink(idHash))) throw new PgError(SqlState.invalidAuthorizationSpecification, 'this sign-in link was already used', { internalReason: 'link reused' });
        const groups = row.approvedGroups ?? [];
        // No token backs a link session, so it gets the lifetime a token for these groups would.
        return { user, groups, tokenJti: null, expiresAt: new Date(Date.now() + this.ctx.tokens.lifetime(groups)), method: 'link', claims: {} };
      }
    }
    throw new PgError(SqlState.invalidAuthorizationSpecification, 'sign-in link expired before it was approved', {
      internalReason: 'link expired',
      hint: 'Connect again for a new link, or use a token.',
    });
  }

  private async readSasl(user: string): Promise<Buffer> {
    const body = await this.readAuthMessage('SASL');
    // Postgres refuses SASL messages over 1024 bytes as a failed login.
    if (body.length + 4 > MAX_SASL_MESSAGE_LENGTH) throw passwordFailed(user, 'SASL message too long');
    return body;
  }

  /** Opens a new upstream connection as the grant's role, with the vaulted credential. */
  private async openUpstream(target: ResolvedTarget, grant: Grant, params: Array<[string, string]>): Promise<UpstreamConnection> {
    let password: string | null;
    try {
      password = await this.ctx.vault.get(target.name, grant.role);
    } catch (err) {
      throw controlPlaneDown(err);
    }
    if (password === null) {
      throw new PgError(SqlState.sqlServerRejectedConnection, `pgward has no credential for database "${target.name}"`, {
        internalReason: `vault has no entry for ${target.name}/${grant.role}`,
        hint: 'An administrator must run: pgward vault set TARGET ROLE',
      });
    }
    try {
      return await connectUpstream(target.endpoint, { user: grant.role, database: grant.database, password, params });
    } catch (err) {
      if (err instanceof UpstreamError && err.kind === 'server-error' && err.serverError) {
        const f = err.serverError;
        throw new PgError(f.code, f.message, { detail: f.detail, hint: f.hint, internalReason: err.message });
      }
      const reason = err instanceof Error ? err.message : String(err);
      throw new PgError(SqlState.connectionFailure, `pgward could not connect to the server for database "${target.name}"`, {
        internalReason: reason,
      });
    }
  }

  /**
   * An upstream connection for this grant: from the warm pool of (target, role, database,
   * read-only) when pooling is on, with the session's settings applied by SET; a fresh one
   * for replication connections or when pooling is off.
   */
  private async connectUpstream(target: ResolvedTarget, grant: Grant): Promise<{ up: UpstreamConnection; pool: UpstreamPool | null }> {
    if (grant.replication || !target.pool.enabled) {
      const params: Array<[string, string]> = grant.replication ? [...grant.forward, ['replication', grant.replication]] : grant.forward;
      return { up: await this.openUpstream(target, grant, params), pool: null };
    }
    const pool = this.poolFor(target, grant);
    const { up } = await pool.acquire();
    const wanted = pooledSettings(grant);
    const sql = settingsSql(wanted, up.parameters);
    if (sql) {
      try {
        const { parameters } = await runSimpleQuery(up, sql);
        up.parameters = mergeParameters(up.parameters, parameters);
      } catch (err) {
        if (err instanceof UpstreamQueryError) {
          // The connection stays sound (the SET failed outside any transaction).
          pool.release(up, true);
          throw new PgError(err.code, err.message);
        }
        pool.release(up, false);
        throw new PgError(SqlState.connectionFailure, `pgward could not prepare the session for database "${target.name}"`, { internalReason: (err as Error).message });
      }
    }
    pool.remember(settingsKey(wanted), up.parameters);
    return { up, pool };
  }

  /** The warm pool of (target, role, database, read-only). */
  private poolFor(target: ResolvedTarget, grant: Grant): UpstreamPool {
    const ro = grant.session.readOnly;
    const key = `${target.name}\0${grant.role}\0${grant.database}\0${ro ? 'ro' : 'rw'}`;
    let pool = this.ctx.pools.get(key);
    if (!pool) {
      // Pooled connections start with no client settings (read-only aside): DISCARD ALL then returns them to exactly that.
      const startup: Array<[string, string]> = ro ? [['default_transaction_read_only', 'on']] : [];
      pool = new UpstreamPool(() => this.openUpstream(target, grant, startup), { min: target.pool.min, idleMs: target.pool.idleMs, reset: target.pool.reset }, this.ctx.log);
      this.ctx.pools.set(key, pool);
    }
    return pool;
  }

  /** A pool that can give this session its connection later, and what to tell the client now. */
  private deferredUpstream(target: ResolvedTarget, grant: Grant): { pool: UpstreamPool; parameters: Array<[string, string]> } | null {
    if (grant.replication || !target.pool.enabled || target.pool.assign !== 'first-message') return null;
    const pool = this.poolFor(target, grant);
    const parameters = pool.reported(settingsKey(pooledSettings(grant)));
    return parameters ? { pool, parameters } : null;
  }

  // ---- session ----------------------------------------------------------------------

  private goLive(
    who: Authenticated,
    target: ResolvedTarget,
    grant: Grant,
    settings: StartupSettings,
    up: UpstreamConnection | null,
    parameters: ReadonlyArray<readonly [string, string]>,
    baseline: BaselineState | null,
    pool: UpstreamPool | null,
  ): void {
    const { ctx } = this;
    const clientLeftover = this.reader!.release();
    this.reader = null;
    if (this.deadline) clearTimeout(this.deadline);
    this.deadline = null;
    const relayRef: { relay: Relay | null } = { relay: null };
    const bound: { up: UpstreamConnection | null } = { up };
    let cancelWhenBound = false;
    const cancelUpstream = (): void => {
      const u = bound.up;
      if (!u) {
        // The statement waits for its upstream connection: cancel it as soon as it is sent.
        cancelWhenBound = true;
        return;
      }
      sendUpstreamCancel(target.endpoint, u.pid, u.key).catch((err: unknown) =>
        this.log.warn({ event: 'cancel_failed', err: (err as Error).message }, 'forwarding a cancel failed'),
      );
    };
    // 3.2 clients get a 32-byte key, as Postgres 18 issues: guessing one is hopeless.
    const key = ctx.cancels.register(
      { busy: () => relayRef.relay?.busy ?? false, cancel: cancelUpstream },
      this.protocolMinor >= 2 ? 32 : 4,
    );
    this.socket.cork();
    for (const [name, value] of parameters) this.socket.write(W.parameterStatus(name, value));
    this.socket.write(W.backendKeyData(key.pid, key.key));
    this.socket.write(W.readyForQuery('I'));
    this.socket.uncork();
    this.mark('ready');

    const recorded = ctx.store
      .sessionOpened({
        id: this.id,
        gatewayId: ctx.config.gatewayId,
        clientAddr: this.clientAddr,
        clientPort: this.clientPort,
        startedAt: this.startedAt,
        username: who.user,
        groups: who.groups,
        tokenJti: who.tokenJti,
        target: target.name,
        database: grant.database,
        upstreamRole: grant.role,
        applicationName: settings.applicationName,
        tlsVersion: this.tlsSocket?.getProtocol() ?? null,
        tlsCipher: this.tlsSocket?.getCipher()?.name ?? null,
        alpn: this.tlsSocket ? this.tlsSocket.alpnProtocol || null : null,
        authMethod: who.method,
        channelBinding: who.method === 'scram-sha-256-plus',
        readyAt: new Date(),
        stageMs: this.stages,
        policyRule: grant.rule,
        policyVersion: grant.policyVersion,
        readOnly: grant.session.readOnly,
      })
      .catch((err: unknown) => this.log.error({ event: 'audit_write_failed', err: (err as Error).message }, 'session record not written'));

    const timers: NodeJS.Timeout[] = [];
    const record = (kind: string, payload: Record<string, unknown>): void => {
      ctx.audit.append(this.id, who.user, kind, payload);
    };
    record('session_start', {
      client: this.clientAddr,
      tls: this.tlsSocket?.getProtocol() ?? null,
      method: who.method,
      groups: who.groups,
      target: target.name,
      database: grant.database,
      role: grant.role,
      application: settings.applicationName,
    });
    record('policy', { rule: grant.rule, file: grant.file, version: grant.policyVersion, readOnly: grant.session.readOnly, detector: grant.session.detector });
    const profile = ctx.policy.current().profiles[grant.session.detector] ?? DEFAULT_PROFILE;
    const sessionKill = { end: (_m: string): void => undefined };
    const monitor =
      baseline !== null || grant.session.readOnly
        ? new SessionMonitor({
            inspector: ctx.inspector,
            profile,
            baseline: baseline ?? emptyBaseline(),
            readOnly: grant.session.readOnly ? ctx.readOnlyGuard : null,
            clientAddr: this.clientAddr,
            sinks: {
              record,
              anomaly: (kind, severity, action, detail) => {
                record('anomaly', { kind, severity, action, ...detail });
                ctx.metrics.anomalies.inc({ kind, action });
                this.log.warn({ event: 'anomaly', kind, severity, action, user: who.user }, 'anomaly detected');
                this.track(
                  ctx.detectorQueries
                    .insertAnomaly({ sessionId: this.id, username: who.user, kind, severity, action, detail })
                    .catch((err: unknown) => this.log.error({ event: 'anomaly_write_failed', err: (err as Error).message }, 'anomaly row not written (it is in the session chain)')),
                );
                if (action !== 'log' && profile.webhook) {
                  ctx.alerts.send(profile.webhook, { kind, severity, action, user: who.user, session: this.id, gateway: ctx.config.gatewayId, at: new Date().toISOString(), detail });
                }
              },
              end: (message) => sessionKill.end(message),
              revoke: (reason) => {
                const done = who.tokenJti
                  ? ctx.tokens.revoke(who.tokenJti, reason, { endSessions: true })
                  : ctx.tokens.revokeUser(who.user, reason, { endSessions: true });
                void done.catch((err: unknown) => this.log.error({ event: 'revoke_failed', err: (err as Error).message }, 'detector could not revoke the token'));
                sessionKill.end('terminating connection: the token of this session was revoked by the detector');
              },
            },
          })
        : null;
    monitor?.begin();
    ctx.metrics.onboarded(this.stages);
    ctx.metrics.activeSessions.inc();
    const bindUpstream = async (): Promise<BoundUpstream> => {
      try {
        const { up: u } = await this.connectUpstream(target, grant);
        bound.up = u;
        return { socket: u.socket, leftover: u.leftover, parameters: u.parameters };
      } catch (err) {
        this.log.warn({ event: 'upstream_bind_failed', err: err instanceof PgError ? (err.internalReason ?? err.message) : (err as Error).message }, 'no upstream connection for the first message');
        throw err;
      }
    };
    const relay = new Relay(this.socket, up?.socket ?? null, {
      maxMessageBytes: ctx.config.limits.maxMessageBytes,
      messageStallMs: ctx.config.limits.messageStallMs,
      clientLeftover,
      upstreamLeftover: up?.leftover,
      parameters,
      bindUpstream: up ? undefined : bindUpstream,
      onBound: () => {
        if (cancelWhenBound) cancelUpstream();
      },
      observer: monitor ?? undefined,
      keepUpstream: pool !== null,
      onEnd: (reason: EndReason, detail?: string, reusable?: boolean) => {
        if (bound.up) pool?.release(bound.up, reusable === true);
        for (const t of timers) clearTimeout(t);
        ctx.cancels.unregister(key.pid);
        ctx.sessions.remove(this.id);
        this.log.info({ event: 'session_end', reason, detail, stats: relay.stats }, 'session ended');
        monitor?.finish(reason);
        ctx.metrics.activeSessions.dec();
        ctx.metrics.sessions.inc({ reason });
        ctx.metrics.bytes.inc({ direction: 'from_client' }, relay.stats.bytesFromClient);
        ctx.metrics.bytes.inc({ direction: 'to_client' }, relay.stats.bytesToClient);
        record('session_end', { reason, ...(detail ? { detail } : {}), ...relay.stats });
        const chain = ctx.audit.endChain(this.id);
        const done = recorded
          .then(() => ctx.audit.flush())
          .then(() =>
            ctx.store.sessionEnded(this.id, {
              endedAt: new Date(),
              endReason: reason,
              ...relay.stats,
              statements: monitor?.statements ?? 0,
              anomalies: monitor?.anomalies ?? 0,
              chainHead: chain?.head ?? null,
              chainLength: chain?.seq ?? 0,
            }),
          )
          .then(() => (baseline ? ctx.baselines.save(who.user) : undefined))
          .catch((err: unknown) => this.log.error({ event: 'audit_write_failed', err: (err as Error).message }, 'session end not written'))
          .finally(() => ctx.sessionEnds.delete(done));
        ctx.sessionEnds.add(done);
      },
    });
    relayRef.relay = relay;
    const end = (message: string, endReason: EndReason, code: string = SqlState.adminShutdown): void => {
      // A closed socket alone would leave a running statement to finish upstream.
      if (relay.busy) cancelUpstream();
      relay.kill(endReason, message, code);
    };
    const kill = (reason: string, endReason: EndReason = 'killed'): void => end(`terminating connection: ${reason}`, endReason);
    sessionKill.end = (message) => end(message, 'detector');
    ctx.sessions.add({
      id: this.id,
      user: who.user,
      target: target.name,
      clientAddr: this.clientAddr,
      startedAt: this.startedAt,
      tokenJti: who.tokenJti,
      kill,
      drain: (reason: string) => relay.endWhenIdle(`terminating connection: ${reason}`),
    });
    if (who.expiresAt && ctx.config.auth.onTokenExpiry === 'end') {
      timers.push(setTimeout(() => kill('the token of this session expired', 'token-expired'), Math.max(0, who.expiresAt.getTime() - Date.now())));
    }
    const { maxDurationMs, idleTimeoutMs } = grant.session;
    if (maxDurationMs !== null) {
      timers.push(setTimeout(() => kill('the session reached its maximum duration', 'max-duration'), maxDurationMs));
    }
    if (idleTimeoutMs !== null) {
      // One timer per session, re-armed for the remainder: no timer churn per message.
      const slot = timers.length;
      const check = (): void => {
        const idleFor = Date.now() - relay.lastClientData;
        if (!relay.busy && idleFor >= idleTimeoutMs) {
          end('terminating connection due to idle-session timeout', 'idle-timeout', SqlState.idleSessionTimeout);
          return;
        }
        timers[slot] = setTimeout(check, relay.busy ? idleTimeoutMs : idleTimeoutMs - idleFor);
      };
      timers[slot] = setTimeout(check, idleTimeoutMs);
    }
    this.log.info(
      { event: 'session_ready', user: who.user, target: target.name, role: grant.role, stages: this.stages },
      'session ready',
    );
    relay.start();
  }

  // ---- failure ----------------------------------------------------------------------

  /** Tracks a record being written, so shutdown (and Gateway.settled) waits for it. */
  private track(p: Promise<unknown>): void {
    const done: Promise<void> = p.then(
      () => undefined,
      () => undefined,
    ).finally(() => this.ctx.sessionEnds.delete(done));
    this.ctx.sessionEnds.add(done);
  }

  private auditFailure(user: string, method: string, reason: string): void {
    this.ctx.metrics.authFailure(reason);
    this.track(this.ctx.store
      .recordAuthEvent({
        gatewayId: this.ctx.config.gatewayId,
        sessionId: this.id,
        username: user,
        clientAddr: this.clientAddr,
        method,
        outcome: 'failure',
        reason,
      })
      .catch((err: unknown) => this.log.error({ event: 'audit_write_failed', err: (err as Error).message }, 'auth event not written')));
  }

  private fail(err: unknown): void {
    if (err instanceof PgError) {
      this.log.info(
        { event: 'connection_refused', code: err.code, user: this.user, reason: err.internalReason ?? err.message },
        'connection refused',
      );
      if (!this.socket.destroyed) {
        this.socket.write(
          W.errorResponse({ severity: 'FATAL', code: err.code, message: err.message, detail: err.detail, hint: err.hint }),
        );
      }
      return this.close();
    }
    if (err instanceof ProtocolFramingError || err instanceof PeerClosedError || err instanceof TlsHandshakeError) {
      // Postgres logs these and closes without a word to the peer.
      this.log.debug({ event: 'connection_dropped', reason: err.message }, 'connection dropped');
      return this.destroy();
    }
    this.log.error({ event: 'connection_error', err: err instanceof Error ? err.message : String(err) }, 'unexpected error');
    if (!this.socket.destroyed) {
      this.socket.write(W.errorResponse({ severity: 'FATAL', code: SqlState.internalError, message: 'internal error in pgward' }));
    }
    this.close();
  }

  private close(): void {
    this.socket.end();
    setTimeout(() => this.destroy(), 1_000).unref();
  }

  private destroy(): void {
    this.socket.destroy();
    this.raw.destroy();
  }
}

class TlsHandshakeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TlsHandshakeError';
  }
}

function unsupportedVersion(major: number, minor: number): PgError {
  return new PgError(SqlState.featureNotSupported, `unsupported frontend protocol ${major}.${minor}: server supports 3.0 to 3.2`);
}

function unencryptedAfter(what: string): PgError {
  return protocolViolation(
    `received unencrypted data after ${what} request`,
    'This could be either a client-software bug or evidence of an attempted man-in-the-middle attack.',
  );
}

/** The control plane is unreachable: fail closed with a message that says so. */
function controlPlaneDown(err: unknown): PgError {
  if (err instanceof PgError) return err;
  return new PgError(SqlState.cannotConnectNow, 'pgward cannot verify credentials right now', {
    internalReason: `control plane error: ${err instanceof Error ? err.message : String(err)}`,
  });
}

/** The settings a pooled session gets by SET (read-only is the pool's own). */
function pooledSettings(grant: Grant): Array<readonly [string, string]> {
  const ro = grant.session.readOnly;
  return grant.forward.filter(([k]) => !(ro && k === 'default_transaction_read_only'));
}

const settingsKey = (settings: ReadonlyArray<readonly [string, string]>): string => JSON.stringify(settings);
