import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Store } from '../../src/store/store.js';
import { superuserQuery, type ClusterInfo } from './gateway.js';

/** A migrated control-plane store in a fresh database of the test cluster, without a gateway. */
export async function openTestStore(cluster: ClusterInfo, opts: { max?: number } = {}): Promise<Store> {
  const db = `pgward_store_${randomBytes(4).toString('hex')}`;
  await superuserQuery(cluster, `create database ${db}`);
  const url = `postgresql://${cluster.superuser}:${encodeURIComponent(cluster.superuserPassword)}@${cluster.host}:${cluster.port}/${db}`;
  return Store.open({ connectionString: url, ca: await readFile(cluster.caPath, 'utf8'), max: opts.max });
}
