import { access, readFile } from 'node:fs/promises';
import type { GatewayConfig } from '../config/schema.js';
import type { ControlPlane } from './control-plane.js';
import { CliError, toCliError } from './cli-errors.js';
import { processAlive, readState, type EmbeddedState } from './state-file.js';

/**
 * The configuration and the store every CLI command reads, the way `pgward start` finds
 * them: --config FILE, else ./pgward.yaml, else the embedded default (whose running
 * `pgward start` leaves its store's address in .pgward/state.json). Kept apart from start.ts
 * so a command loads only the config parser and the store, not the gateway and the console.
 */

export const DEFAULT_CONFIG_FILE = 'pgward.yaml';
/** Where a running embedded `pgward start` leaves its store's address (start.ts writes it). */
export const STATE_FILE = '.pgward/state.json';
/** Held by a `pgward start` from its first step (state-file.ts acquireStartLock). */
const LOCK_FILE = '.pgward/start.lock';

const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

/** The gateway's configuration as the CLI reads it; errors name the file and the fix. */
export async function loadCliConfig(path: string | undefined): Promise<GatewayConfig> {
  const { parseConfig } = await import('../config/load.js');
  const file = path ?? ((await exists(DEFAULT_CONFIG_FILE)) ? DEFAULT_CONFIG_FILE : undefined);
  if (!file) return parseConfig({});
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new CliError(`no config file ${file}`, {
        hint: `check the path given to --config; without --config pgward reads ./${DEFAULT_CONFIG_FILE} if there is one, else uses the embedded default`,
        cause: err,
      });
    throw toCliError(err);
  }
  const { parse } = await import('yaml');
  let input: unknown;
  try {
    input = parse(text);
  } catch (err) {
    throw new CliError(`${file} is not valid YAML: ${(err as Error).message.split('\n')[0]}`, {
      hint: 'fix the file (pgward.example.yaml shows every setting)',
      cause: err,
    });
  }
  try {
    return parseConfig(input, file);
  } catch (err) {
    throw new CliError((err as Error).message, {
      hint: 'fix the setting named above (pgward.example.yaml shows every setting)',
      cause: err,
    });
  }
}

export interface StoreLocation {
  url: string;
  /** Where it came from, for messages: the config file, the environment or the embedded state. */
  source: 'config' | 'env' | 'embedded';
  state: EmbeddedState | null;
}

const START_HINT = 'start the gateway in this folder with `npx pgward start` (it keeps running; use another terminal)';
const CONFIG_HINT = 'or name a store: store.url in ./pgward.yaml (or --config FILE), or PGWARD_STORE_URL';

/** Where the store is: store.url, PGWARD_STORE_URL, or the embedded default running in this folder. */
export async function locateStore(config: GatewayConfig): Promise<StoreLocation> {
  if (config.store.url) return { url: config.store.url, source: 'config', state: null };
  const env = process.env['PGWARD_STORE_URL'];
  if (env) return { url: env, source: 'env', state: null };
  const state = await readState(STATE_FILE);
  if (!state) {
    const starting = await readFile(LOCK_FILE, 'utf8').then(
      (t) => (JSON.parse(t) as { pid?: unknown }).pid,
      () => undefined,
    );
    if (typeof starting === 'number' && processAlive(starting))
      throw new CliError(`the pgward in this folder (pid ${starting}) is still starting`, {
        hint: 'try again when it prints its psql line',
      });
    throw new CliError('no store configured and no pgward running in this folder', {
      hint: `${START_HINT}; ${CONFIG_HINT}`,
    });
  }
  if (!processAlive(state.pid))
    throw new CliError(`the pgward that ran in this folder (pid ${state.pid}) is not running any more`, {
      hint: `${START_HINT}; ${CONFIG_HINT}`,
    });
  return { url: state.storeUrl, source: 'embedded', state };
}

const hostOf = (url: string): string => {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '5432'}`;
  } catch {
    return 'the configured address';
  }
};

/** How long a command waits for the store before saying it does not answer. */
const STORE_TIMEOUT_MS = Number(process.env['PGWARD_CONNECT_TIMEOUT_MS'] ?? 10_000);

/** Opens the store, vault and token service of this configuration, with errors that name the fix. */
export async function openCliControlPlane(configPath: string | undefined): Promise<ControlPlane> {
  const config = await loadCliConfig(configPath);
  const at = await locateStore(config);
  if (at.state) {
    config.store.caFile ??= at.state.storeCaFile;
    config.vault.keyFile ??= at.state.vaultKeyFile;
  }
  const unreachableHint =
    at.source === 'embedded'
      ? `the pgward in this folder seems stopped or stuck: ${START_HINT}`
      : `is PostgreSQL running at ${hostOf(at.url)}? check store.url${at.source === 'env' ? ' (PGWARD_STORE_URL)' : ''}`;
  const { openControlPlane } = await import('./control-plane.js');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new CliError(`the store at ${hostOf(at.url)} does not answer (waited ${STORE_TIMEOUT_MS / 1000} s)`, {
            hint: unreachableHint,
          }),
        ),
      STORE_TIMEOUT_MS,
    );
    timer.unref();
  });
  try {
    return await Promise.race([openControlPlane(config, { storeUrl: at.url }), timeout]);
  } catch (err) {
    throw toCliError(err, { peer: `the store (PostgreSQL at ${hostOf(at.url)})`, unreachableHint });
  } finally {
    clearTimeout(timer);
  }
}

/** Runs fn with the control plane open, and closes it whatever happens. */
export async function withControlPlane<T>(
  configPath: string | undefined,
  fn: (cp: ControlPlane) => Promise<T>,
): Promise<T> {
  const cp = await openCliControlPlane(configPath);
  try {
    return await fn(cp);
  } finally {
    await cp.close();
  }
}
