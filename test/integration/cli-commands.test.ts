import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../harness/gateway.js';
import { buildCli, cliConfig, pgward, type CliResult } from './audit-cli.js';

/**
 * The real `pgward` command (the tree compiled with tsc, run with node) against a real store:
 * what a person sees for each command and each mistake, with the exit codes of docs/cli.md.
 */

const ROOT = resolve(import.meta.dirname, '../..');
let gw: TestGateway;
let main: string;
let dir: string;
let empty: string;
const cli = (...args: string[]): Promise<CliResult> => pgward(main, args, dir);

/** The command's stdout piped into a reader that has already gone (`| head` after its lines). */
function intoClosedPipe(args: string[]): Promise<CliResult> {
  return new Promise((done) => {
    const quoted = [process.execPath, main, ...args].map((a) => `'${a}'`).join(' ');
    execFile('/bin/bash', ['-c', `${quoted} | true; exit \${PIPESTATUS[0]}`], { cwd: dir }, (err, stdout, stderr) =>
      done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  [gw, main] = await Promise.all([startTestGateway(inject('pgCluster')), buildCli()]);
  // The built tree's package.json, as an installed bin has it (for --version).
  await copyFile(join(ROOT, 'package.json'), join(dirname(main), '../../package.json'));
  dir = await mkdtemp(join(tmpdir(), 'pgward-cli-'));
  empty = await mkdtemp(join(tmpdir(), 'pgward-cli-empty-'));
  await cliConfig(gw, dir);
}, 240_000);
afterAll(async () => {
  await gw?.close();
});

describe('pgward commands', { timeout: 120_000 }, () => {
  it('--version and --help answer with exit 0', async () => {
    const v = await cli('--version');
    expect([v.code, v.stdout]).toEqual([0, `pgward 0.1.0\n`]);
    const help = await cli('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Exit codes: 0 ok, 1 failure, 2 wrong usage');
    for (const c of ['token issue', 'policy versions', 'request list', 'audit verify', 'vault list']) {
      const r = await cli(...c.split(' '), '--help');
      expect(r.code, c).toBe(0);
      expect(r.stdout, c).toMatch(new RegExp(`^Usage: pgward ${c} `));
    }
  });

  it('token issue --json, then revoke by its jti; a second revoke says it is not live', async () => {
    const issued = await cli('token', 'issue', '--user', 'dana', '--groups', 'developers', '--json');
    expect(issued.code, issued.stderr).toBe(0);
    const { jti, user } = JSON.parse(issued.stdout) as { jti: string; user: string };
    expect(user).toBe('dana');
    const revoked = await cli('token', 'revoke', jti);
    expect([revoked.code, revoked.stderr]).toEqual([0, `revoked ${jti}\n`]);
    const again = await cli('token', 'revoke', jti);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(new RegExp(`^pgward: no live token ${jti}\n  hint: `));
  });

  it('policy versions and vault list print JSON arrays with --json', async () => {
    const versions = await cli('policy', 'versions', '--json');
    expect(versions.code, versions.stderr).toBe(0);
    expect(Array.isArray(JSON.parse(versions.stdout))).toBe(true);
    const vault = await cli('vault', 'list', '--json');
    expect(vault.code, vault.stderr).toBe(0);
    expect(JSON.parse(vault.stdout)).toContainEqual(expect.objectContaining({ role: gw.upstreamRole }));
  });

  it('token revoke not-a-jti: exit 2, what a token id is, no uuid syntax error', async () => {
    const r = await cli('token', 'revoke', 'not-a-jti');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^pgward: not a token id: "not-a-jti"\n {2}hint: a token id \(jti\) is a UUID/);
    expect(r.stderr).not.toMatch(/syntax|22P02|at .*\.js/);
  });

  it('a wrong flag: exit 2, commander names it, and the hint names the help to read', async () => {
    const r = await cli('policy', 'versions', '--jsn');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "pgward: unknown option '--jsn'\n(Did you mean --json?)\n  hint: see pgward policy versions --help\n",
    );
  });

  it('a missing config file: exit 1 and how --config is read', async () => {
    const r = await cli('--config', 'missing.yaml', 'policy', 'versions');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^pgward: no config file missing\.yaml\n {2}hint: check the path given to --config/);
  });

  it('no store configured and nothing running in the folder: how to start one', async () => {
    const r = await pgward(main, ['token', 'issue', '--user', 'x'], empty);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^pgward: no store configured and no pgward running in this folder\n {2}hint: .*npx pgward start/,
    );
  });

  it('a store that does not answer: names where and what to check', async () => {
    const server = net.createServer();
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const { port } = server.address() as net.AddressInfo;
    await new Promise((done) => server.close(done));
    const config = join(empty, 'down.yaml');
    await writeFile(
      config,
      `store: { url: 'postgres://pgward@127.0.0.1:${port}/x' }\nvault: { keyFile: '${gw.vaultKeyFile}' }\n`,
    );
    const r = await pgward(main, ['-c', config, 'policy', 'versions'], empty);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `pgward: cannot reach the store (PostgreSQL at 127.0.0.1:${port}): nothing listens at 127.0.0.1:${port}\n` +
        `  hint: is PostgreSQL running at 127.0.0.1:${port}? check store.url\n`,
    );
  });

  it('audit verify of a missing export, and --jwks on an empty file: exit 2, no ENOENT, no JSON parser message', async () => {
    const missing = await cli('audit', 'verify', 'nothing.jsonl');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^pgward: export nothing\.jsonl: no such file\n/);
    await writeFile(join(dir, 'export.jsonl'), '');
    await writeFile(join(dir, 'empty.json'), '');
    const jwks = await cli('audit', 'verify', 'export.jsonl', '--jwks', 'empty.json');
    expect(jwks.code).toBe(2);
    expect(jwks.stderr).toBe(
      'pgward: --jwks empty.json: the file is empty\n  hint: write the pinned keys with `pgward audit key > audit-jwks.json` where the vault key is\n',
    );
  });

  it('piped into a reader that stops early: exit 0, nothing on stderr (no EPIPE)', async () => {
    for (const args of [['policy', 'schema'], ['policy', 'versions'], ['--help']]) {
      const r = await intoClosedPipe(args);
      expect([r.code, r.stderr], args.join(' ')).toEqual([0, '']);
    }
  });

  it('each command loads only what it needs: no gateway, console or SQL parser for store commands', async () => {
    // A module loader hook (node:module register) writes every module URL the command loads.
    const log = join(dir, 'modules.log');
    const hooks = join(dir, 'hooks.mjs');
    await writeFile(
      hooks,
      [
        "import { appendFileSync } from 'node:fs';",
        'export async function resolve(spec, ctx, next) {',
        '  const r = await next(spec, ctx);',
        `  appendFileSync(${JSON.stringify(log)}, r.url + '\\n');`,
        '  return r;',
        '}',
      ].join('\n'),
    );
    const register = join(dir, 'register.mjs');
    await writeFile(
      register,
      `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
    );
    const loaded = async (...args: string[]): Promise<string[]> => {
      await writeFile(log, '');
      const r = await new Promise<CliResult>((done) =>
        execFile(process.execPath, ['--import', register, main, ...args], { cwd: dir }, (err, stdout, stderr) =>
          done({ code: err ? 1 : 0, stdout, stderr }),
        ),
      );
      expect(r.code, r.stderr).toBe(0);
      return (await readFile(log, 'utf8')).split('\n').filter(Boolean);
    };
    const heavy =
      /\/(gateway\/gateway|web\/server|relay\/|detect\/|cli\/start)\.?|node_modules\/(fastify|libpg-query|oidc-provider|openid-client)\//;
    const help = await loaded('--help');
    expect(help.filter((u) => heavy.test(u))).toEqual([]);
    expect(help.some((u) => u.includes('/store/'))).toBe(false);
    const issue = await loaded('token', 'issue', '--user', 'erin');
    expect(issue.filter((u) => heavy.test(u))).toEqual([]);
    expect(issue.some((u) => u.endsWith('/store/store.js'))).toBe(true);
    const versions = await loaded('policy', 'versions');
    expect(versions.filter((u) => heavy.test(u))).toEqual([]);
  });

  it('policy explain with no --dir explains the version in force, and after a rollback the rolled-back one', async () => {
    const before = JSON.parse((await cli('policy', 'versions', '--json')).stdout) as Array<{ id: number }>;
    expect(before.length).toBeGreaterThan(0);
    const latest = before[0]!.id;
    const explained = await cli('policy', 'explain', '-u', 'alice', '-g', 'developers', '-d', gw.database);
    expect(explained.stdout).toContain(`version ${latest})`);
    const rolledBack = await cli('policy', 'rollback', String(latest));
    expect(rolledBack.code, rolledBack.stderr).toBe(0);
    const after = await cli('policy', 'explain', '-u', 'alice', '-g', 'developers', '-d', gw.database);
    expect(after.stdout).toContain(`version ${latest + 1})`);
  });

  it('policy explain: exit 0 for a grant, 3 for a denial', async () => {
    await writeFile(
      join(dir, 'explain.yaml'),
      [
        `store: { url: '${gw.storeUrl}', caFile: '${gw.caPath}' }`,
        `vault: { keyFile: '${gw.vaultKeyFile}' }`,
        `targets: { app: { host: 127.0.0.1, port: 5432, database: app, role: app_rw } }`,
        '',
      ].join('\n'),
    );
    const policies = await mkdtemp(join(tmpdir(), 'pgward-cli-policies-'));
    await writeFile(
      join(policies, 'p.yaml'),
      'rules:\n  - name: devs\n    effect: allow\n    subjects: { groups: [developers] }\n    targets: [app]\n',
    );
    const grant = await cli(
      '-c',
      'explain.yaml',
      'policy',
      'explain',
      '-u',
      'a',
      '-g',
      'developers',
      '-d',
      'app',
      '--dir',
      policies,
      '--json',
    );
    expect(grant.code, grant.stderr).toBe(0);
    expect(JSON.parse(grant.stdout)).toMatchObject({ kind: 'grant', rule: 'devs' });
    const deny = await cli(
      '-c',
      'explain.yaml',
      'policy',
      'explain',
      '-u',
      'b',
      '-g',
      'other',
      '-d',
      'app',
      '--dir',
      policies,
    );
    expect(deny.code, deny.stderr).toBe(3);
    expect(deny.stdout).toMatch(/^DENY/);
  });
});
