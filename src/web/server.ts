import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import fastifyCookie from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { verifyToken } from '../auth/token.js';
import type { GatewayConfig } from '../config/schema.js';
import type { OidcSso, PendingLogin } from '../identity/oidc-sso.js';
import type { SigningKeys } from '../identity/signing-keys.js';
import type { TokenService } from '../identity/token-service.js';
import { lockMessage, UserLockedError } from '../identity/user-locks.js';
import { ConsoleSessionQueries } from '../store/console-session-queries.js';
import type { IdentityQueries } from '../store/identity-queries.js';
import type { Logger } from '../util/logger.js';
import { parseDuration } from '../util/duration.js';
import type { Vault } from '../vault/vault.js';
import type { PolicySet } from '../policy/schema.js';
import type { Store } from '../store/store.js';
import { registerConsoleApi, registerMetrics, type LiveSessions } from './console-api.js';
import { registerConsolePages } from './console-pages.js';
import { metricsAccess } from './metrics-access.js';
import { registerNotFoundPage } from './not-found.js';
import { openApiPath } from './openapi.js';
import { caFileName, connectLines, psqlWithoutToken, type PgEndpoint } from './connect-lines.js';
import { cliConfirmPage, developerPage, devicePage, landingPage, linkPage, messagePage } from './pages.js';
import { sessionRoles } from './roles.js';
import { ConsoleSessions, csrfMatches, LOGIN_COOKIE, safeNext, SealedCookies, type WebSession } from './session.js';

export interface WebDeps {
  config: GatewayConfig;
  log: Logger;
  vault: Vault;
  tokens: TokenService;
  keys: SigningKeys;
  identity: IdentityQueries;
  sso: OidcSso | null;
  pg: PgEndpoint;
  publicUrl: string;
  databases: string[];
  store: Store;
  policy: { current(): PolicySet };
  live: LiveSessions | null;
  metrics: { registry: { metrics(): Promise<string>; contentType: string } } | null;
}

export const hashSecret = (secret: string): Buffer => createHash('sha256').update(secret).digest();

const webDir = fileURLToPath(new URL('../../web/', import.meta.url));
const webDirFromDist = fileURLToPath(new URL('../../../web/', import.meta.url));

const chartJs = fileURLToPath(new URL('../../node_modules/chart.js/dist/', import.meta.url));
const chartJsFromDist = fileURLToPath(new URL('../../../node_modules/chart.js/dist/', import.meta.url));

/** The browser-facing side of identity: SSO, the connect page, link login, CLI sign-in. */
export async function buildWebApp(deps: WebDeps): Promise<FastifyInstance> {
  // Behind reverse proxies, X-Forwarded-For names the client only when a listed proxy sent it,
  // so the sign-in rate limit counts each client, not the proxy (web.trustProxy).
  const proxies = deps.config.web.trustProxy;
  const app = Fastify({ logger: false, trustProxy: proxies.length > 0 ? proxies : false });
  // A locked person reaching any door that mints a token (CLI sign-in, device codes): the
  // lock's end and reason, as a page in a browser and as JSON to a program.
  app.setErrorHandler(async (err: Error, req, reply) => {
    if (!(err instanceof UserLockedError)) throw err;
    deps.log.info({ event: 'token_refused_locked', user: err.lock.username, url: req.routeOptions.url }, 'user locked');
    if (req.url.startsWith('/api/') || req.url.startsWith('/cli/')) return reply.code(403).send({ error: err.message });
    return html(reply, messagePage('Locked out', err.message), 403);
  });
  const secure = deps.publicUrl.startsWith('https:');
  const cookies = new SealedCookies(deps.vault, secure);
  const sessions = new ConsoleSessions(new ConsoleSessionQueries(deps.store), cookies);
  await app.register(fastifyCookie);
  await app.register(fastifyFormbody);
  // Strict CSP: only our own scripts and styles; nothing embeds us; no Referer leaves.
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        formAction: ["'self'", 'http://127.0.0.1:*'],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
      },
    },
    referrerPolicy: { policy: 'no-referrer' },
    crossOriginEmbedderPolicy: false,
  });
  // Rate limits: sign-in endpoints tightly, the API generously, per client address.
  const apiRoutes: string[] = [];
  app.addHook('onRoute', (route) => {
    const url = route.url;
    if (url.startsWith('/api/'))
      for (const m of [route.method].flat()) if (m !== 'HEAD') apiRoutes.push(`${m} ${openApiPath(url)}`);
    if (url.startsWith('/auth/') || url.startsWith('/cli/'))
      route.config = { ...(route.config as object), rateLimit: { max: 30, timeWindow: '1 minute' } };
    else if (url.startsWith('/api/'))
      route.config = { ...(route.config as object), rateLimit: { max: 600, timeWindow: '1 minute' } };
  });
  await app.register(fastifyRateLimit, { global: false });
  const { existsSync } = await import('node:fs');
  await app.register(fastifyStatic, {
    root: existsSync(webDir) ? webDir : webDirFromDist,
    prefix: '/static/',
    index: false,
  });
  await app.register(fastifyStatic, {
    root: existsSync(chartJs) ? chartJs : chartJsFromDist,
    prefix: '/static/vendor/chart/',
    index: false,
    decorateReply: false,
    allowedPath: (p) => p === '/chart.umd.min.js',
  });
  app.addHook('onSend', async (_req, reply) => {
    reply.header('cache-control', 'no-store');
  });

  /** The live server-side session the cookie names (read from the store at each request). */
  const session = (req: FastifyRequest): Promise<WebSession | null> => sessions.read(req);
  const html = (reply: FastifyReply, body: string, status = 200): FastifyReply =>
    reply.code(status).type('text/html; charset=utf-8').send(body);
  const requireSession = async (req: FastifyRequest, reply: FastifyReply): Promise<WebSession | null> => {
    const s = await session(req);
    if (!s) {
      void reply.redirect(`/auth/login?next=${encodeURIComponent(req.url)}`);
      return null;
    }
    return s;
  };
  /** State changes need the session's CSRF value in the form, as well as the cookie. */
  const checkCsrf = (s: WebSession, body: unknown): boolean =>
    typeof body === 'object' && body !== null && csrfMatches(s, (body as Record<string, unknown>)['csrf']);

  app.get('/health', async () => ({ ok: true }));

  // The CA clients must trust (the development CA): public, as any certificate is. 404 when
  // the gateway's certificate chains to a public CA (the lines then say sslrootcert=system).
  const caPem = deps.pg.caPath ? await readFile(deps.pg.caPath, 'utf8') : null;
  app.get('/ca.crt', async (_req, reply) => {
    if (!caPem) return reply.code(404).type('text/plain').send('This gateway uses a publicly trusted certificate.\n');
    return reply
      .type('application/x-pem-file')
      .header('content-disposition', `attachment; filename="${caFileName(deps.pg.host)}"`)
      .send(caPem);
  });

  app.get('/', async (req, reply) => {
    const s = await session(req);
    return html(
      reply,
      s
        ? developerPage(s, deps.pg, deps.databases, sessionRoles(s, deps.config).held, deps.publicUrl)
        : landingPage(deps.sso !== null),
    );
  });

  app.get<{ Querystring: { next?: string } }>('/auth/login', async (req, reply) => {
    if (!deps.sso) return html(reply, messagePage('Sign in', 'Single sign-on is not configured.'), 404);
    const { url, pending } = await deps.sso.start(safeNext(req.query.next));
    cookies.set(reply, LOGIN_COOKIE, pending, 600);
    return reply.redirect(url.href);
  });

  app.get('/auth/callback', async (req, reply) => {
    const pending = cookies.get<PendingLogin>(req, LOGIN_COOKIE);
    if (!deps.sso || !pending)
      return html(reply, messagePage('Sign-in failed', 'This sign-in has expired. Please start again.'), 400);
    cookies.clear(reply, LOGIN_COOKIE);
    try {
      const who = await deps.sso.finish(new URL(req.url, deps.publicUrl), pending);
      const current = await session(req);
      // Signed in again (to confirm a role, say) with the same groups: the session goes on, confirmed.
      if (current?.user === who.user && (await sessions.confirmGroups(req, who.groups))) {
        deps.log.info({ event: 'sso_confirmed', user: who.user, jti: current.jti }, 'groups confirmed by SSO');
        return reply.redirect(pending.next);
      }
      if (current) {
        // Another person, or groups the identity provider no longer gives: the earlier session
        // ends here, and so does its token when it carries groups the person no longer has.
        await sessions.end(req, reply, 'signed in again', { keepCookie: true });
        if (current.user === who.user) await deps.tokens.revoke(current.jti, 'groups changed at the identity provider');
      }
      const issued = await deps.tokens.issue({ user: who.user, groups: who.groups, issuedBy: `sso:${who.issuer}` });
      await sessions.start(reply, { user: who.user, email: who.email, groups: who.groups }, issued);
      deps.log.info({ event: 'sso_login', user: who.user, jti: issued.jti }, 'signed in through SSO');
      return reply.redirect(pending.next);
    } catch (err) {
      if (err instanceof UserLockedError) {
        deps.log.info({ event: 'sso_locked', user: err.lock.username }, 'sign-in refused: user locked');
        return html(reply, messagePage('Locked out', err.message), 403);
      }
      deps.log.warn({ event: 'sso_failed', err: (err as Error).message }, 'SSO callback failed');
      return html(
        reply,
        messagePage('Sign-in failed', 'The identity provider did not confirm who you are. Please try again.'),
        400,
      );
    }
  });

  app.post('/auth/logout', async (req, reply) => {
    const s = await session(req);
    if (s) {
      if (!checkCsrf(s, req.body))
        return html(reply, messagePage('Sign out', 'This form has expired; reload the page.'), 403);
      const endSessions = (req.body as Record<string, unknown>)['end_sessions'] === 'on';
      await deps.tokens.revoke(s.jti, 'signed out', { endSessions });
      deps.log.info({ event: 'sign_out', user: s.user, jti: s.jti, endSessions }, 'signed out; token revoked');
    }
    // The row ends whatever its state: the cookie names nothing from now on, on any gateway.
    await sessions.end(req, reply, 'signed out');
    return reply.redirect('/');
  });

  // ---- link login -------------------------------------------------------------------

  app.get<{ Params: { secret: string } }>('/link/:secret', async (req, reply) => {
    const s = await requireSession(req, reply);
    if (!s) return reply;
    // Opening the link starts its approval window (auth.linkTtl); before that the waiting
    // connection has only the authentication timeout.
    const link = await deps.identity.openLink(hashSecret(req.params.secret));
    if (!link) return html(reply, messagePage('Sign in a psql session', 'This link is not valid.', s), 404);
    return html(reply, linkPage(link, s, req.params.secret, linkProblem(link, s)));
  });

  app.post<{ Params: { secret: string }; Body: { csrf?: string; decision?: string } }>(
    '/link/:secret',
    async (req, reply) => {
      const s = await requireSession(req, reply);
      if (!s) return reply;
      if (!checkCsrf(s, req.body))
        return html(reply, messagePage('Sign in a psql session', 'This form has expired; reload the page.', s), 403);
      const idHash = hashSecret(req.params.secret);
      const link = await deps.identity.link(idHash);
      const problem = link ? linkProblem(link, s) : 'This link is not valid.';
      if (problem || !link)
        return html(reply, messagePage('Sign in a psql session', problem ?? 'This link is not valid.', s), 400);
      const approve = req.body.decision === 'approve';
      // A locked person cannot let a psql session in by link either (refusing still works).
      const lock = approve ? await deps.tokens.lockOf(s.user) : null;
      if (lock) return html(reply, messagePage('Sign in a psql session', lockMessage(lock), s), 403);
      const done = await deps.identity.decideLink(
        idHash,
        approve ? { approve: true, groups: s.groups } : { approve: false },
      );
      if (!done)
        return html(reply, messagePage('Sign in a psql session', 'This link was already used or has expired.', s), 409);
      deps.log.info({ event: approve ? 'link_approved' : 'link_refused', user: s.user }, 'link login decided');
      return html(
        reply,
        messagePage(
          'Sign in a psql session',
          approve ? 'Approved. You can go back to your terminal.' : 'Refused. The psql session will be told.',
          s,
        ),
      );
    },
  );

  // ---- CLI sign-in ------------------------------------------------------------------

  const cliTtl = parseDuration('60s');
  const issueForCli = async (s: WebSession, how: string) => {
    const issued = await deps.tokens.issue({ user: s.user, groups: s.groups, issuedBy: how });
    return deps.vault.sealInternal('cli-token', Buffer.from(issued.token));
  };
  /**
   * What a redeemed CLI sign-in gets: the token and where to connect. The CA is named by its
   * URL (never the gateway's own path): `pgward login` fetches it into ~/.postgresql.
   */
  const cliResult = (token: string) => {
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as {
      sub: string;
      exp: number;
    };
    const database = deps.databases[0] ?? 'postgres';
    return {
      token,
      user: claims.sub,
      expiresAt: new Date(claims.exp * 1000).toISOString(),
      host: deps.pg.host,
      port: deps.pg.port,
      database,
      caUrl: deps.pg.caPath ? `${deps.publicUrl}/ca.crt` : null,
      psql: psqlWithoutToken(connectLines(deps.pg, claims.sub, database, token)),
    };
  };

  /** The loopback port and state of a CLI sign-in request, or null when malformed. */
  const cliRequest = (q: { port?: unknown; state?: unknown }): { port: number; state: string } | null => {
    const port = Number(q.port);
    const state = typeof q.state === 'string' ? q.state : '';
    return Number.isInteger(port) && port >= 1024 && port <= 65535 && /^[\w-]{16,128}$/.test(state)
      ? { port, state }
      : null;
  };

  // A GET only shows what is asking: a token is minted when the signed-in person confirms
  // (a POST with the session's CSRF token), so a link or a cross-site navigation cannot.
  app.get<{ Querystring: { port?: string; state?: string } }>('/cli/login', async (req, reply) => {
    const asked = cliRequest(req.query);
    if (!asked) return html(reply, messagePage('CLI sign-in', 'This sign-in request is malformed.'), 400);
    const s = await requireSession(req, reply);
    if (!s) return reply;
    return html(reply, cliConfirmPage(s, asked.port, asked.state));
  });

  app.post<{ Body: { csrf?: string; port?: string; state?: string; decision?: string } }>(
    '/cli/login',
    async (req, reply) => {
      const s = await requireSession(req, reply);
      if (!s) return reply;
      if (!checkCsrf(s, req.body))
        return html(reply, messagePage('CLI sign-in', 'This form has expired; reload the page.', s), 403);
      const asked = cliRequest(req.body);
      if (!asked) return html(reply, messagePage('CLI sign-in', 'This sign-in request is malformed.', s), 400);
      if (req.body.decision !== 'confirm')
        return html(reply, messagePage('CLI sign-in', 'Cancelled. No token was issued to the terminal.', s));
      const code = randomBytes(24).toString('base64url');
      await deps.identity.createCliGrant({
        codeHash: hashSecret(code),
        kind: 'loopback',
        userCode: null,
        expiresAt: new Date(Date.now() + cliTtl),
        approvedUser: s.user,
        approvedGroups: s.groups,
        tokenSealed: await issueForCli(s, 'cli-login'),
      });
      deps.log.info({ event: 'cli_login_confirmed', user: s.user, port: asked.port }, 'CLI sign-in confirmed');
      // Only the loopback interface: the code must never leave this machine. 303: followed with a GET.
      return reply.redirect(
        `http://127.0.0.1:${asked.port}/callback?code=${encodeURIComponent(code)}&state=${encodeURIComponent(asked.state)}`,
        303,
      );
    },
  );

  const redeem = async (code: unknown, reply: FastifyReply) => {
    if (typeof code !== 'string' || code.length > 200) return reply.code(400).send({ error: 'invalid_request' });
    const grant = await deps.identity.redeemCliGrant(hashSecret(code));
    if (!grant) return null;
    return cliResult(deps.vault.openInternal('cli-token', grant.tokenSealed).toString('utf8'));
  };

  app.post<{ Body: { code?: string } }>('/cli/token', async (req, reply) => {
    const result = await redeem(req.body?.code, reply);
    if (reply.sent) return reply;
    return result ? result : reply.code(400).send({ error: 'invalid_grant' });
  });

  app.post('/cli/device', async () => {
    const deviceCode = randomBytes(24).toString('base64url');
    const alphabet = 'BCDFGHJKLMNPQRSTVWXZ';
    const raw = Array.from(randomBytes(8), (b) => alphabet[b % alphabet.length]).join('');
    const userCode = `${raw.slice(0, 4)}-${raw.slice(4)}`;
    await deps.identity.createCliGrant({
      codeHash: hashSecret(deviceCode),
      kind: 'device',
      userCode,
      expiresAt: new Date(Date.now() + 600_000),
    });
    return {
      device_code: deviceCode,
      user_code: userCode,
      verification_uri: `${deps.publicUrl}/device`,
      verification_uri_complete: `${deps.publicUrl}/device?user_code=${userCode}`,
      expires_in: 600,
      interval: 2,
    };
  });

  app.post<{ Body: { device_code?: string } }>('/cli/device/token', async (req, reply) => {
    const code = req.body?.device_code;
    if (typeof code !== 'string') return reply.code(400).send({ error: 'invalid_request' });
    const grant = await deps.identity.cliGrant(hashSecret(code));
    if (!grant || grant.kind !== 'device' || grant.expiresAt.getTime() < Date.now())
      return reply.code(400).send({ error: 'expired_token' });
    if (!grant.approvedUser) return reply.code(400).send({ error: 'authorization_pending' });
    const result = await redeem(code, reply);
    return result ?? reply.code(400).send({ error: 'invalid_grant' });
  });

  app.get<{ Querystring: { user_code?: string } }>('/device', async (req, reply) => {
    const s = await requireSession(req, reply);
    if (!s) return reply;
    return html(reply, devicePage(s, normalizeUserCode(req.query.user_code ?? ''), null));
  });

  app.post<{ Body: { csrf?: string; user_code?: string } }>('/device', async (req, reply) => {
    const s = await requireSession(req, reply);
    if (!s) return reply;
    if (!checkCsrf(s, req.body))
      return html(reply, messagePage('Sign in a device', 'This form has expired; reload the page.', s), 403);
    const userCode = normalizeUserCode(req.body.user_code);
    const grant = await deps.identity.cliGrantByUserCode(userCode);
    if (!grant || grant.kind !== 'device' || grant.expiresAt.getTime() < Date.now() || grant.approvedUser) {
      return html(reply, devicePage(s, userCode, 'That code is not valid or has expired.'), 400);
    }
    await deps.identity.approveDeviceGrant(grant.codeHash, s.user, s.groups, await issueForCli(s, 'cli-device'));
    return html(reply, messagePage('Sign in a device', 'Done. Your terminal is signed in.', s));
  });

  /** The token signs itself out: `pgward logout` sends it as a bearer token. */
  app.post('/cli/logout', async (req, reply) => {
    const auth = req.headers.authorization ?? '';
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    try {
      const who = await verifyToken(token, deps.keys.publicJwks(), deps.config.auth);
      await deps.tokens.revoke(who.jti, 'signed out with the CLI');
      return { revoked: who.jti };
    } catch {
      return reply.code(401).send({ error: 'invalid_token' });
    }
  });

  await registerConsoleApi(
    app,
    {
      config: deps.config,
      log: deps.log,
      store: deps.store,
      vault: deps.vault,
      tokens: deps.tokens,
      keys: deps.keys,
      policy: deps.policy,
      live: deps.live,
      publicUrl: deps.publicUrl,
      pg: deps.pg,
    },
    session,
  );
  const metricsGuard = metricsAccess(deps.config);
  deps.log.info({ event: 'metrics_access', mode: metricsGuard.mode }, 'metrics access');
  registerMetrics(app, deps.metrics, metricsGuard);
  // Rows of sessions that ended or expired over a week ago; a failure here only delays it.
  void new ConsoleSessionQueries(deps.store).purge().catch(() => undefined);
  await registerConsolePages(app, { config: deps.config }, session, html);
  // Browsers get an HTML 404 (with the nav when signed in); the API and programs keep JSON.
  registerNotFoundPage(app, async (req) => {
    const s = await session(req);
    return s && { user: s.user, csrf: s.csrf, roles: sessionRoles(s, deps.config).held };
  });
  app.decorate('apiRoutes', apiRoutes);

  return app;
}

/**
 * A device code as typed: any case, with or without the dash, spaces or a dash of another
 * kind (a phone's keyboard) around it. Stored codes are ABCD-EFGH over a 20-letter alphabet.
 */
export function normalizeUserCode(typed: unknown): string {
  const letters = String(typed ?? '')
    .toUpperCase()
    .replace(/[^A-Z]/g, '')
    .slice(0, 8);
  return letters.length === 8 ? `${letters.slice(0, 4)}-${letters.slice(4)}` : letters;
}

function linkProblem(
  link: { username: string; expiresAt: Date; approvedAt: Date | null; refusedAt: Date | null; usedAt: Date | null },
  s: WebSession,
): string | null {
  if (link.usedAt || link.approvedAt || link.refusedAt) return 'This link was already used.';
  if (link.expiresAt.getTime() < Date.now()) return 'This link has expired. Connect again to get a new one.';
  if (link.username !== s.user)
    return `This session asked to sign in as "${link.username}", but you are signed in as "${s.user}".`;
  return null;
}
