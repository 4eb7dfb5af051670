import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * What a running embedded `pgward start` tells later CLI calls (token issue, vault set):
 * where its store is. Private to the owner (0600): it holds the store's password.
 */
export interface EmbeddedState {
  storeUrl: string;
  storeCaFile: string;
  vaultKeyFile: string;
  pid: number;
}

export async function writeState(path: string, state: EmbeddedState): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, JSON.stringify(state, null, 2), { mode: 0o600 });
}

export async function readState(path: string): Promise<EmbeddedState | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as EmbeddedState;
  } catch {
    return null;
  }
}

export async function removeState(path: string): Promise<void> {
  await rm(path, { force: true });
}
