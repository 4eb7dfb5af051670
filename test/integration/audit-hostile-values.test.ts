import { access, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import type { ChainedEvent } from '../../src/audit/chain.js';
import { parseEvent } from '../../src/audit/formats.js';
import { AUDIT_KEY_LABEL, deriveAuditKeys } from '../../src/audit/keys.js';
import { verifyExport } from '../../src/audit/verify.js';
import { auditExport } from '../../src/cli/audit-commands.js';
import { fields, int32, message, RawClient, startupPacket } from '../harness/raw-client.js';
import { startTestGateway, type TestGateway } from '../harness/gateway.js';
import { cliConfig } from './audit-cli.js';

/**
 * Finding 2 of issue 14: a bind value with U+0000 once stopped the audit of every later
 * session on the gateway. Here every field a client can put bytes into goes through a real
 * gateway with a profile that logs parameters: U+0000 and invalid UTF-8 in bind values,
 * invalid UTF-8 in statement text (simple and extended), in a statement that does not parse,
 * in application_name and in the user name; then the record is exported and verified.
 */
let gw: TestGateway;
let dir: string;
const from = new Date(Date.now() - 60_000).toISOString();
const POLICY = `profiles:
  everything:
    logParameters: true
rules:
  - name: everyone
    effect: allow
    subjects: { users: ['*'] }
    session: { detector: everything }
    tls: { required: false }
`;

beforeAll(async () => {
  gw = await startTestGateway(
    inject('pgCluster'),
    { auth: { passwordUsers: ['raw-*'] } },
    { policies: { 'p.yaml': POLICY } },
  );
  dir = await mkdtemp(join(tmpdir(), 'pgward-hostile-'));
});
afterAll(async () => {
  await gw?.close();
});

async function signedIn(user: string, extra: Record<string, string> = {}): Promise<RawClient> {
  const { token } = await gw.issue(user);
  const c = await RawClient.connect(gw.port);
  await c.upgrade(await readFile(gw.caPath, 'utf8'));
  c.write(startupPacket({ user, database: gw.database, ...extra }));
  expect((await c.next())?.type).toBe('R');
  c.write(message('p', `${token}\0`));
  await c.until_('Z');
  return c;
}

/** Parse, Bind (text parameters, as bytes), Execute, Sync. */
function extended(sql: Buffer, params: Buffer[]): Buffer {
  const bind = Buffer.concat([
    Buffer.from('\0\0'),
    Buffer.from([0, 0]),
    Buffer.from([0, params.length]),
    ...params.flatMap((p) => [int32(p.length), p]),
    Buffer.from([0, 0]),
  ]);
  return Buffer.concat([
    message('P', Buffer.concat([Buffer.from('\0'), sql, Buffer.from('\0\0\0')])),
    message('B', bind),
    message('E', Buffer.from('\0\0\0\0\0')),
    message('S', ''),
  ]);
}

const bytes = (...parts: Array<string | number[]>): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));

const NUL_VALUE = bytes('a', [0], 'b');
const INVALID_VALUE = bytes('x', [0xff, 0xfe], 'y', [0xc3, 0x28]);
const BOTH_VALUE = bytes([0], [0xed, 0xa0, 0x80], [0]); // U+0000, a UTF-8-encoded surrogate (invalid), U+0000
const TYPED_ESCAPE = Buffer.from('typed \\u0000'); // the six characters, not U+0000

describe('any bytes a client sends, through a real gateway, into the audit', () => {
  let exported: ChainedEvent[];

  beforeAll(async () => {
    const c = await signedIn('raw-hostile', { application_name: 'psql-ish' });
    c.write(
      extended(Buffer.from('select $1::bytea, $2::text, $3::text, $4::text'), [
        NUL_VALUE,
        INVALID_VALUE,
        BOTH_VALUE,
        TYPED_ESCAPE,
      ]),
    );
    await c.until_('Z');
    c.write(message('Q', bytes("select 'x", [0xc3, 0x28], "'", [0])));
    expect(fields((await c.until_('Z')).find((m) => m.type === 'E')!.body)['C']).toBe('22021');
    c.write(extended(bytes('select $1 -- ', [0xff]), [NUL_VALUE]));
    await c.until_('Z');
    c.write(message('Q', bytes('selec', [0xff, 0xfe], ' 1 +', [0])));
    await c.until_('Z');
    c.write(message('X', ''));
    await c.waitClosed();

    // Invalid UTF-8 in application_name or the user name never gets as far as a session (22021),
    // and U+0000 cannot be in either (startup values end at the first one).
    for (const params of [
      Buffer.concat([
        Buffer.from('user\0raw-hostile\0application_name\0'),
        Buffer.from([0xff, 0]),
        Buffer.from('database\0app\0\0'),
      ]),
      Buffer.concat([Buffer.from('user\0raw-'), Buffer.from([0xc3, 0x28, 0]), Buffer.from('database\0app\0\0')]),
    ]) {
      const r = await RawClient.connect(gw.port);
      await r.upgrade(await readFile(gw.caPath, 'utf8'));
      const payload = Buffer.concat([int32(0x00030000), params]);
      r.write(Buffer.concat([int32(payload.length + 4), payload]));
      expect((await r.error())?.['C']).toBe('22021');
    }

    // What no wire value can hold but the audit must still take: unpaired surrogates and U+0000
    // in a user name, a detail and a key (a statement cut inside a surrogate pair, an external
    // issuer's claims).
    const id = randomUUID();
    gw.gateway.audit.append(id, 'ext\0user\ud800', 'session_start', { detail: 'cut \ud83d', 'k\0': '\udc00' });
    gw.gateway.audit.append(id, 'ext\0user\ud800', 'session_end', { reason: 'client-terminate' });
    gw.gateway.audit.endChain(id);

    // A later, ordinary session on the same gateway is recorded in full.
    const after = await signedIn('raw-after');
    after.write(message('Q', 'select 1\0'));
    await after.until_('Z');
    after.write(message('X', ''));
    await after.waitClosed();
    await gw.gateway.settled();
    await gw.gateway.audit.checkpoint();

    const config = await cliConfig(gw, dir);
    const out = join(dir, 'hostile.jsonl');
    const silenced = process.stderr.write.bind(process.stderr);
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      await auditExport(config, { from, format: 'jsonl', out });
      for (const format of ['csv', 'ocsf'])
        await auditExport(config, { from, format, out: join(dir, `hostile.${format}`) });
    } finally {
      process.stderr.write = silenced;
    }
    exported = (await readFile(out, 'utf8'))
      .trimEnd()
      .split('\n')
      .map((l) => parseEvent('jsonl', l));
  }, 120_000);

  it('records every session whole: nothing set aside, no write failed, each chain as long as its row says', async () => {
    const { rows } = await gw.cp.store.sql.query<{ username: string; chain_length: number; stored: number }>(
      `select s.username, s.chain_length, (select count(*)::int from session_events e where e.session_id = s.id) as stored
         from sessions s order by s.started_at`,
    );
    expect(rows.map((r) => r.username)).toEqual(['raw-hostile', 'raw-after']);
    for (const r of rows) expect(r.stored).toBe(r.chain_length);
    expect(gw.logs.filter((l) => /audit_(quarantined|dead_letter|write_failed|replay_failed|spooled)/.test(l))).toEqual(
      [],
    );
    await expect(access(join(gw.config.audit.spoolDir!, 'audit-dead-letter.jsonl'))).rejects.toThrow(/ENOENT/);
  });

  it('exports the values exactly: U+0000 as U+0000, distinct from a typed \\u0000; invalid UTF-8 as the detector read it', async () => {
    const runs = exported.filter((e) => e.username === 'raw-hostile' && e.kind === 'statements');
    const params = runs.flatMap((e) => (e.payload as { runs: unknown[][] }).runs.map((r) => r[7]));
    expect(params).toContainEqual([['a\0b', 'x\ufffd\ufffdy\ufffd(', '\0\ufffd\ufffd\ufffd\0', 'typed \\u0000']]);
    const sql = runs.flatMap((e) => (e.payload as { statements: Array<{ sql: string }> }).statements.map((s) => s.sql));
    expect(sql).toContain("select 'x\ufffd('");
    expect(sql).toContain('select $1 -- \ufffd');
    const odd = exported.filter((e) => e.username === 'ext\0user\ud800');
    expect(odd.map((e) => e.payload)).toEqual([
      { detail: 'cut \ud83d', 'k\0': '\udc00' },
      { reason: 'client-terminate' },
    ]);
  });

  it('verifies, in every format, against the pinned keys and the checkpoint', async () => {
    const keys = deriveAuditKeys(gw.cp.vault.derive(AUDIT_KEY_LABEL));
    const jwks = { keys: [gw.cp.keys.activePublicJwk(), keys.publicJwk] };
    await writeFile(join(dir, 'jwks.json'), JSON.stringify(jwks));
    for (const file of ['hostile.jsonl', 'hostile.csv', 'hostile.ocsf']) {
      const r = await verifyExport(join(dir, file), { jwks });
      expect(r.problem, file).toBeNull();
      expect(r).toMatchObject({ ok: true, pinned: true, sessions: 3 });
      expect(r.notes.join('\n')).toMatch(/MACs: \d+ events keyed/);
      expect(r.notes.join('\n')).toMatch(/checkpoints: 3 session\(s\) in range/);
    }
  });
});
