import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PostgresCluster } from '../store/postgres-launcher.js';
import { ensureDevCertificates, type DevCertificates } from '../tls/dev-ca.js';

export interface EmbeddedDefault {
  cluster: PostgresCluster;
  certs: DevCertificates;
  storeUrl: string;
  vaultKeyFile: string;
  demo: { target: string; database: string; role: string; password: string; readRole: string; readPassword: string };
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
export async function startEmbedded(root: string, certDir: string, log: (line: string) => void): Promise<EmbeddedDefault> {
  const home = resolve(root);
  await mkdir(home, { recursive: true, mode: 0o700 });
  const certs = await ensureDevCertificates(resolve(certDir));
  const superuserPassword = await persistentSecret(join(home, 'superuser.password'));
  log('starting the embedded PostgreSQL');
  const cluster = await PostgresCluster.start({
    dataDir: join(home, 'postgres'),
    superuserPassword,
    tls: { certPath: certs.certPath, keyPath: certs.keyPath, caPath: certs.caCertPath },
  });
  const exists = async (db: string): Promise<boolean> =>
    (await cluster.query(`select 1 from pg_database where datname = '${db}'`)).rows.length > 0;
  if (!(await exists('pgward'))) await cluster.query('create database pgward');
  if (!(await exists('demo'))) await cluster.query('create database demo');
  // A fresh upstream password every start: it lives only in the vault.
  const demoPassword = randomBytes(24).toString('hex');
  const role = 'demo_app';
  const roleExists = (await cluster.query(`select 1 from pg_roles where rolname = '${role}'`)).rows.length > 0;
  await cluster.query(`${roleExists ? 'alter' : 'create'} role ${role} login password '${demoPassword}'`);
  await cluster.query(`grant all on database demo to ${role}`);
  await cluster.query(`alter database demo owner to ${role}`);
  // The read-only role developers' grant maps to (see policies/demo.yaml).
  const readRole = 'demo_ro';
  const readPassword = randomBytes(24).toString('hex');
  const readExists = (await cluster.query(`select 1 from pg_roles where rolname = '${readRole}'`)).rows.length > 0;
  await cluster.query(`${readExists ? 'alter' : 'create'} role ${readRole} login password '${readPassword}'`);
  await cluster.query(`grant connect on database demo to ${readRole}`);
  await cluster.query(`grant pg_read_all_data to ${readRole}`);
  await cluster.query(
    `create table if not exists greetings (id serial primary key, message text not null);
     insert into greetings (message) select 'hello from the demo database behind pgward'
      where not exists (select 1 from greetings);
     alter table greetings owner to ${role};`,
    'demo',
  );
  return {
    cluster,
    certs,
    storeUrl: cluster.connectionString('pgward'),
    vaultKeyFile: join(home, 'vault.key'),
    demo: { target: 'demo', database: 'demo', role, password: demoPassword, readRole, readPassword },
  };
}
