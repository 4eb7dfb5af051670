import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** One ~/.pgpass entry: hostname:port:database:username:password (libpq's format). */
export interface PgpassEntry {
  host: string;
  port: string;
  database: string;
  user: string;
  password: string;
}

const escapeField = (s: string): string => s.replace(/\\/g, '\\\\').replace(/:/g, '\\:');

export function formatPgpassLine(e: PgpassEntry): string {
  return [e.host, e.port, e.database, e.user, e.password].map(escapeField).join(':');
}

/** Splits a line on unescaped colons, as libpq does; null for comments and malformed lines. */
export function parsePgpassLine(line: string): PgpassEntry | null {
  if (line.startsWith('#') || line.trim() === '') return null;
  const fields: string[] = [];
  let cur = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\' && i + 1 < line.length) cur += line[++i]!;
    else if (c === ':' && fields.length < 4) {
      fields.push(cur);
      cur = '';
    } else cur += c;
  }
  fields.push(cur);
  if (fields.length !== 5) return null;
  const [host, port, database, user, password] = fields as [string, string, string, string, string];
  return { host, port, database, user, password };
}

const sameSlot = (a: PgpassEntry, b: Pick<PgpassEntry, 'host' | 'port' | 'user'>): boolean =>
  a.host === b.host && a.port === b.port && a.user === b.user && a.database === '*';

/** Where libpq looks: PGPASSFILE, else ~/.pgpass. */
export function pgpassPath(env: NodeJS.ProcessEnv = process.env): string {
  return env['PGPASSFILE'] || join(env['HOME'] || homedir(), '.pgpass');
}

async function readLines(path: string): Promise<string[]> {
  try {
    const text = await readFile(path, 'utf8');
    return text.split('\n').filter((l, i, all) => !(l === '' && i === all.length - 1));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** Writes atomically and with mode 0600: libpq ignores a .pgpass that others can read. */
async function writeLines(path: string, lines: string[]): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.pgward-${process.pid}`;
  await writeFile(tmp, lines.length ? lines.join('\n') + '\n' : '', { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

/** Replaces pgward's entry for host:port:*:user (other lines are kept as they are). */
export async function upsertPgpass(path: string, entry: PgpassEntry): Promise<void> {
  const lines = await readLines(path);
  const kept = lines.filter((l) => {
    const e = parsePgpassLine(l);
    return !(e && sameSlot(e, entry));
  });
  // libpq takes the first match, so the fresh entry goes first.
  await writeLines(path, [formatPgpassLine(entry), ...kept]);
}

/** Removes the entry for host:port:*:user and returns its password, if there was one. */
export async function removePgpass(
  path: string,
  slot: Pick<PgpassEntry, 'host' | 'port' | 'user'>,
): Promise<string | null> {
  const lines = await readLines(path);
  let password: string | null = null;
  const kept = lines.filter((l) => {
    const e = parsePgpassLine(l);
    if (e && sameSlot(e, slot)) {
      password ??= e.password;
      return false;
    }
    return true;
  });
  if (password !== null) await writeLines(path, kept);
  return password;
}
