import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { prepareEmbeddedDatabases } from '../store/embedded-databases.js';
import { PostgresCluster } from '../store/postgres-launcher.js';
import { ensureDevCertificates, type DevCertificates } from '../tls/dev-ca.js';

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
  log('starting the embedded PostgreSQL');
  const cluster = await PostgresCluster.start({
    dataDir: join(home, 'postgres'),
    superuserPassword,
    tls: { certPath: certs.certPath, keyPath: certs.keyPath, caPath: certs.caCertPath },
  });
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
