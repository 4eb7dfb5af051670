import { execFile } from 'node:child_process';
import { access, copyFile, mkdir, mkdtemp, readdir, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestGateway } from '../harness/gateway.js';

const ROOT = resolve(import.meta.dirname, '../..');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The real `pgward` command: the tree compiled with tsc (as `npm run build` does) into a
 * directory of its own, run with node. Files that do not type-check still compile (tsc emits
 * them), so work in progress elsewhere in the tree does not stop these tests.
 */
export async function buildCli(): Promise<string> {
  const out = await mkdtemp(join(tmpdir(), 'pgward-cli-'));
  await new Promise<void>((done) => {
    execFile(
      join(ROOT, 'node_modules/.bin/tsc'),
      ['-p', join(ROOT, 'tsconfig.build.json'), '--outDir', out],
      { cwd: ROOT, maxBuffer: 64 << 20 },
      () => done(),
    );
  });
  const main = join(out, 'src/cli/main.js');
  await access(main);
  await symlink(join(ROOT, 'node_modules'), join(out, 'node_modules'));
  const migrations = join(out, 'src/store/migrations');
  await mkdir(migrations, { recursive: true });
  for (const f of await readdir(join(ROOT, 'src/store/migrations')))
    await copyFile(join(ROOT, 'src/store/migrations', f), join(migrations, f));
  return main;
}

/** A config for the CLI that reaches the gateway's store and vault key, and finds its spool (and checkpoint log). */
export async function cliConfig(gw: TestGateway, dir: string): Promise<string> {
  const path = join(dir, 'pgward.yaml');
  await writeFile(
    path,
    [
      `gatewayId: ${gw.config.gatewayId}`,
      `store: { url: '${gw.storeUrl}', caFile: '${gw.caPath}' }`,
      `vault: { keyFile: '${gw.vaultKeyFile}' }`,
      `audit: { spoolDir: '${gw.config.audit.spoolDir!}' }`,
      '',
    ].join('\n'),
  );
  return path;
}

export function pgward(main: string, args: string[], cwd: string): Promise<CliResult> {
  return new Promise((done) => {
    execFile(process.execPath, [main, ...args], { cwd, maxBuffer: 64 << 20, timeout: 120_000 }, (err, stdout, stderr) =>
      done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}
