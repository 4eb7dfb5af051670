import { spawn } from 'node:child_process';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a real client program (psql, pgbench) without blocking the event loop. */
export function run(
  cmd: string,
  args: string[],
  opts: {
    env?: Record<string, string>;
    input?: string;
    timeoutMs?: number;
    onSpawn?: (pid: number) => void;
    onStderr?: (text: string) => void;
  } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: { ...process.env, PGCONNECT_TIMEOUT: '20', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    // Decoded as a stream: a UTF-8 character split across two reads stays whole.
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (stdout += d));
    child.stderr.on('data', (d: string) => {
      stderr += d;
      opts.onStderr?.(stderr);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('spawn', () => opts.onSpawn?.(child.pid!));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.on('error', () => undefined); // a program that exits early closes its stdin
    child.stdin.end(opts.input ?? '');
  });
}

export interface ConnTarget {
  host: string;
  port: number;
  caPath: string;
}

/** A libpq connection string; extra key=value settings override the defaults. */
export function conninfo(t: ConnTarget, user: string, dbname: string, extra: Record<string, string> = {}): string {
  const settings: Record<string, string> = {
    host: t.host,
    port: String(t.port),
    user,
    dbname,
    sslmode: 'verify-full',
    sslrootcert: t.caPath,
    ...extra,
  };
  return Object.entries(settings)
    .map(([k, v]) => `${k}='${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`)
    .join(' ');
}

export function psql(
  t: ConnTarget,
  user: string,
  dbname: string,
  password: string | null,
  args: string[],
  opts: {
    extra?: Record<string, string>;
    input?: string;
    timeoutMs?: number;
    onSpawn?: (pid: number) => void;
    onStderr?: (text: string) => void;
    env?: Record<string, string>;
  } = {},
): Promise<RunResult> {
  return run('psql', ['-X', '-v', 'ON_ERROR_STOP=1', '-At', '-d', conninfo(t, user, dbname, opts.extra), ...args], {
    env: {
      ...(password === null ? { PGPASSWORD: '', PGPASSFILE: '/dev/null' } : { PGPASSWORD: password }),
      ...opts.env,
    },
    input: opts.input,
    timeoutMs: opts.timeoutMs,
    onSpawn: opts.onSpawn,
    onStderr: opts.onStderr,
  });
}
