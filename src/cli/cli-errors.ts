/**
 * What the `pgward` command says when something goes wrong: one line naming the problem and,
 * where there is one, a hint naming the fix. Raw driver, file-system and parser errors are
 * turned into these here (toCliError) so no command prints an internal message or a stack.
 * Exit codes are documented in docs/cli.md.
 */

export const EXIT = {
  ok: 0,
  /** The command ran and failed (nothing reachable, a check that fails, a refused action). */
  failure: 1,
  /** The command line is wrong: unknown option, missing or malformed argument. */
  usage: 2,
  /** `policy explain`: the answer is a denial (the command itself worked). */
  denied: 3,
} as const;

export class CliError extends Error {
  override name = 'CliError';
  readonly hint: string | undefined;
  readonly exitCode: number;

  constructor(message: string, o: { hint?: string | undefined; exitCode?: number; cause?: unknown } = {}) {
    super(message, o.cause === undefined ? undefined : { cause: o.cause });
    this.hint = o.hint;
    this.exitCode = o.exitCode ?? EXIT.failure;
  }
}

/** The command line itself is wrong (exit 2). */
export class CliUsageError extends CliError {
  override name = 'CliUsageError';

  constructor(message: string, o: { hint?: string | undefined; cause?: unknown } = {}) {
    super(message, { ...o, exitCode: EXIT.usage });
  }
}

interface SystemError {
  code?: unknown;
  syscall?: unknown;
  path?: unknown;
  address?: unknown;
  port?: unknown;
  hostname?: unknown;
  message?: unknown;
  severity?: unknown;
  errors?: unknown;
  cause?: unknown;
}

const asSystem = (err: unknown): SystemError | null => (err && typeof err === 'object' ? (err as SystemError) : null);

/** A node system error with a code (ECONNREFUSED, ENOENT ...), looking into AggregateError and fetch's cause. */
function systemError(err: unknown, depth = 0): SystemError | null {
  const e = asSystem(err);
  if (!e || depth > 3) return null;
  if (typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) return e;
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors) {
      const found = systemError(inner, depth + 1);
      if (found) return found;
    }
  }
  return e.cause === undefined ? null : systemError(e.cause, depth + 1);
}

const where = (e: SystemError): string =>
  typeof e.address === 'string'
    ? `${e.address}${typeof e.port === 'number' ? `:${e.port}` : ''}`
    : typeof e.hostname === 'string'
      ? e.hostname
      : 'the server';

/** What is being reached, for messages about the network: "the store", "the console". */
export interface ErrorContext {
  /** e.g. "the store (PostgreSQL)"; default "the server". */
  peer?: string | undefined;
  /** The fix when the peer cannot be reached. */
  unreachableHint?: string | undefined;
}

function fromSystem(e: SystemError, ctx: ErrorContext): CliError | null {
  const path = typeof e.path === 'string' ? e.path : undefined;
  const peer = ctx.peer ?? where(e);
  switch (e.code) {
    case 'ENOENT':
      return new CliError(`no such file or directory: ${path ?? '?'}`, {
        hint: 'check the path (relative paths are read from the current directory)',
      });
    case 'EACCES':
    case 'EPERM':
      return new CliError(`permission denied: ${path ?? '?'}`, {
        hint: 'run as the user who owns it, or change its permissions',
      });
    case 'EISDIR':
      return new CliError(`${path ?? 'the path'} is a directory, a file was expected`);
    case 'ENOTDIR':
      return new CliError(`a part of ${path ?? 'the path'} is not a directory`);
    case 'ECONNREFUSED':
      return new CliError(`cannot reach ${peer}: nothing listens at ${where(e)}`, { hint: ctx.unreachableHint });
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new CliError(`cannot reach ${peer}: host ${typeof e.hostname === 'string' ? e.hostname : '?'} not found`, {
        hint: ctx.unreachableHint,
      });
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new CliError(`cannot reach ${peer}: ${where(e)} does not answer`, { hint: ctx.unreachableHint });
    case 'ECONNRESET':
      return new CliError(`${peer} closed the connection`, { hint: ctx.unreachableHint });
    default:
      return null;
  }
}

/** A PostgreSQL error from the store (node-postgres DatabaseError: severity and a SQLSTATE). */
function fromPostgres(e: SystemError): CliError | null {
  if (typeof e.code !== 'string' || !/^[0-9A-Z]{5}$/.test(e.code) || typeof e.severity !== 'string') return null;
  const msg = typeof e.message === 'string' ? e.message : '';
  const cls = e.code.slice(0, 2);
  if (cls === '28')
    return new CliError(`the store refused the login: ${msg}`, {
      hint: 'check the user and password in store.url (or PGWARD_STORE_URL)',
    });
  if (e.code === '3D000')
    return new CliError(`the store's database does not exist: ${msg}`, { hint: 'check the database in store.url' });
  if (e.code === '57P03') return new CliError('the store is starting up', { hint: 'try again in a few seconds' });
  if (cls === '22')
    return new CliUsageError(`a value is not in the form the store expects: ${msg}`, {
      hint: 'check the arguments (see --help)',
    });
  return new CliError(`the store answered ${e.code}: ${msg}`);
}

/** Any error, as the CLI reports it (the original kept as its cause, printed with PGWARD_DEBUG=1). */
export function toCliError(err: unknown, ctx: ErrorContext = {}): CliError {
  if (err instanceof CliError) return err;
  const translated = translate(err, ctx);
  translated.cause ??= err;
  return translated;
}

function translate(err: unknown, ctx: ErrorContext): CliError {
  const e = asSystem(err);
  if (e) {
    const pgErr = fromPostgres(e);
    if (pgErr) return pgErr;
    const sys = systemError(err);
    if (sys) {
      const known = fromSystem(sys, ctx);
      if (known) return known;
    }
  }
  if (err instanceof Error) {
    // Our own typed errors (ConfigError, VaultKeyError, PersonRoleError ...) carry readable messages.
    if (err.name === 'ConfigError') return new CliError(err.message, { hint: 'fix the configuration file' });
    if (err.name === 'VaultKeyError' && err.message.includes('failed authentication'))
      return new CliError(`the vault key does not open this store's secrets (${err.message})`, {
        hint: "use the gateway's own vault key: the same vault.keyFile, or the same value in the variable vault.keyEnv names",
      });
    if (err.name === 'VaultKeyError')
      return new CliError(err.message, {
        hint: "the CLI needs the gateway's vault key: vault.keyFile in the config, or the variable vault.keyEnv names",
      });
    if (err instanceof SyntaxError) return new CliError(`not valid JSON: ${err.message}`);
    return new CliError(err.message || err.name);
  }
  return new CliError(String(err));
}

/** The lines printed on stderr for an error. */
export function formatCliError(err: CliError, debug = false): string {
  const lines = [`pgward: ${err.message}`];
  if (err.hint) lines.push(`  hint: ${err.hint}`);
  if (debug && err.cause instanceof Error && err.cause.stack) lines.push(err.cause.stack);
  else if (debug && err.stack) lines.push(err.stack);
  return lines.join('\n') + '\n';
}
