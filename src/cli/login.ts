import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { connectLines, psqlWithoutToken, systemRootcert, type CaTrust } from '../web/connect-lines.js';
import { pgpassPath, removePgpass, upsertPgpass } from '../util/pgpass.js';
import {
  checkReachable,
  installCa,
  LoginError,
  REACH_TIMEOUT_MS,
  loginsPath,
  localPsqlMajor,
  readLogins,
  resolveConsole,
  unreachable,
  writeLogins,
} from './login-console.js';
import { removeService, serviceName, upsertService } from './pg-service.js';

/** What the console hands the CLI for a redeemed sign-in (POST /cli/token). */
const cliResultSchema = z.object({
  token: z.string().min(1),
  user: z.string().min(1),
  expiresAt: z.string(),
  host: z.string().min(1),
  port: z.number().int(),
  database: z.string(),
  /** Where the CA to trust is served; null: the certificate chains to a public CA. */
  caUrl: z.string().nullable().optional(),
  psql: z.string(),
});
export type CliLoginResult = z.infer<typeof cliResultSchema>;

const deviceStartSchema = z.object({
  device_code: z.string(),
  user_code: z.string(),
  verification_uri: z.string(),
  verification_uri_complete: z.string(),
  expires_in: z.number(),
  interval: z.number(),
});

export { LoginError, loginsPath, readLogins, resolveConsole } from './login-console.js';

export interface LoginOptions {
  /** The console URL as given (-g, PGWARD_URL); else the config's, else the one last used. */
  gateway?: string | undefined;
  /** The gateway's configuration file (--config); else ./pgward.yaml when there is one. */
  config?: string | undefined;
  /** Device authorization grant: print a code for a browser elsewhere. */
  device?: boolean;
  /** Open the browser (loopback flow); otherwise only print the URL. */
  open?: boolean;
  /** How to open a URL; the default starts the desktop's browser. */
  openUrl?: (url: string) => void;
  say?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

function defaultOpen(url: string): void {
  const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  const child = spawn(cmd, [url], { stdio: 'ignore', detached: true });
  child.on('error', () => undefined);
  child.unref();
}

async function postJson(
  url: string,
  body: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: unknown }> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(REACH_TIMEOUT_MS),
    });
  } catch (err) {
    throw unreachable(new URL(url).origin, err);
  }
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    // a proxy's HTML error page, say: reported by status below
  }
  return { status: res.status, json };
}

/** Loopback flow (RFC 8252): the browser brings a one-time code back to 127.0.0.1. */
async function loopbackLogin(gateway: string, opts: LoginOptions, say: (l: string) => void): Promise<CliLoginResult> {
  const state = randomBytes(24).toString('base64url');
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `${gateway}/cli/login?port=${port}&state=${state}`;
  say(`Sign in at: ${url}`);
  if (opts.open !== false || opts.openUrl) (opts.openUrl ?? defaultOpen)(url);
  try {
    const code = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new LoginError('timed out waiting for the browser sign-in')),
        opts.timeoutMs ?? 300_000,
      );
      server.on('request', (req, res) => {
        const u = new URL(req.url ?? '/', 'http://127.0.0.1');
        const done = (status: number, message: string): void => {
          res.writeHead(status, {
            'content-type': 'text/html; charset=utf-8',
            'cache-control': 'no-store',
            'referrer-policy': 'no-referrer',
          });
          res.end(`<!doctype html><meta charset="utf-8"><title>pgward</title><p>${message}</p>`);
        };
        if (u.pathname !== '/callback') return done(404, 'Not found.');
        const got = u.searchParams.get('code');
        if (u.searchParams.get('state') !== state || !got)
          return done(400, 'This sign-in does not belong to the waiting terminal.');
        done(200, 'Signed in. You can close this tab and go back to your terminal.');
        clearTimeout(timer);
        resolve(got);
      });
    });
    const { status, json } = await postJson(`${gateway}/cli/token`, { code });
    if (status !== 200) throw new LoginError(`the gateway refused the sign-in (${describeError(json, status)})`);
    return cliResultSchema.parse(json);
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

const describeError = (json: unknown, status: number): string =>
  typeof json === 'object' && json !== null && 'error' in json
    ? String((json as { error: unknown }).error)
    : `HTTP ${status}`;

/** Device authorization grant (RFC 8628) for machines with no browser. */
async function deviceLogin(gateway: string, opts: LoginOptions, say: (l: string) => void): Promise<CliLoginResult> {
  const started = await postJson(`${gateway}/cli/device`, {});
  if (started.status !== 200)
    throw new LoginError(`the gateway refused a device sign-in (${describeError(started.json, started.status)})`);
  const d = deviceStartSchema.parse(started.json);
  say(`To sign in, open ${d.verification_uri} in any browser and enter the code ${d.user_code}`);
  say(`  (or open ${d.verification_uri_complete})`);
  const until = Date.now() + Math.min(d.expires_in * 1000, opts.timeoutMs ?? Infinity);
  let interval = Math.max(1, d.interval) * 1000;
  while (Date.now() < until) {
    await new Promise((r) => setTimeout(r, interval));
    const { status, json } = await postJson(`${gateway}/cli/device/token`, { device_code: d.device_code });
    if (status === 200) return cliResultSchema.parse(json);
    const error = describeError(json, status);
    if (error === 'authorization_pending') continue;
    if (error === 'slow_down') {
      interval += 5_000;
      continue;
    }
    throw new LoginError(
      error === 'expired_token'
        ? 'the code expired before it was entered'
        : `the gateway refused the sign-in (${error})`,
    );
  }
  throw new LoginError('the code expired before it was entered');
}

/**
 * `pgward login`: signs in through the console, writes a ~/.pgpass entry (so plain `psql`
 * finds the token without it on any command line), installs the gateway's CA in ~/.postgresql
 * and writes a pg_service.conf entry naming both.
 */
export async function login(opts: LoginOptions): Promise<CliLoginResult & { pgpass: string; service: string }> {
  const say = opts.say ?? ((l: string) => process.stderr.write(l + '\n'));
  const env = opts.env ?? process.env;
  const target = await resolveConsole(opts, env);
  const gateway = target.url;
  await checkReachable(gateway, target.from);
  const got = opts.device ? await deviceLogin(gateway, opts, say) : await loopbackLogin(gateway, opts, say);
  const caFile = got.caUrl ? await installCa(got.caUrl, got.host, env) : null;
  const rootcert = caFile ?? systemRootcert(await localPsqlMajor(), existsSync);
  const trust: CaTrust = rootcert === 'system' ? { kind: 'system' } : { kind: 'file', clientPath: rootcert };
  const endpoint = { host: got.host, port: got.port, caPath: null };
  const result = { ...got, psql: psqlWithoutToken(connectLines(endpoint, got.user, got.database, got.token, trust)) };
  const pgpass = pgpassPath(env);
  const slot = { host: result.host, port: String(result.port), user: result.user };
  await upsertPgpass(pgpass, { ...slot, database: '*', password: result.token });
  const service = serviceName(result.host, result.port);
  await upsertService(env, service, {
    host: result.host,
    port: String(result.port),
    user: result.user,
    dbname: result.database,
    sslmode: 'verify-full',
    sslrootcert: rootcert,
  });
  const records = await readLogins(loginsPath(env));
  records[gateway] = {
    ...slot,
    expiresAt: result.expiresAt,
    database: result.database,
    caFile: rootcert === 'system' ? null : rootcert,
    at: new Date().toISOString(),
  };
  await writeLogins(loginsPath(env), records);
  say(`Signed in as ${result.user} until ${result.expiresAt}; the token is in ${pgpass}.`);
  if (caFile) say(`The gateway's CA is in ${caFile}.`);
  say(`Connect with: pgward connect ${result.database}`);
  say(`  or: psql "service=${service}"   (or: ${result.psql})`);
  return { ...result, pgpass, service };
}

/** `pgward logout`: revokes the token at the gateway and removes its ~/.pgpass and service entries. */
export async function logout(opts: {
  gateway?: string | undefined;
  config?: string | undefined;
  env?: NodeJS.ProcessEnv;
  say?: (l: string) => void;
}): Promise<{ revoked: boolean }> {
  const say = opts.say ?? ((l: string) => process.stderr.write(l + '\n'));
  const env = opts.env ?? process.env;
  const gateway = (await resolveConsole(opts, env)).url;
  const records = await readLogins(loginsPath(env));
  const rec = records[gateway];
  if (!rec) throw new LoginError(`not signed in to ${gateway}`);
  const token = await removePgpass(pgpassPath(env), rec);
  await removeService(env, serviceName(rec.host, Number(rec.port)));
  delete records[gateway];
  await writeLogins(loginsPath(env), records);
  if (token === null) {
    say(`No token for ${rec.user} was left in ${pgpassPath(env)}; nothing to revoke.`);
    return { revoked: false };
  }
  const { status } = await postJson(`${gateway}/cli/logout`, {}, { authorization: `Bearer ${token}` });
  // 401: the token had already expired or been revoked, which is what logout wants anyway.
  if (status !== 200 && status !== 401)
    throw new LoginError(`the gateway did not confirm the revocation (HTTP ${status}); the .pgpass entry is removed`);
  say(`Signed out ${rec.user}: the token is revoked and removed from ${pgpassPath(env)}.`);
  return { revoked: status === 200 };
}
