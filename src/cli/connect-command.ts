import { spawn, type StdioOptions } from 'node:child_process';
import type { Command } from 'commander';
import { parsePgpassLine, pgpassPath } from '../util/pgpass.js';
import { LoginError, loginsPath, readLogins, resolveConsole } from './login-console.js';

/** What `pgward connect` runs: psql with the conninfo, the token only in PGPASSWORD. */
export interface ConnectPlan {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

async function tokenFor(env: NodeJS.ProcessEnv, slot: { host: string; port: string; user: string }) {
  const { readFile } = await import('node:fs/promises');
  const text = await readFile(pgpassPath(env), 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const e = parsePgpassLine(line);
    if (e && e.host === slot.host && e.port === slot.port && e.user === slot.user && e.database === '*')
      return e.password;
  }
  return null;
}

/**
 * `pgward connect [DB] [-- psql options]`: the database of the last `pgward login` to this
 * console, with its token handed to psql through PGPASSWORD (never on a command line, where
 * `ps` would show it) and the CA login installed.
 */
export async function connectPlan(opts: {
  database?: string | undefined;
  gateway?: string | undefined;
  config?: string | undefined;
  psqlArgs?: string[];
  env?: NodeJS.ProcessEnv;
}): Promise<ConnectPlan> {
  const env = opts.env ?? process.env;
  const { url } = await resolveConsole(opts, env);
  const rec = (await readLogins(loginsPath(env)))[url];
  if (!rec) throw new LoginError(`not signed in to ${url}; run \`pgward login\` first`);
  if (Date.parse(rec.expiresAt) <= Date.now())
    throw new LoginError(`your sign-in to ${url} expired at ${rec.expiresAt}; run \`pgward login\` again`);
  const token = await tokenFor(env, rec);
  if (!token) throw new LoginError(`no token for ${rec.user} in ${pgpassPath(env)}; run \`pgward login\` again`);
  const database = opts.database ?? rec.database ?? 'postgres';
  const conninfo = [
    `host=${rec.host}`,
    `port=${rec.port}`,
    `dbname=${database}`,
    `user=${rec.user}`,
    'sslmode=verify-full',
    `sslrootcert=${rec.caFile ?? 'system'}`,
  ].join(' ');
  return { command: 'psql', args: [conninfo, ...(opts.psqlArgs ?? [])], env: { ...env, PGPASSWORD: token } };
}

/** Runs the plan; resolves with psql's exit code. */
export function runPlan(plan: ConnectPlan, stdio: StdioOptions = 'inherit'): Promise<number> {
  return new Promise((done, fail) => {
    const child = spawn(plan.command, plan.args, { env: plan.env, stdio });
    child.once('error', (err: NodeJS.ErrnoException) =>
      fail(
        err.code === 'ENOENT'
          ? new LoginError('psql is not installed (or not on PATH); install the PostgreSQL client')
          : err,
      ),
    );
    child.once('exit', (code, signal) => done(code ?? (signal ? 1 : 0)));
  });
}

/**
 * `pgward connect`, and the console `pgward login`/`logout` go to when -g is not given: the
 * gateway's config, else the last sign-in (commander tells a typed -g from its default).
 */
export function registerConnectCommands(program: Command, cfg: () => string | undefined): void {
  const typedGateway = (cmd: Command): string | undefined =>
    cmd.getOptionValueSource('gateway') === 'cli' ? (cmd.getOptionValue('gateway') as string) : undefined;
  program.commands
    .find((c) => c.name() === 'login')
    ?.action(async function (this: Command, o: { device?: boolean; open: boolean }) {
      const { login } = await import('./login.js');
      await login({ gateway: typedGateway(this), config: cfg(), device: o.device ?? false, open: o.open });
    });
  program.commands
    .find((c) => c.name() === 'logout')
    ?.action(async function (this: Command) {
      const { logout } = await import('./login.js');
      await logout({ gateway: typedGateway(this), config: cfg() });
    });
  program
    .command('connect')
    .description('run psql on a database with the token from `pgward login` (through PGPASSWORD, never argv)')
    .argument('[database]', 'database name (default: the one login named)')
    .argument('[psql-args...]', 'options for psql, after --')
    .option('-g, --gateway <url>', 'the console you signed in to (default: from the config, else the last sign-in)')
    .action(async (database: string | undefined, psqlArgs: string[], o: { gateway?: string }) => {
      const plan = await connectPlan({ database, gateway: o.gateway, config: cfg(), psqlArgs });
      process.exitCode = await runPlan(plan);
    });
}
