/**
 * The pooled-session differences the regression suite shows, each reduced to two psql
 * sessions run one after the other (the second usually gets the first one's backend), directly
 * and through pgward with the pool on. Prints what each session saw; a line marked DIFFERS
 * is a way a pooled session is not a fresh backend.
 *
 *   npm run -s build && node dist/bench/regress/pool-probe.js
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureDevCertificates } from '../../src/tls/dev-ca.js';
import { startRegressGateway } from './gateway.js';
import { createRegressionDatabase, REGRESS_DB, startRegressServer } from './server.js';
import { prepareRegressTree, type RegressTree } from './tree.js';

const exec = promisify(execFile);

interface Probe {
  name: string;
  /** Startup settings both sessions connect with (pg_regress's). */
  env: Record<string, string>;
  first: string[];
  second: string[];
}

const PG_REGRESS_ENV = {
  PGTZ: 'America/Los_Angeles',
  PGDATESTYLE: 'Postgres, MDY',
  PGOPTIONS: '-c intervalstyle=postgres_verbose',
};

const probes: Probe[] = [
  {
    name: 'RESET returns to the connection-time value',
    env: PG_REGRESS_ENV,
    first: ['select 1'],
    second: [
      'set datestyle to ISO',
      'reset datestyle',
      'show datestyle',
      'set timezone to UTC',
      'reset timezone',
      'show timezone',
    ],
  },
  {
    name: "a setting changed and ended by one session is not the next one's",
    env: PG_REGRESS_ENV,
    first: ['set datestyle to ISO', 'set timezone to UTC'],
    second: ['show datestyle', 'show timezone', "select '2024-06-01 12:00'::timestamptz"],
  },
  {
    name: 'a library loaded by one session is not loaded in the next',
    env: PG_REGRESS_ENV,
    first: ['do $$ begin null; end $$'],
    second: ['set plpgsql.extra_foo_warnings = true', 'show plpgsql.extra_foo_warnings'],
  },
  {
    name: 'a temp namespace from one session does not exist in the next',
    env: PG_REGRESS_ENV,
    first: ['create temp table probe_t (a int)'],
    second: [
      "set search_path to 'pg_temp'",
      'begin',
      "select current_schema() ~ 'pg_temp' as is_temp",
      "prepare transaction 'probe_search'",
      "rollback prepared 'probe_search'",
    ],
  },
  {
    name: 'a new client is a new server session (pg_stat_database.sessions)',
    env: PG_REGRESS_ENV,
    first: ['select 1'],
    second: [
      'select sessions as s0 from pg_stat_database where datname = current_database() \\gset',
      '\\c',
      'select pg_stat_force_next_flush()',
      'select sessions > :s0 as counted from pg_stat_database where datname = current_database()',
    ],
  },
];

/** One psql session running the commands as a script (so \c and \gset work), errors shown and run past. */
async function psql(
  tree: RegressTree,
  ep: { port: number; user: string; password: string; caPath: string },
  env: Record<string, string>,
  commands: string[],
  dir: string,
): Promise<string> {
  const script = join(dir, `probe-${randomBytes(4).toString('hex')}.sql`);
  // SQL lines end with a semicolon; backslash commands end at the line's end.
  await writeFile(
    script,
    commands.map((c) => (c.startsWith('\\') || c.endsWith('\\gset') ? c : `${c};`)).join('\n') + '\n',
  );
  const args = [
    '-X',
    '-q',
    '-A',
    '-t',
    '-h',
    '127.0.0.1',
    '-p',
    String(ep.port),
    '-U',
    ep.user,
    '-d',
    REGRESS_DB,
    '-f',
    script,
  ];
  const r = await exec(join(tree.binDir, 'psql'), args, {
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      LD_LIBRARY_PATH: tree.libDir,
      PGPASSWORD: ep.password,
      PGSSLMODE: 'verify-full',
      PGSSLROOTCERT: ep.caPath,
      ...env,
    },
  }).catch((err: { stdout?: string; stderr?: string }) => ({ stdout: err.stdout ?? '', stderr: err.stderr ?? '' }));
  return (r.stdout + r.stderr)
    .trim()
    .replace(/psql:\S+?:\d+: /g, '')
    .replace(/\n+/g, ' | ');
}

async function main(): Promise<void> {
  const tree = await prepareRegressTree();
  const work = await mkdtemp(join(tmpdir(), 'pgward-probe-'));
  const certs = await ensureDevCertificates(join(work, 'certs'));
  const cluster = await startRegressServer(tree, join(work, 'pg'), certs, randomBytes(12).toString('hex'));
  try {
    await createRegressionDatabase(cluster);
    const gw = await startRegressGateway(cluster, certs, {
      dir: join(work, 'gw'),
      pool: true,
      logFile: join(work, 'gateway.log'),
    });
    try {
      const direct = {
        port: cluster.port,
        user: cluster.superuser,
        password: cluster.superuserPassword,
        caPath: certs.caCertPath,
      };
      const pooled = { port: gw.port, user: gw.user, password: gw.token, caPath: certs.caCertPath };
      for (const p of probes) {
        const seen: Record<string, string> = {};
        for (const [label, ep] of [
          ['direct', direct],
          ['pgward pool on', pooled],
        ] as const) {
          await psql(tree, ep, p.env, p.first, work);
          // The first session's backend is reset (DISCARD ALL) and back in the pool.
          await new Promise((r) => setTimeout(r, 300));
          seen[label] = await psql(tree, ep, p.env, p.second, work);
        }
        const same = seen['direct'] === seen['pgward pool on'];
        process.stdout.write(`\n${p.name}${same ? '' : '   DIFFERS'}\n  second session: ${p.second.join('; ')}\n`);
        for (const [label, out] of Object.entries(seen)) process.stdout.write(`  ${label.padEnd(15)} ${out}\n`);
      }
    } finally {
      await gw.close();
    }
  } finally {
    await cluster.destroy();
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`pool-probe: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(2);
});
