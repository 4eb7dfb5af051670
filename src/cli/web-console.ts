import net from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { GatewayConfig, OidcConfig } from '../config/schema.js';
import type { DevIdp, DevUser } from '../identity/dev-idp.js';
import { OidcSso } from '../identity/oidc-sso.js';
import type { Logger } from '../util/logger.js';
import type { PgEndpoint } from '../web/connect-lines.js';
import type { PolicySet } from '../policy/schema.js';
import type { LiveSessions } from '../web/console-api.js';
import { buildWebApp } from '../web/server.js';
import type { ControlPlane } from './control-plane.js';

/** Where the console will listen and the URL browsers use, fixed before anything starts. */
export interface ConsolePlan {
  host: string;
  port: number;
  publicUrl: string;
  /**
   * A port picked by the system (web.port 0) stays held by a placeholder listener until the
   * console listens on it, so nothing else (a parallel test, another service) takes it while
   * the gateway and the identity provider start with its URL.
   */
  release?: () => Promise<void>;
}

async function heldPort(host: string): Promise<{ port: number; release: () => Promise<void> }> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  // Holding the port must not keep a process alive whose start failed before the console.
  server.unref();
  return { port, release: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/**
 * The public URL must be known before the gateway starts (link-login notices carry it)
 * and before the identity provider starts (it pins the redirect URI).
 */
export async function planConsole(config: GatewayConfig): Promise<ConsolePlan> {
  const host = config.web.host;
  const held = config.web.port === 0 ? await heldPort(host) : null;
  const port = held?.port ?? config.web.port;
  const shown = host.includes(':') ? `[${host}]` : host;
  const publicUrl = (config.web.publicUrl ?? `http://${shown}:${port}`).replace(/\/+$/, '');
  return { host, port, publicUrl, ...(held ? { release: held.release } : {}) };
}

export interface WebConsole {
  url: string;
  app: FastifyInstance;
  /** The in-process identity provider when no external issuer is configured and devIdp was asked for. */
  devIdp: DevIdp | null;
  close(): Promise<void>;
}

export interface WebConsoleOptions {
  plan: ConsolePlan;
  config: GatewayConfig;
  cp: ControlPlane;
  log: Logger;
  pg: PgEndpoint;
  /** Start the development identity provider when config.oidc is absent. */
  devIdp: boolean;
  policy: { current(): PolicySet };
  /** The gateway in this process, for live sessions and /metrics. */
  gateway: {
    registry: LiveSessions;
    metrics: { registry: { metrics(): Promise<string>; contentType: string } };
  } | null;
  devUsers?: DevUser[];
}

/** The console with its single sign-on: the configured issuer, or the development one. */
export async function startWebConsole(opts: WebConsoleOptions): Promise<WebConsole> {
  const { plan, config, cp, log } = opts;
  let devIdp: DevIdp | null = null;
  let oidcConfig: OidcConfig | undefined = config.oidc;
  if (!oidcConfig && opts.devIdp) {
    // Loaded only when used: oidc-provider is a development-time part.
    const { startDevIdp } = await import('../identity/dev-idp.js');
    devIdp = await startDevIdp({ redirectUris: [`${plan.publicUrl}/auth/callback`], users: opts.devUsers });
    oidcConfig = {
      issuer: devIdp.issuer,
      clientId: devIdp.clientId,
      clientSecret: devIdp.clientSecret,
      scopes: ['openid', 'profile', 'email', 'groups'],
      usernameClaim: 'preferred_username',
      emailClaim: 'email',
      groupsClaim: 'groups',
      groupMap: {},
      allowInsecureIssuer: true,
    };
  }
  try {
    const sso = oidcConfig ? await OidcSso.discover(oidcConfig, `${plan.publicUrl}/auth/callback`) : null;
    const app = await buildWebApp({
      config,
      log,
      vault: cp.vault,
      tokens: cp.tokens,
      keys: cp.keys,
      identity: cp.identity,
      sso,
      pg: opts.pg,
      publicUrl: plan.publicUrl,
      databases: Object.keys(config.targets),
      store: cp.store,
      policy: opts.policy,
      live: opts.gateway?.registry ?? null,
      metrics: opts.gateway?.metrics ?? null,
    });
    await plan.release?.();
    await app.listen({ host: plan.host, port: plan.port });
    log.info({ event: 'console_listening', url: plan.publicUrl, sso: oidcConfig?.issuer ?? null }, 'console listening');
    return {
      url: plan.publicUrl,
      app,
      devIdp,
      close: async () => {
        await app.close();
        await devIdp?.close();
      },
    };
  } catch (err) {
    await plan.release?.();
    await devIdp?.close();
    throw err;
  }
}
