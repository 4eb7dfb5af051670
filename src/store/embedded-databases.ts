import pg from 'pg';
import type { PostgresCluster } from './postgres-launcher.js';

export interface EmbeddedRoles {
  /** Owns the demo database (what the demo target's grants map to). */
  owner: { name: string; password: string };
  /** Reads everything, writes nothing (the read-only grant in policies/demo.yaml). */
  reader: { name: string; password: string };
  /** Creates each person's own login for owner and reader (target option personRoles). */
  provisioner?: { name: string; password: string } | undefined;
}

/**
 * The embedded setup's databases in its private cluster: the control plane (`pgward`) and
 * the demo upstream (`demo`) with its two roles, whose passwords are set anew every start
 * (they live only in the vault). Safe to run on every start.
 */
export async function prepareEmbeddedDatabases(cluster: PostgresCluster, roles: EmbeddedRoles): Promise<void> {
  const exists = async (
    catalog: 'pg_database' | 'pg_roles',
    column: 'datname' | 'rolname',
    name: string,
  ): Promise<boolean> =>
    (await cluster.query(`select 1 from ${catalog} where ${column} = ${pg.escapeLiteral(name)}`)).rows.length > 0;
  for (const db of ['pgward', 'demo']) {
    if (!(await exists('pg_database', 'datname', db)))
      await cluster.query(`create database ${pg.escapeIdentifier(db)}`);
  }
  const role = async (r: { name: string; password: string }): Promise<string> => {
    const id = pg.escapeIdentifier(r.name);
    await cluster.query(
      `${(await exists('pg_roles', 'rolname', r.name)) ? 'alter' : 'create'} role ${id} login password ${pg.escapeLiteral(r.password)}`,
    );
    return id;
  };
  const owner = await role(roles.owner);
  await cluster.query(`grant all on database demo to ${owner}`);
  await cluster.query(`alter database demo owner to ${owner}`);
  const reader = await role(roles.reader);
  await cluster.query(`grant connect on database demo to ${reader}`);
  await cluster.query(`grant pg_read_all_data to ${reader}`);
  if (roles.provisioner) {
    // CREATEROLE; from Postgres 16 on that alone no longer lets it grant a role: it needs
    // ADMIN OPTION on each granted role, given here without their privileges (INHERIT
    // FALSE) or the right to become them (SET FALSE). In 15 ADMIN OPTION would make it a
    // member of the database owner, and CREATEROLE is enough.
    const provisioner = await role(roles.provisioner);
    await cluster.query(`alter role ${provisioner} createrole`);
    if (cluster.binaries.version >= 16)
      await cluster.query(`grant ${owner}, ${reader} to ${provisioner} with admin true, inherit false, set false`);
  }
  await cluster.query(
    `create table if not exists greetings (id serial primary key, message text not null);
     insert into greetings (message) select 'hello from the demo database behind pgward'
      where not exists (select 1 from greetings);
     alter table greetings owner to ${owner};`,
    'demo',
  );
}
