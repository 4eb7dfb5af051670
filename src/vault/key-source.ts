import { randomBytes } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseKey, VaultKeyError } from './envelope.js';

export interface VaultKeySource {
  /** Environment variable holding the key (base64 or hex). Checked first. */
  env?: string | undefined;
  /** File holding the key; must not be readable by group or others. */
  file?: string | undefined;
  /** Create the file with a new key when it is missing (the embedded default only). */
  createIfMissing?: boolean | undefined;
}

export async function loadVaultKey(src: VaultKeySource): Promise<Buffer> {
  const fromEnv = src.env ? process.env[src.env] : undefined;
  if (fromEnv) return parseKey(fromEnv);
  if (!src.file) throw new VaultKeyError(`no vault key: set ${src.env ?? 'PGWARD_VAULT_KEY'} or vault.keyFile`);
  try {
    const info = await stat(src.file);
    if ((info.mode & 0o077) !== 0) {
      throw new VaultKeyError(`vault key file ${src.file} is readable by others; chmod 600 it`);
    }
    return parseKey(await readFile(src.file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !src.createIfMissing) throw err;
    const key = randomBytes(32);
    await mkdir(dirname(src.file), { recursive: true, mode: 0o700 });
    await writeFile(src.file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
    return key;
  }
}
