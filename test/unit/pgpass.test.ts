import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatPgpassLine, parsePgpassLine, pgpassPath, removePgpass, upsertPgpass } from '../../src/util/pgpass.js';

describe('.pgpass lines', () => {
  it('escapes colons and backslashes so libpq reads the fields back unchanged', () => {
    const e = { host: 'db:1', port: '5432', database: '*', user: 'a\\b', password: 'p:w\\d' };
    const line = formatPgpassLine(e);
    expect(line).toBe('db\\:1:5432:*:a\\\\b:p\\:w\\\\d');
    expect(parsePgpassLine(line)).toEqual(e);
  });

  it('skips comments and lines without five fields', () => {
    expect(parsePgpassLine('# host:port:db:user:pw')).toBeNull();
    expect(parsePgpassLine('a:b:c:d')).toBeNull();
  });

  it('follows PGPASSFILE, else HOME', () => {
    expect(pgpassPath({ PGPASSFILE: '/x/pp', HOME: '/h' })).toBe('/x/pp');
    expect(pgpassPath({ HOME: '/h' })).toBe('/h/.pgpass');
  });

  it('replaces only its own entry, puts it first, keeps mode 0600, and removes it again', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pgpass-'));
    const path = join(dir, '.pgpass');
    await writeFile(path, '# mine\nother:5432:db:bob:secret\nlocalhost:6432:*:alice:old\n', { mode: 0o644 });
    await upsertPgpass(path, { host: 'localhost', port: '6432', database: '*', user: 'alice', password: 'new' });
    expect(await readFile(path, 'utf8')).toBe('localhost:6432:*:alice:new\n# mine\nother:5432:db:bob:secret\n');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await removePgpass(path, { host: 'localhost', port: '6432', user: 'alice' })).toBe('new');
    expect(await readFile(path, 'utf8')).toBe('# mine\nother:5432:db:bob:secret\n');
    expect(await removePgpass(path, { host: 'localhost', port: '6432', user: 'alice' })).toBeNull();
  });
});
