import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '../../src');

/** Every TypeScript file under src/ outside src/store. */
async function outsideStore(dir = SRC): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (path !== join(SRC, 'store')) files.push(...(await outsideStore(path)));
    } else if (entry.name.endsWith('.ts')) files.push(path);
  }
  return files;
}

/** What only src/store may do: speak SQL to the control plane, or send and hear NOTIFY. */
const STORE_ONLY: Array<[string, RegExp]> = [
  ['imports the pg driver', /from\s+['"]pg['"]|require\(\s*['"]pg['"]\s*\)/],
  ['runs a query', /\.query\s*(<[^>]*>)?\s*\(/],
  [
    'uses the store-internal pools',
    /\.(sql|loginSql)\s*\.\s*(query|connect|end)\b|\.loginSql\b|\bstore\s*\.\s*(sql|pool)\b/,
  ],
  // (LISTEN needs a query too; NOTIFY is named so that a payload built by hand stands out.)
  ['sends NOTIFY itself', /pg_notify/i],
];

describe('the store is the only SQL speaker', () => {
  it('no file under src/ outside src/store runs SQL, reaches the pools or sends NOTIFY', async () => {
    const found: string[] = [];
    const files = await outsideStore();
    expect(files.length).toBeGreaterThan(50);
    for (const file of files) {
      const lines = (await readFile(file, 'utf8')).split('\n');
      lines.forEach((line, i) => {
        for (const [what, pattern] of STORE_ONLY) {
          if (pattern.test(line)) found.push(`${relative(SRC, file)}:${i + 1} ${what}: ${line.trim()}`);
        }
      });
    }
    expect(found).toEqual([]);
  });

  it('would notice each kind of leak', () => {
    const leaks = [
      "import pg from 'pg';",
      'await ctx.store.sql.query("select 1")',
      'const c = await this.deps.store.loginSql.connect();',
      'await client.query<{ n: number }>(`select 1`)',
      "const notify = 'select pg_notify($1, $2)';",
      'const pool = store.pool;',
    ];
    for (const leak of leaks)
      expect(
        STORE_ONLY.some(([, p]) => p.test(leak)),
        leak,
      ).toBe(true);
    for (const fine of [
      "import { serialize } from 'pg-protocol';",
      ".option('-p, --port <port>', 'listen port')",
      'target.pool.enabled',
      'prev.sql !== text',
      'statementText.sql',
    ]) {
      expect(
        STORE_ONLY.some(([, p]) => p.test(fine)),
        fine,
      ).toBe(false);
    }
  });
});
