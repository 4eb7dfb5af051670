import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { prepareEmbeddedDatabases } from '../store/embedded-databases.js';
import { PostgresCluster } from '../store/postgres-launcher.js';
import { ensureDevCertificates, type DevCertificates } from '../tls/dev-ca.js';
import { commandLine, processAlive } from './state-file.js';

export interface EmbeddedDefault {
  cluster: PostgresCluster;
  certs: DevCertificates;
  storeUrl: string;
  vaultKeyFile: string;
  demo: {
    target: string;
    database: string;
    role: string;
    password: string;
    readRole: string;
    readPassword: string;
    /** Creates each person's own upstream login (personRoles is on for the demo target). */
    provisioner: string;
    provisionerPassword: string;
  };
}

async function persistentSecret(path: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    const secret = randomBytes(24).toString('hex');
    await writeFile(path, secret + '\n', { mode: 0o600, flag: 'wx' });
    return secret;
  }
}

/**
 * The batteries-included setup behind `npm start`: a private Postgres (control plane and
 * a demo upstream database) in a data folder, development certificates, a vault key.
 */
export async function startEmbedded(
  root: string,
  certDir: string,
  log: (line: string) => void,
): Promise<EmbeddedDefault> {
  const home = resolve(root);
  await mkdir(home, { recursive: true, mode: 0o700 });
  const certs = await ensureDevCertificates(resolve(certDir));
  const superuserPassword = await persistentSecret(join(home, 'superuser.password'));
  const dataDir = join(home, 'postgres');
  await clearStalePostgres(dataDir, log);
  log('starting the embedded PostgreSQL');
  const cluster = await PostgresCluster.start({
    dataDir,
    superuserPassword,
    tls: { certPath: certs.certPath, keyPath: certs.keyPath, caPath: certs.caCertPath },
  });
  try {
    return await prepare(cluster, certs, home);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitGone(pid: number, ms: number): Promise<boolean> {
  for (const until = Date.now() + ms; Date.now() < until; await sleep(100)) if (!processAlive(pid)) return true;
  return !processAlive(pid);
}

/**
 * A pgward that crashed or was killed (SIGKILL, OOM) leaves its Postgres running: pg_ctl
 * detaches it. The caller holds the folder's start lock, so no live pgward owns this data
 * folder, and a postmaster still running on it is an orphan: stopped here (fast shutdown,
 * then immediate) instead of failing later with "PostgreSQL did not start" and its log.
 * A postmaster.pid whose pid is gone or now belongs to another program is removed, since
 * Postgres refuses to start while any process has that pid.
 */
export async function clearStalePostgres(dataDir: string, log: (line: string) => void): Promise<void> {
  const pidFile = join(dataDir, 'postmaster.pid');
  const lines = await readFile(pidFile, 'utf8').then(
    (t) => t.split('\n'),
    () => null,
  );
  if (!lines) return;
  const pid = Number(lines[0]);
  const cmd = processAlive(pid) ? await commandLine(pid) : null;
  const isOurs = cmd !== null && /postgres/.test(cmd) && cmd.includes(dataDir);
  if (!isOurs) {
    log(`removing ${pidFile}: left by a PostgreSQL (pid ${lines[0]}) that is no longer running`);
    await rm(pidFile, { force: true });
    return;
  }
  log(
    `stopping the embedded PostgreSQL (pid ${pid}, port ${lines[3] ?? '?'}) left running by an earlier pgward start that did not stop it`,
  );
  process.kill(pid, 'SIGINT');
  if (await waitGone(pid, 30_000)) return;
  process.kill(pid, 'SIGQUIT');
  if (!(await waitGone(pid, 10_000)))
    throw new Error(`the PostgreSQL left running on ${dataDir} (pid ${pid}) does not stop; stop it and start again`);
}

async function prepare(cluster: PostgresCluster, certs: DevCertificates, home: string): Promise<EmbeddedDefault> {
  // Fresh upstream passwords every start: they live only in the vault.
  const role = 'demo_app';
  const demoPassword = randomBytes(24).toString('hex');
  const readRole = 'demo_ro';
  const readPassword = randomBytes(24).toString('hex');
  const provisioner = 'pgward_provisioner';
  const provisionerPassword = randomBytes(24).toString('hex');
  await prepareEmbeddedDatabases(cluster, {
    owner: { name: role, password: demoPassword },
    reader: { name: readRole, password: readPassword },
    provisioner: { name: provisioner, password: provisionerPassword },
  });
  return {
    cluster,
    certs,
    storeUrl: cluster.connectionString('pgward'),
    vaultKeyFile: join(home, 'vault.key'),
    demo: {
      target: 'demo',
      database: 'demo',
      role,
      password: demoPassword,
      readRole,
      readPassword,
      provisioner,
      provisionerPassword,
    },
  };
}
