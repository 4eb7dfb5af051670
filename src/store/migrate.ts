import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';

/** SQL files are shipped next to the compiled code's source tree. */
const migrationsDir = fileURLToPath(new URL('../../../src/store/migrations/', import.meta.url));
const sourceMigrationsDir = fileURLToPath(new URL('./migrations/', import.meta.url));

async function migrationFiles(): Promise<{ dir: string; files: string[] }> {
  for (const dir of [sourceMigrationsDir, migrationsDir]) {
    try {
      const files = (await readdir(dir)).filter((f) => /^\d+_.+\.sql$/.test(f)).sort();
      if (files.length > 0) return { dir, files };
    } catch {
      // try the next location
    }
  }
  throw new Error('store migrations not found');
}

/**
 * Applies pending migrations in one transaction under an advisory lock, so several
 * gateways starting together against one store do not race.
 */
export async function migrate(pool: pg.Pool): Promise<string[]> {
  const { dir, files } = await migrationFiles();
  const client = await pool.connect();
  try {
    await client.query('begin');
    await client.query("select pg_advisory_xact_lock(hashtext('pgward.migrate'))");
    await client.query(
      'create table if not exists pgward_migrations (name text primary key, applied_at timestamptz not null default now())',
    );
    const done = new Set(
      (await client.query<{ name: string }>('select name from pgward_migrations')).rows.map((r) => r.name),
    );
    const applied: string[] = [];
    for (const file of files) {
      if (done.has(file)) continue;
      await client.query(await readFile(`${dir}${file}`, 'utf8'));
      await client.query('insert into pgward_migrations (name) values ($1)', [file]);
      applied.push(file);
    }
    await client.query('commit');
    return applied;
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
