import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { access, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { loadConfigFile } from '../config/load.js';
import { caFileName, connectLines, psqlWithoutToken, systemRootcert, type CaTrust } from '../web/connect-lines.js';
import { pgpassPath, removePgpass, upsertPgpass } from '../util/pgpass.js';
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

export class LoginError extends Error {
  override name = 'LoginError';
}

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

/** Where `pgward login` remembers which pgpass entry belongs to which gateway (no secrets in it). */
export function loginsPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env['XDG_CONFIG_HOME'] || join(env['HOME'] || homedir(), '.config');
  return join(base, 'pgward', 'logins.json');
}

const loginRecordSchema = z.record(
  z.string(),
  z.object({
    host: z.string(),
    port: z.string(),
    user: z.string(),
    expiresAt: z.string(),
    database: z.string().optional(),
    /** The installed CA (absolute path); null: the system's roots. */
    caFile: z.string().nullable().optional(),
    /** When this sign-in happened: the newest one is the console a bare `pgward login` uses. */
    at: z.string().optional(),
  }),
);
type LoginRecords = z.infer<typeof loginRecordSchema>;
export type LoginRecord = LoginRecords[string];

export async function readLogins(path: string): Promise<LoginRecords> {
  try {
    return loginRecordSchema.parse(JSON.parse(await readFile(path, 'utf8')));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new LoginError(`cannot read ${path}: ${(err as Error).message}`);
  }
}

async function writeLogins(path: string, records: LoginRecords): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, JSON.stringify(records, null, 2) + '\n', { mode: 0o600 });
}

const normalizeGateway = (url: string): string => {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new LoginError(`not a URL: ${url}`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new LoginError('the console URL must be http(s)');
  return u.origin;
};

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

/** How long the console has to answer before the CLI says it cannot be reached. */
const REACH_TIMEOUT_MS = 5_000;

const unreachable = (origin: string, err: unknown, from?: string): LoginError => {
  const e = err as { name?: string; cause?: { code?: string } };
  const why = e.name === 'TimeoutError' ? `no answer in ${REACH_TIMEOUT_MS / 1000} s` : (e.cause?.code ?? String(err));
  return new LoginError(
    `cannot reach the pgward console at ${origin} (${why})${from ? `; that address came from ${from}` : ''}.` +
      ' Is the gateway running? Name its console with --gateway URL, or run this in the folder of its pgward.yaml (or pass --config).',
  );
};

/** Before waiting minutes for a browser: the console answers its health check now, or we say so. */
async function checkReachable(gateway: string, from: string): Promise<void> {
  let res: Response;
  try {
    res = await fetch(`${gateway}/health`, { signal: AbortSignal.timeout(REACH_TIMEOUT_MS) });
  } catch (err) {
    throw unreachable(gateway, err, from);
  }
  const body = (await res.json().catch(() => null)) as { ok?: unknown } | null;
  if (res.status !== 200 || body?.ok !== true)
    throw new LoginError(`${gateway} (from ${from}) answers, but not as a pgward console (HTTP ${res.status})`);
}

/**
 * Which console to sign in to, and where that came from (for messages): --gateway, then
 * PGWARD_URL, then the gateway's config (--config, else ./pgward.yaml: web.publicUrl, else
 * web.host and web.port), then the console of the last sign-in, then the default port.
 */
export async function resolveConsole(
  opts: { gateway?: string | undefined; config?: string | undefined },
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ url: string; from: string }> {
  if (opts.gateway) return { url: normalizeGateway(opts.gateway), from: '--gateway' };
  if (env['PGWARD_URL']) return { url: normalizeGateway(env['PGWARD_URL']), from: 'PGWARD_URL' };
  const file =
    opts.config ??
    (await access('pgward.yaml').then(
      () => 'pgward.yaml',
      () => null,
    ));
  if (file) {
    const config = await loadConfigFile(file);
    if (config.web.publicUrl) return { url: normalizeGateway(config.web.publicUrl), from: `web.publicUrl in ${file}` };
    const host = ['0.0.0.0', '::', ''].includes(config.web.host) ? '127.0.0.1' : config.web.host;
    const shown = host.includes(':') ? `[${host}]` : host;
    return { url: `http://${shown}:${config.web.port}`, from: `web.host and web.port in ${resolve(file)}` };
  }
  const records = await readLogins(loginsPath(env));
  const last = Object.entries(records).sort(([, a], [, b]) => (b.at ?? '').localeCompare(a.at ?? ''))[0];
  if (last) return { url: last[0], from: `your last sign-in (${loginsPath(env)})` };
  return { url: 'http://127.0.0.1:8432', from: 'the default console address' };
}

/** The major version of the psql on PATH, or null when there is none or it does not say. */
function localPsqlMajor(): Promise<number | null> {
  return new Promise((done) => {
    execFile('psql', ['--version'], { timeout: 3_000 }, (err, stdout) => {
      const m = err ? null : /(\d+)(?:\.\d+)?/.exec(stdout);
      done(m ? Number(m[1]) : null);
    });
  });
}

/** ~/.postgresql, where libpq keeps a user's certificates. */
const postgresqlDir = (env: NodeJS.ProcessEnv): string => join(env['HOME'] || homedir(), '.postgresql');

/** Fetches the gateway's CA into ~/.postgresql/pgward-<host>-ca.crt; the lines name that file. */
async function installCa(caUrl: string, host: string, env: NodeJS.ProcessEnv): Promise<string> {
  let pem: string;
  try {
    const res = await fetch(caUrl, { signal: AbortSignal.timeout(REACH_TIMEOUT_MS) });
    if (res.status !== 200) throw new LoginError(`the console did not hand out its CA (${caUrl}: HTTP ${res.status})`);
    pem = await res.text();
  } catch (err) {
    if (err instanceof LoginError) throw err;
    throw unreachable(new URL(caUrl).origin, err);
  }
  if (!/^-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----\s*$/.test(pem))
    throw new LoginError(`${caUrl} did not answer with a PEM certificate`);
  const dir = postgresqlDir(env);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, caFileName(host));
  const tmp = `${path}.pgward-${process.pid}`;
  await writeFile(tmp, pem, { mode: 0o644 });
  await rename(tmp, path);
  return path;
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
