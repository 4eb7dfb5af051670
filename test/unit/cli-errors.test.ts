import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { DatabaseError } from 'pg-protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadCliConfig, locateStore, STATE_FILE } from '../../src/cli/cli-context.js';
import { CliError, CliUsageError, EXIT, formatCliError, toCliError } from '../../src/cli/cli-errors.js';
import { durationOption, parseUserJson, readUserFile, tokenId, uuidArgument } from '../../src/cli/cli-input.js';
import { parseConfig } from '../../src/config/load.js';

/**
 * What a person sees when a CLI command fails: each case is a real failure (a closed port, a
 * missing file, an empty file, a refused value), shown as `pgward: ...` and a hint, never a
 * raw driver or file-system message.
 */

const shown = (err: unknown): string => formatCliError(toCliError(err));

async function caught(p: Promise<unknown> | (() => unknown)): Promise<unknown> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((done) => server.close(done));
  return port;
}

let dir: string;
let cwd: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pgward-cli-errors-'));
  cwd = process.cwd();
  process.chdir(dir);
});
afterEach(() => {
  process.chdir(cwd);
});

describe('no store reachable', () => {
  it('a closed port names the store and the fix', async () => {
    const port = await closedPort();
    const client = new pg.Client({ connectionString: `postgres://x@127.0.0.1:${port}/db` });
    const err = toCliError(await caught(client.connect()), {
      peer: `the store (PostgreSQL at 127.0.0.1:${port})`,
      unreachableHint: 'is PostgreSQL running?',
    });
    expect(err.exitCode).toBe(EXIT.failure);
    expect(formatCliError(err)).toBe(
      `pgward: cannot reach the store (PostgreSQL at 127.0.0.1:${port}): nothing listens at 127.0.0.1:${port}\n  hint: is PostgreSQL running?\n`,
    );
  });

  it('an unknown host says so', async () => {
    const client = new pg.Client({ connectionString: 'postgres://x@nohost.invalid:5432/db' });
    expect(shown(await caught(client.connect()))).toMatch(/^pgward: cannot reach .*host nohost\.invalid not found/);
  });

  it('no store configured and no pgward running in the folder: how to start one or name one', async () => {
    const err = (await caught(locateStore(parseConfig({})))) as CliError;
    expect(err.message).toBe('no store configured and no pgward running in this folder');
    expect(err.hint).toContain('npx pgward start');
    expect(err.hint).toContain('store.url');
  });

  it('a pgward still starting in the folder (its start lock held, no state yet) is named', async () => {
    await mkdir('.pgward');
    await writeFile('.pgward/start.lock', JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString() }));
    const err = (await caught(locateStore(parseConfig({})))) as CliError;
    expect([err.message, err.hint]).toEqual([
      `the pgward in this folder (pid ${process.pid}) is still starting`,
      'try again when it prints its psql line',
    ]);
  });

  it('a state file left by a pgward that no longer runs is named with its pid', async () => {
    await mkdir('.pgward');
    await writeFile(
      STATE_FILE,
      JSON.stringify({ storeUrl: 'postgres://a@127.0.0.1:1/x', storeCaFile: 'x', vaultKeyFile: 'x', pid: 2 ** 22 + 1 }),
    );
    const err = (await caught(locateStore(parseConfig({})))) as CliError;
    expect(err.message).toBe(`the pgward that ran in this folder (pid ${2 ** 22 + 1}) is not running any more`);
  });
});

describe('configuration', () => {
  it('--config naming a missing file', async () => {
    const err = (await caught(loadCliConfig('nope.yaml'))) as CliError;
    expect(formatCliError(err)).toMatch(
      /^pgward: no config file nope\.yaml\n {2}hint: check the path given to --config/,
    );
  });

  it('./pgward.yaml is read when there is one, the embedded default when not', async () => {
    expect((await loadCliConfig(undefined)).listen.port).toBe(6432);
    await writeFile('pgward.yaml', 'listen: { port: 7000 }\n');
    expect((await loadCliConfig(undefined)).listen.port).toBe(7000);
  });

  it('a file that is not YAML, and a setting of the wrong type, name the file', async () => {
    await writeFile('broken.yaml', 'listen: [\n');
    expect(((await caught(loadCliConfig('broken.yaml'))) as CliError).message).toMatch(
      /^broken\.yaml is not valid YAML: /,
    );
    await writeFile('typed.yaml', "listen: { port: 'x' }\n");
    const err = (await caught(loadCliConfig('typed.yaml'))) as CliError;
    expect(err.message).toContain('typed.yaml');
    expect(err.message).toContain('listen.port');
  });
});

describe('values on the command line', () => {
  it('token revoke not-a-jti: a usage error before the store is asked (no uuid syntax error)', async () => {
    const err = (await caught(() => tokenId('not-a-jti'))) as CliError;
    expect(err).toBeInstanceOf(CliUsageError);
    expect(err.exitCode).toBe(EXIT.usage);
    expect(err.message).toBe('not a token id: "not-a-jti"');
    expect(err.hint).toContain('--user NAME');
    expect(tokenId('3F0C9A4E-8D1B-4C55-9D3E-2A6F1B7C8E90')).toBe('3f0c9a4e-8d1b-4c55-9d3e-2a6f1b7c8e90');
  });

  it('a request id is checked the same way, naming where to find one', () => {
    expect(() => uuidArgument('42', 'request id', 'pgward request list shows them')).toThrow(
      expect.objectContaining({
        message: 'not a request id: "42"',
        hint: 'pgward request list shows them',
        exitCode: 2,
      }),
    );
  });

  it('--ttl 5x and --older-than 9x: usage errors naming the option and the accepted forms', () => {
    expect(() => durationOption('5x', '--ttl')).toThrow(
      expect.objectContaining({ message: '--ttl: invalid duration "5x" (use e.g. 90s, 15m, 8h, 30d)', exitCode: 2 }),
    );
    expect(() => durationOption('90d', '--older-than')).not.toThrow();
  });

  it("the store's own 22P02 (a value in the wrong form) is a usage error, not a raw message", () => {
    const raw = new DatabaseError('invalid input syntax for type uuid: "x"', 0, 'error');
    raw.code = '22P02';
    raw.severity = 'ERROR';
    const err = toCliError(raw);
    expect(err.exitCode).toBe(EXIT.usage);
    expect(err.message).toBe('a value is not in the form the store expects: invalid input syntax for type uuid: "x"');
  });

  it('a missing file names the option it came from, not ENOENT', async () => {
    const err = (await caught(readUserFile('keys.json', '--jwks'))) as CliError;
    expect(err.message).toBe('--jwks keys.json: no such file');
    expect(err.exitCode).toBe(EXIT.usage);
    expect(shown(err)).not.toContain('ENOENT');
  });

  it('a raw ENOENT from anywhere else still reads as a sentence', async () => {
    expect(shown(await caught(readFile('gone.txt')))).toBe(
      'pgward: no such file or directory: gone.txt\n  hint: check the path (relative paths are read from the current directory)\n',
    );
  });

  it('--jwks on an empty file, and on one that is not JSON', () => {
    const empty = (() => {
      try {
        parseUserJson('', '--jwks empty.json', 'write it with pgward audit key');
      } catch (err) {
        return err as CliError;
      }
      throw new Error('parsed');
    })();
    expect(formatCliError(empty)).toBe(
      'pgward: --jwks empty.json: the file is empty\n  hint: write it with pgward audit key\n',
    );
    expect(() => parseUserJson('{"keys": [', '--jwks k.json')).toThrow(/^--jwks k\.json: not JSON \(/);
  });

  it('a wrong vault key says whose key is needed', async () => {
    const { VaultKeyError } = await import('../../src/vault/envelope.js');
    const err = toCliError(new VaultKeyError('sealed value failed authentication (wrong key or tampered)'));
    expect(err.message).toMatch(/^the vault key does not open this store's secrets/);
    expect(err.hint).toContain("gateway's own vault key");
  });
});

describe('formatting', () => {
  it('the stack only with PGWARD_DEBUG', () => {
    const err = toCliError(new Error('boom'));
    expect(formatCliError(err)).toBe('pgward: boom\n');
    expect(formatCliError(err, true)).toContain('at ');
  });
});
