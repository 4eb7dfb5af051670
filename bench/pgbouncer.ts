import { spawn, execFile } from 'node:child_process';
import { chmod, chown, copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** PgBouncer from Debian, installed on demand: the bar pgward is measured against. */
export async function ensurePgBouncer(): Promise<string> {
  const candidates = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer'];
  for (const c of candidates) {
    try {
      await exec(c, ['--version']);
      return c;
    } catch {
      // not installed here
    }
  }
  process.stderr.write('installing pgbouncer (apt-get)...\n');
  await exec('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'pgbouncer'], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  }).catch(async () => {
    await exec('apt-get', ['update', '-qq']);
    await exec('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'pgbouncer'], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  });
  // Debian's package starts its own instance on 6432; we run ours.
  await exec('service', ['pgbouncer', 'stop']).catch(() => undefined);
  for (const c of candidates) {
    try {
      await exec(c, ['--version']);
      return c;
    } catch {
      // keep looking
    }
  }
  throw new Error('pgbouncer is not available');
}

export interface PgBouncerOptions {
  binary: string;
  dir: string;
  port: number;
  upstream: { host: string; port: number; database: string; user: string; password: string; caPath: string };
  tls: { certPath: string; keyPath: string };
  poolSize: number;
  maxClientConn?: number;
}

/** Session-mode PgBouncer with client TLS and SCRAM, verify-full TLS upstream: pgward's setup. */
export async function startPgBouncer(o: PgBouncerOptions): Promise<{ stop(): Promise<void>; pid(): Promise<number> }> {
  // PgBouncer runs as the postgres user: give it its own copies of the TLS files.
  const cert = join(o.dir, 'server.crt');
  const key = join(o.dir, 'server.key');
  const ca = join(o.dir, 'ca.crt');
  await copyFile(o.tls.certPath, cert);
  await copyFile(o.tls.keyPath, key);
  await copyFile(o.upstream.caPath, ca);
  await chmod(key, 0o600);
  const ini = `[databases]
${o.upstream.database} = host=${o.upstream.host} port=${o.upstream.port} dbname=${o.upstream.database}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${o.port}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = ${join(o.dir, 'userlist.txt')}
pool_mode = session
max_client_conn = ${o.maxClientConn ?? 2000}
default_pool_size = ${o.poolSize}
client_tls_sslmode = require
client_tls_cert_file = ${cert}
client_tls_key_file = ${key}
server_tls_sslmode = verify-full
server_tls_ca_file = ${ca}
logfile = ${join(o.dir, 'pgbouncer.log')}
pidfile = ${join(o.dir, 'pgbouncer.pid')}
`;
  await writeFile(join(o.dir, 'pgbouncer.ini'), ini);
  await writeFile(join(o.dir, 'userlist.txt'), `"${o.upstream.user}" "${o.upstream.password}"\n`, { mode: 0o600 });
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const { stdout } = await exec('id', ['-u', 'postgres']);
    const { stdout: g } = await exec('id', ['-g', 'postgres']);
    for (const f of ['pgbouncer.ini', 'userlist.txt', 'server.crt', 'server.key', 'ca.crt', '.']) {
      await chown(join(o.dir, f), Number(stdout), Number(g));
    }
  }
  const args = [join(o.dir, 'pgbouncer.ini')];
  // Thousands of idle clients need more descriptors than the default soft limit of 1024.
  const command = `ulimit -n $(ulimit -Hn) 2>/dev/null; exec ${o.binary} ${args.join(' ')}`;
  const child = asRoot
    ? spawn('runuser', ['-u', 'postgres', '--', 'bash', '-c', command], { stdio: 'ignore' })
    : spawn('bash', ['-c', command], { stdio: 'ignore' });
  // Wait until it accepts connections.
  const net = await import('node:net');
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port: o.port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    // runuser's child: the newest pgbouncer process is ours.
    pid: async () => Number((await exec('pgrep', ['-n', '-x', 'pgbouncer'])).stdout.trim()),
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('close', r));
    },
  };
}
