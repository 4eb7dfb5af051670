import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { caFileName } from '../../src/web/connect-lines.js';

/**
 * A developer's HOME as the connect page's install line (or `pgward login`) leaves it: the
 * gateway's CA, fetched over HTTP from the console, in ~/.postgresql/pgward-<host>-ca.crt,
 * which is what the console's lines name. Tests that run a line from the page run it with
 * `HOME` set to this folder (docs/connect.md).
 */
export async function homeWithCa(consoleUrl: string, host = 'localhost'): Promise<string> {
  const res = await fetch(`${consoleUrl}/ca.crt`);
  if (res.status !== 200) throw new Error(`${consoleUrl}/ca.crt answered HTTP ${res.status}`);
  const home = await mkdtemp(join(tmpdir(), 'pgward-home-'));
  await mkdir(join(home, '.postgresql'), { mode: 0o700 });
  await writeFile(join(home, '.postgresql', caFileName(host)), await res.text());
  return home;
}
