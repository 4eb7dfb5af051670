import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { conninfo, type RunResult } from '../harness/clients.js';
import { run } from '../harness/clients.js';
import type { MatrixRun } from './matrix.js';
import { md5, TEN_MB, type Check } from './node-checks.js';

/** psql with verify-full and SCRAM, reading a script from stdin; SQLSTATEs instead of messages. */
function psql(
  r: MatrixRun,
  script: string,
  opts: {
    extra?: Record<string, string>;
    quiet?: boolean;
    stopOnError?: boolean;
    onSpawn?: (pid: number) => void;
  } = {},
): Promise<RunResult> {
  const args = [
    '-X',
    '-At',
    ...(opts.quiet === false ? [] : ['-q']),
    '-v',
    `ON_ERROR_STOP=${opts.stopOnError === false ? 0 : 1}`,
    '-v',
    'VERBOSITY=sqlstate',
    '-d',
    conninfo(r, r.user, r.database, opts.extra),
  ];
  return run('psql', args, {
    env: { PGPASSWORD: r.password, PGPASSFILE: '/dev/null' },
    input: script,
    timeoutMs: 120_000,
    onSpawn: opts.onSpawn,
  });
}

/** The SQLSTATEs psql printed (VERBOSITY sqlstate: "ERROR:  22012"). */
const errors = (stderr: string): string[] => [...stderr.matchAll(/ERROR:\s+([0-9A-Z]{5})/g)].map((m) => m[1]!);

/** stdout when psql succeeded, else its first SQLSTATE (or its stderr). */
function outcome(res: RunResult, ok: (stdout: string) => string): string {
  if (res.code === 0) return ok(res.stdout);
  return errors(res.stderr)[0] ?? `error: ${res.stderr.trim()}`;
}

const lines = (s: string): string[] => s.split('\n').filter((l) => l !== '');

export const psqlChecks: Record<string, Check> = {
  login: async (r) => outcome(await psql(r, 'select current_user is not null;'), (o) => o.trim()),
  parameters: async (r) =>
    outcome(
      await psql(r, "\\set a 42\n\\set b 'café ✓'\nselect :a::int4 + 1, :'b'::text, length('\\x0001ff'::bytea);"),
      (o) => o.trim(),
    ),
  transactions: async (r) =>
    outcome(
      await psql(
        r,
        `begin;\ninsert into ${r.table} (id, v) values (1, 'rolled back');\nrollback;\nselect count(*) from ${r.table} where id = 1;\n` +
          `begin;\ninsert into ${r.table} (id, v) values (1, 'committed');\ncommit;\nselect count(*) from ${r.table} where id = 1;`,
      ),
      (o) => {
        const [a, b] = lines(o);
        return `rollback ${a}, commit ${b}`;
      },
    ),
  'error then reuse': async (r) => {
    const res = await psql(r, 'select 1/0;\nbegin;\nselect 1/0;\nselect 1;\nrollback;\nselect 3;', {
      stopOnError: false,
    });
    return [...errors(res.stderr), ...lines(res.stdout)].join(',');
  },
  'large value': async (r) => {
    const res = await psql(
      r,
      `select length(t), md5(t) from (select '${'x'.repeat(TEN_MB)}'::text as t) s;\nselect repeat('y', 10485760);`,
    );
    return outcome(res, (o) => {
      const [sent, back] = lines(o);
      return `${sent}|${back!.length}|${md5(back!)}`;
    });
  },
  '100k rows': async (r) =>
    outcome(await psql(r, '\\set FETCH_COUNT 1000\nselect g, md5(g::text) from generate_series(1, 100000) g;'), (o) => {
      const rows = lines(o);
      return `${rows.length}|${rows.reduce((s, l) => s + Number(l.split('|')[0]), 0)}`;
    }),
  'copy out': async (r) =>
    outcome(
      await psql(r, "copy (select g, 'é' || g from generate_series(1, 1000) g) to stdout;"),
      (o) => `${lines(o).length}|${md5(o)}`,
    ),
  'copy in': async (r) => {
    const dir = await mkdtemp(join(tmpdir(), 'pgward-copy-'));
    try {
      const file = join(dir, 'rows.tsv');
      await writeFile(file, Array.from({ length: 1000 }, (_, k) => `${1001 + k}\tcopied é ${1001 + k}\n`).join(''));
      const res = await psql(
        r,
        `\\copy ${r.table} (id, v) from '${file}'\nselect count(*) from ${r.table} where v like 'copied é %';`,
        { quiet: false },
      );
      return outcome(res, (o) => `${/COPY (\d+)/.exec(o)?.[1] ?? 'no COPY tag'}|${lines(o).pop()}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
  'listen/notify': async (r) => {
    const channel = `ch_${r.table}`;
    // psql reports a notification after the command during which it arrived.
    const res = await psql(r, `listen ${channel};\nselect pg_notify('${channel}', 'payload é');\nselect 1;`);
    return outcome(res, (o) => {
      const got = /Asynchronous notification "([^"]+)" with payload "([^"]*)"/.exec(o);
      if (!got) return `no notification in ${o}`;
      return got[1] === channel ? got[2]! : `wrong channel ${got[1]}`;
    });
  },
  'prepared reuse': async (r) =>
    outcome(
      await psql(
        r,
        `prepare double(int) as select $1 * 2;\n${Array.from({ length: 10 }, (_, k) => `execute double(${k + 1});`).join('\n')}`,
      ),
      (o) => String(lines(o).reduce((s, l) => s + Number(l), 0)),
    ),
  cancel: async (r) => {
    // Ctrl-C in psql sends a CancelRequest; with ON_ERROR_STOP off the script goes on.
    const res = await psql(r, 'select pg_sleep(300);\nselect 1;', {
      stopOnError: false,
      onSpawn: (pid) => setTimeout(() => process.kill(pid, 'SIGINT'), 1500),
    });
    return [...errors(res.stderr).map((e) => `cancel ${e}`), ...lines(res.stdout).map((l) => `then ${l}`)].join(', ');
  },
  '50 connections': async (r) => {
    const all = await Promise.all(Array.from({ length: 50 }, () => psql(r, 'select 1;')));
    const failed = [...new Set(all.filter((x) => x.code !== 0).map((x) => x.stderr.trim()))];
    return `${all.filter((x) => x.code === 0 && x.stdout.trim() === '1').length} ok${failed.length ? ` ${failed.join('; ')}` : ''}`;
  },
  'channel binding': async (r) =>
    outcome(await psql(r, 'select 1;', { extra: { channel_binding: 'require' } }), (o) => `bound, ${o.trim()}`),
};

/** pg_dump/pg_restore of one table; names differ per run, so dumps are compared with it replaced. */
function tool(cmd: 'pg_dump' | 'pg_restore', r: MatrixRun, args: string[]): Promise<RunResult> {
  return run(cmd, [...args, '-d', conninfo(r, r.user, r.database)], {
    env: { PGPASSWORD: r.password, PGPASSFILE: '/dev/null' },
    timeoutMs: 120_000,
  });
}

/** Without the run's table name and the random key of \restrict (new in each dump since 15.14). */
const normalized = (dump: string, r: MatrixRun): string =>
  dump.replaceAll(r.table, 'the_table').replace(/^\\(un)?restrict \S+$/gm, '\\$1restrict KEY');
/** The first ERROR line, and its DETAIL when there is one. */
function firstError(stderr: string): string {
  const m = /ERROR:\s+(.*)(?:\n(?:pg_\w+: )?DETAIL:\s+(.*))?/.exec(stderr);
  return m ? `${m[1]!.trim()}${m[2] ? ` (${m[2].trim()})` : ''}` : stderr.trim();
}

export const pgDumpChecks: Record<string, Check> = {
  'pg_dump plain': async (r) => {
    const res = await tool('pg_dump', r, ['--no-owner', '-t', r.table]);
    if (res.code !== 0) return `error: ${firstError(res.stderr)}`;
    const dump = normalized(res.stdout, r);
    return `${md5(dump)}, ${/COPY public\.the_table \(id, v\) FROM stdin;\n([\s\S]*?)\n\\\.\n/.exec(dump)?.[1]?.split('\n').length ?? 0} rows`;
  },
  'pg_dump -Fd -j 2, pg_restore to SQL': async (r) => {
    const dir = await mkdtemp(join(tmpdir(), 'pgward-dump-'));
    try {
      const dumped = await tool('pg_dump', r, ['--no-owner', '-t', r.table, '-Fd', '-j', '2', '-f', join(dir, 'd')]);
      if (dumped.code !== 0) return `error: ${firstError(dumped.stderr)}`;
      const sql = await run('pg_restore', ['--no-owner', '-f', '-', join(dir, 'd')]);
      return md5(normalized(sql.stdout, r));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
  'pg_restore --clean, dumped again': async (r) => {
    const dir = await mkdtemp(join(tmpdir(), 'pgward-dump-'));
    try {
      const file = join(dir, 'custom.dump');
      const before = await tool('pg_dump', r, ['--no-owner', '-t', r.table]);
      const dumped = await tool('pg_dump', r, ['--no-owner', '-t', r.table, '-Fc', '-f', file]);
      if (dumped.code !== 0) return `error: ${firstError(dumped.stderr)}`;
      const restored = await tool('pg_restore', r, ['--no-owner', '--clean', '--if-exists', '--exit-on-error', file]);
      if (restored.code !== 0) return `refused: ${firstError(restored.stderr)}`;
      const after = await tool('pg_dump', r, ['--no-owner', '-t', r.table]);
      return normalized(after.stdout, r) === normalized(before.stdout, r)
        ? 'restored, same dump'
        : 'restored, different dump';
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
