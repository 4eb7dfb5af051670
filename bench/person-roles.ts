import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';

const exec = promisify(execFile);

/** One gateway target, with personRoles on or off, and how to get a token for a person. */
export interface PersonRolesSide {
  port: number;
  database: string;
  token(person: string): Promise<string>;
}

export interface LatencySummary {
  n: number;
  medianMs: number;
  p95Ms: number;
  maxMs: number;
}

export interface PersonRolesReport {
  /** Connect + `select 1` + end of a person never seen before: with personRoles this includes creating their login. */
  firstConnect: { off: LatencySummary; on: LatencySummary };
  /** The same people once more: their login exists (and their pool has the connection they left). */
  secondConnect: { off: LatencySummary; on: LatencySummary };
  /** PEOPLE people at once, each connecting per transaction (pgbench -C -c1 each): connects/s summed, median of the rounds. */
  manyPeople: {
    people: number;
    seconds: number;
    off: number;
    on: number;
    rounds: { off: number[]; on: number[] };
    failed: { off: number; on: number };
  };
}

function summary(ms: number[]): LatencySummary {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number): number => Math.round(s[Math.min(s.length - 1, Math.floor(q * s.length))]! * 100) / 100;
  return { n: s.length, medianMs: at(0.5), p95Ms: at(0.95), maxMs: at(1) };
}

/** Wall time of TLS + SCRAM login through the gateway, one statement, and the goodbye. */
async function timedSession(side: PersonRolesSide, ca: string, person: string, password: string): Promise<number> {
  const c = new pg.Client({
    host: '127.0.0.1',
    port: side.port,
    user: person,
    password,
    database: side.database,
    ssl: { ca, servername: 'localhost' },
  });
  const t0 = performance.now();
  await c.connect();
  await c.query('select 1');
  const ms = performance.now() - t0;
  await c.end();
  return ms;
}

async function pgbenchAs(
  side: PersonRolesSide,
  caPath: string,
  person: string,
  seconds: number,
): Promise<{ tps: number; failed: number }> {
  const { stdout } = await exec(
    'pgbench',
    ['-h', '127.0.0.1', '-p', String(side.port), '-U', person, '-S', '-C', '-M', 'simple', '-c', '1', '-j', '1'].concat(
      ['-T', String(seconds), side.database],
    ),
    {
      env: {
        ...process.env,
        PGPASSWORD: await side.token(person),
        PGSSLMODE: 'verify-full',
        PGSSLROOTCERT: caPath,
      },
    },
  );
  return {
    tps: Number(/tps = ([\d.]+)/.exec(stdout)?.[1] ?? NaN),
    failed: Number(/number of failed transactions: (\d+)/.exec(stdout)?.[1] ?? 0),
  };
}

/**
 * What per-person logins cost on connects. First connects of new people (off: the shared
 * role's warm pool; on: the login is created by the provisioner, then a fresh backend),
 * second connects of the same people, and PEOPLE people connecting per transaction at once
 * (off: one pool for all; on: one pool each).
 */
export async function measurePersonRoles(
  sides: { off: PersonRolesSide; on: PersonRolesSide },
  ca: string,
  caPath: string,
  opts: { newPeople: number; people: number; seconds: number; rounds: number },
  log: (line: string) => void,
): Promise<PersonRolesReport> {
  const stamp = Date.now().toString(36);
  const first = { off: [] as number[], on: [] as number[] };
  const second = { off: [] as number[], on: [] as number[] };
  const modes = ['off', 'on'] as const;
  // Off and on alternate person by person, so a change in the machine's load falls on both.
  const people = Array.from({ length: opts.newPeople }, (_, i) => `person-${stamp}-${i}`);
  const tokens = { off: new Map<string, string>(), on: new Map<string, string>() };
  for (const mode of modes) for (const p of people) tokens[mode].set(p, await sides[mode].token(p));
  log(`person roles: first and second connect of ${people.length} new people, off and on in turn`);
  for (const p of people)
    for (const mode of modes) first[mode].push(await timedSession(sides[mode], ca, p, tokens[mode].get(p)!));
  for (const p of people)
    for (const mode of modes) second[mode].push(await timedSession(sides[mode], ca, p, tokens[mode].get(p)!));
  const many = { off: 0, on: 0, failed: { off: 0, on: 0 } };
  const crowd = Array.from({ length: opts.people }, (_, i) => `person-${stamp}-many-${i}`);
  // A warm-up connect each, so the "on" run measures steady state, not the first provisioning.
  for (const mode of modes) for (const p of crowd) await timedSession(sides[mode], ca, p, await sides[mode].token(p));
  const rounds = { off: [] as number[], on: [] as number[] };
  for (let round = 0; round < opts.rounds; round++) {
    for (const mode of round % 2 ? [...modes].reverse() : modes) {
      log(`person roles ${mode}: ${crowd.length} people, pgbench -C -c1 each, ${opts.seconds}s (round ${round + 1})`);
      const runs = await Promise.all(crowd.map((p) => pgbenchAs(sides[mode], caPath, p, opts.seconds)));
      rounds[mode].push(Math.round(runs.reduce((n, r) => n + r.tps, 0)));
      many.failed[mode] += runs.reduce((n, r) => n + r.failed, 0);
    }
  }
  for (const mode of modes) many[mode] = [...rounds[mode]].sort((a, b) => a - b)[Math.floor(rounds[mode].length / 2)]!;
  return {
    firstConnect: { off: summary(first.off), on: summary(first.on) },
    secondConnect: { off: summary(second.off), on: summary(second.on) },
    manyPeople: { people: opts.people, seconds: opts.seconds, ...many, rounds },
  };
}
