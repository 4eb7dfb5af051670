import { execFile } from 'node:child_process';
import { access, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { loadConfigFile } from '../config/load.js';
import { caFileName } from '../web/connect-lines.js';

/**
 * Which console `pgward login`, `logout` and `connect` talk to, whether it answers, what a
 * sign-in left behind (logins.json, no secrets) and the CA it installs (docs/login.md).
 */

export class LoginError extends Error {
  override name = 'LoginError';
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

export async function writeLogins(path: string, records: LoginRecords): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, JSON.stringify(records, null, 2) + '\n', { mode: 0o600 });
}

export const normalizeGateway = (url: string): string => {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new LoginError(`not a URL: ${url}`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new LoginError('the console URL must be http(s)');
  return u.origin;
};

/** How long the console has to answer before the CLI says it cannot be reached. */
export const REACH_TIMEOUT_MS = 5_000;

export const unreachable = (origin: string, err: unknown, from?: string): LoginError => {
  const e = err as { name?: string; cause?: { code?: string } };
  const why = e.name === 'TimeoutError' ? `no answer in ${REACH_TIMEOUT_MS / 1000} s` : (e.cause?.code ?? String(err));
  return new LoginError(
    `cannot reach the pgward console at ${origin} (${why})${from ? `; that address came from ${from}` : ''}.` +
      ' Is the gateway running? Name its console with --gateway URL, or run this in the folder of its pgward.yaml (or pass --config).',
  );
};

/** Before waiting minutes for a browser: the console answers its health check now, or we say so. */
export async function checkReachable(gateway: string, from: string): Promise<void> {
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
export function localPsqlMajor(): Promise<number | null> {
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
export async function installCa(caUrl: string, host: string, env: NodeJS.ProcessEnv): Promise<string> {
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
