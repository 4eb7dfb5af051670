import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * The pg_service.conf entry `pgward login` writes (as `tsh db login` does), so that
 * `psql "service=pgward-HOST"` needs no host, port, user or certificate path; the token comes
 * from ~/.pgpass. Other sections, comments and blank lines of the file are kept as they are.
 */

/** Where libpq looks: PGSERVICEFILE, else ~/.pg_service.conf. */
export function serviceFilePath(env: NodeJS.ProcessEnv): string {
  return env['PGSERVICEFILE'] || join(env['HOME'] || homedir(), '.pg_service.conf');
}

/** One entry per gateway (host and port); the default port is left out of the name. */
export const serviceName = (host: string, port: number): string =>
  `pgward-${host.replace(/[^A-Za-z0-9.-]/g, '_')}${port === 6432 ? '' : `-${port}`}`;

async function readLines(path: string): Promise<string[]> {
  try {
    return (await readFile(path, 'utf8')).split('\n');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** The file without the named section (a section runs to the next [header]). */
function without(lines: string[], name: string): string[] {
  const kept: string[] = [];
  let skipping = false;
  for (const line of lines) {
    const header = /^\s*\[([^\]]+)\]\s*$/.exec(line);
    if (header) skipping = header[1] === name;
    if (!skipping) kept.push(line);
  }
  while (kept.length && kept[kept.length - 1] === '') kept.pop();
  return kept;
}

async function write(path: string, lines: string[]): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.pgward-${process.pid}`;
  await writeFile(tmp, lines.length ? lines.join('\n') + '\n' : '', { mode: 0o600 });
  await rename(tmp, path);
}

export async function upsertService(
  env: NodeJS.ProcessEnv,
  name: string,
  settings: Record<string, string>,
): Promise<void> {
  const path = serviceFilePath(env);
  const kept = without(await readLines(path), name);
  const section = [`[${name}]`, ...Object.entries(settings).map(([k, v]) => `${k}=${v}`)];
  await write(path, [...kept, ...(kept.length ? [''] : []), ...section]);
}

export async function removeService(env: NodeJS.ProcessEnv, name: string): Promise<void> {
  const path = serviceFilePath(env);
  const lines = await readLines(path);
  if (lines.some((l) => l.trim() === `[${name}]`)) await write(path, without(lines, name));
}
