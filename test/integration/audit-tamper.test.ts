import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompactSign, exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { canonicalJson, eventHash, genesisHash } from '../../src/audit/chain.js';
import { exportAudit, type Manifest } from '../../src/audit/export.js';
import { AuditQueries } from '../../src/store/audit-queries.js';
import { psql } from '../harness/clients.js';
import { startTestGateway, type TestGateway } from '../harness/gateway.js';
import { buildCli, cliConfig, pgward, type CliResult } from './audit-cli.js';

/**
 * Someone who can write to the store (a DBA, a stolen store password) but holds neither the
 * vault key nor the gateway's state directory tampers with the audit through plain SQL, then
 * an auditor exports and runs the real `pgward audit verify` with the pinned keys.
 */
let gw: TestGateway;
let main: string;
let dir: string;
const from = new Date(Date.now() - 60_000).toISOString();
const sessionOf: Record<string, string> = {};

const cli = (...args: string[]): Promise<CliResult> => pgward(main, args, dir);
const exportFor = async (name: string, ...args: string[]): Promise<string> => {
  const out = join(dir, `${name}.jsonl`);
  const r = await cli('audit', 'export', '--from', from, '-o', out, ...args);
  expect(r.code, r.stderr).toBe(0);
  return out;
};
const verifyPinned = (file: string): Promise<CliResult> => cli('audit', 'verify', file, '--jwks', 'jwks.json');

type Row = { seq: number; at: Date; kind: string; username: string | null; payload: unknown; mac: Buffer | null };
const rows = async (session: string): Promise<Row[]> =>
  (
    await gw.cp.store.sql.query<Row>(
      'select seq, at, kind, username, payload, mac from session_events where session_id = $1 order by seq',
      [session],
    )
  ).rows;

/** What the attacker does after editing events: recompute every hash from the first changed one, and the session's head. */
async function rechain(session: string, keepMacs: boolean): Promise<void> {
  let prev = genesisHash(session);
  for (const r of await rows(session)) {
    const hash = eventHash({
      session_id: session,
      seq: r.seq,
      at: r.at.toISOString(),
      kind: r.kind,
      username: r.username,
      payload: r.payload,
      prev_hash: prev,
    });
    await gw.cp.store.sql.query(
      `update session_events set prev_hash = decode($3, 'hex'), hash = decode($4, 'hex')${keepMacs ? '' : ', mac = null'}
        where session_id = $1 and seq = $2`,
      [session, r.seq, prev, hash],
    );
    prev = hash;
  }
  await gw.cp.store.sql.query(`update sessions set chain_head = decode($2, 'hex') where id = $1`, [session, prev]);
}

beforeAll(async () => {
  [gw, main] = await Promise.all([startTestGateway(inject('pgCluster')), buildCli()]);
  dir = await mkdtemp(join(tmpdir(), 'pgward-tamper-'));
  await cliConfig(gw, dir);
  const statements: Record<string, string[]> = {
    alice: ['create table ledger (id int, amount int)', 'insert into ledger values (1, 100)', 'select * from ledger'],
    bob: ['select 2'],
    carol: ['select 3', 'select 4'],
    erin: ['select 5'],
  };
  for (const [user, sql] of Object.entries(statements)) {
    const { token } = await gw.issue(user);
    const r = await psql(
      gw,
      user,
      gw.database,
      token,
      sql.flatMap((s) => ['-c', s]),
    );
    expect(r.code, r.stderr).toBe(0);
  }
  await gw.gateway.settled();
  const { rows: s } = await gw.cp.store.sql.query<{ id: string; username: string }>(
    'select id, username from sessions',
  );
  for (const r of s) sessionOf[r.username] = r.id;
  // What the gateway does every minute (and when it stops): sign a checkpoint outside the store.
  await gw.gateway.audit.checkpoint();
  const keys = await cli('audit', 'key');
  expect(keys.code, keys.stderr).toBe(0);
  await writeFile(join(dir, 'jwks.json'), keys.stdout);
}, 180_000);
afterAll(async () => {
  await gw?.close();
});

describe('an untouched store', () => {
  it('exports and verifies with the pinned keys: every MAC valid, every checkpointed session present', async () => {
    const keys = JSON.parse(await readFile(join(dir, 'jwks.json'), 'utf8')) as { keys: Array<{ kty: string }> };
    expect(keys.keys.map((k) => k.kty).sort()).toEqual(['EC', 'OKP']);
    const file = await exportFor('clean');
    const r = await verifyPinned(file);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/^OK: 16 events in 4 sessions/);
    expect(r.stdout).toMatch(/MACs: 16 events keyed with audit key /);
    expect(r.stdout).toMatch(/checkpoints: 4 session\(s\) in range seen by 1 gateway log/);
  });

  it('--with-events adds refused logins and admin actions after the session events, and the export still verifies', async () => {
    const refused = await psql(gw, 'mallory', gw.database, 'not-a-token', ['-c', 'select 1']);
    expect(refused.code).not.toBe(0);
    await gw.gateway.settled();
    const file = await exportFor('with-events', '--with-events');
    const records = (await readFile(file, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { record?: string; username?: string });
    expect(records.some((r) => r.record === 'auth_event' && r.username === 'mallory')).toBe(true);
    const r = await verifyPinned(file);
    expect(r.code, r.stdout).toBe(0);
  });
});

describe('pinning (finding 4)', () => {
  it('refuses a manifest whose key is not pinned, and takes it on first use only when told, printing how to pin', async () => {
    const file = join(dir, 'clean.jsonl');
    const refused = await cli('audit', 'verify', file);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/^REFUSED: .*not pinned \(thumbprint [\w-]{43}, checkpoint key [\w-]{43}\)/);
    expect(refused.stdout).toContain('--trust-on-first-use');
    expect(refused.stdout).toContain('pgward audit key > audit-jwks.json');

    const tofu = await cli('audit', 'verify', file, '--trust-on-first-use');
    expect(tofu.code, tofu.stdout).toBe(0);
    expect(tofu.stdout).toMatch(/trusted on first use: manifest key [\w-]{43}, checkpoint key [\w-]{43}/);
    const pins = [...tofu.stdout.matchAll(/--pin ([\w-]{43})/g)].map((m) => m[1]!);
    expect(pins).toHaveLength(2);
    const pinned = await cli('audit', 'verify', file, ...pins.flatMap((p) => ['--pin', p]));
    expect(pinned.code, pinned.stdout).toBe(0);
    expect(pinned.stdout).not.toContain('first use');
  });

  it('a forged export that drops a session, signed with a key of its own: refused unpinned, broken pinned', async () => {
    const lines = (await readFile(join(dir, 'clean.jsonl'), 'utf8')).trimEnd().split('\n');
    const kept = lines.filter((l) => !l.includes(sessionOf['bob']!));
    const forged = join(dir, 'forged.jsonl');
    await writeFile(forged, kept.join('\n') + '\n');
    const [, payload] = (await readFile(join(dir, 'clean.jsonl.manifest.jws'), 'utf8')).split('.');
    const m = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Manifest;
    const { createHash } = await import('node:crypto');
    const claims: Manifest = {
      ...m,
      events: kept.length,
      sha256: createHash('sha256')
        .update(kept.join('\n') + '\n')
        .digest('hex'),
      sessions: m.sessions.filter((s) => s.id !== sessionOf['bob']),
    };
    delete claims.checkpoints;
    const own = await generateKeyPair('ES256', { extractable: true });
    const jwk = await exportJWK(own.publicKey);
    await writeFile(
      `${forged}.manifest.jws`,
      await new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
        .setProtectedHeader({ alg: 'ES256', kid: 'forger', jwk: { kty: 'EC', crv: 'P-256', x: jwk.x!, y: jwk.y! } })
        .sign(own.privateKey),
    );
    const unpinned = await cli('audit', 'verify', forged);
    expect(unpinned.code).toBe(1);
    expect(unpinned.stdout).toMatch(/^REFUSED: /);
    const pinned = await verifyPinned(forged);
    expect(pinned.code).toBe(1);
    expect(pinned.stdout).toMatch(/^BROKEN: the manifest is signed by key forger, which the given JWKS does not hold/);
  });
});

describe('tampering through SQL (finding 3)', () => {
  it("rewriting a session's statement, re-chaining and updating chain_head: the MAC no longer matches", async () => {
    const alice = sessionOf['alice']!;
    await gw.cp.store.sql.query(
      `update session_events set payload = replace(payload::text, 'insert into ledger', 'insert into archive')::jsonb
        where session_id = $1 and kind = 'statements'`,
      [alice],
    );
    expect(JSON.stringify((await rows(alice)).map((r) => r.payload))).toContain('insert into archive');
    await rechain(alice, true);
    const r = await verifyPinned(await exportFor('rewritten', '--user', 'alice'));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      new RegExp(
        `^BROKEN: session ${alice} seq 3 \\(.*\\) has a MAC that does not match its content: it was rewritten by something without the audit key`,
      ),
    );
  });

  it('the same with the MACs removed: events without a MAC since keyed chains began', async () => {
    const alice = sessionOf['alice']!;
    await rechain(alice, false);
    const r = await verifyPinned(await exportFor('rewritten-unkeyed', '--user', 'alice'));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      new RegExp(`^BROKEN: session ${alice} seq 1 .* carries no MAC, though events recorded since`),
    );
  });

  it('and an export that did not check MACs still fails against the checkpoint, naming the rewritten event', async () => {
    const alice = sessionOf['alice']!;
    const out = join(dir, 'rewritten-nomac.jsonl');
    const key = gw.cp.keys.signingKey();
    const { importJWK } = await import('jose');
    await exportAudit(new AuditQueries(gw.cp.store), {
      from: new Date(from),
      to: new Date(),
      user: 'alice',
      format: 'jsonl',
      out,
      signer: { ...key, publicKey: (await importJWK(gw.cp.keys.activePublicJwk(), 'ES256')) as never },
      checkpoints: [join(gw.config.audit.spoolDir!, 'audit-checkpoints.jsonl')],
    });
    const r = await verifyPinned(out);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      new RegExp(
        `^BROKEN: line 4 \\(session ${alice}, seq 4\\): session ${alice} seq 4 is not the event checkpoint 1 of gateway ${gw.config.gatewayId} saw .*: the session was rewritten, at this event or before it, after it was recorded`,
      ),
    );
  });

  it('deleting a whole session (its events and its row)', async () => {
    const bob = sessionOf['bob']!;
    await gw.cp.store.sql.query('delete from session_events where session_id = $1', [bob]);
    await gw.cp.store.sql.query('delete from sessions where id = $1', [bob]);
    const r = await verifyPinned(await exportFor('deleted', '--user', 'bob'));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      new RegExp(
        `^BROKEN: session ${bob} \\(user bob\\) is missing from the export, but checkpoint 1 of gateway ${gw.config.gatewayId} saw it at seq 4 .*: it was deleted from the store`,
      ),
    );
  });

  it("cutting the end off a session's chain (and its row's head and length)", async () => {
    const carol = sessionOf['carol']!;
    await gw.cp.store.sql.query('delete from session_events where session_id = $1 and seq > 2', [carol]);
    const [, second] = await rows(carol);
    expect(second).toBeDefined();
    await gw.cp.store.sql.query(
      `update sessions set chain_length = 2, chain_head = (select hash from session_events where session_id = $1 and seq = 2) where id = $1`,
      [carol],
    );
    const r = await verifyPinned(await exportFor('cut', '--user', 'carol'));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      new RegExp(
        `^BROKEN: session ${carol} ends at seq 2 in the export, but checkpoint 1 of gateway ${gw.config.gatewayId} saw it reach seq 4 .*: events were deleted from its end`,
      ),
    );
  });

  it('a made-up session inserted with a valid (unkeyed) chain', async () => {
    const fake = randomUUID();
    const payload = { client: '10.0.0.9', method: 'scram-sha-256' };
    const at = new Date();
    const hash = eventHash({
      session_id: fake,
      seq: 1,
      at: at.toISOString(),
      kind: 'session_start',
      username: 'mallory',
      payload,
      prev_hash: genesisHash(fake),
    });
    await gw.cp.store.sql.query(
      `insert into session_events (session_id, seq, at, kind, username, payload, prev_hash, hash)
       values ($1, 1, $2, 'session_start', 'mallory', $3::jsonb, decode($4, 'hex'), decode($5, 'hex'))`,
      [fake, at, canonicalJson(payload), genesisHash(fake), hash],
    );
    const r = await verifyPinned(await exportFor('made-up', '--user', 'mallory'));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`^BROKEN: session ${fake} seq 1 .* carries no MAC`));
  });

  it('truncating the log', async () => {
    await gw.cp.store.sql.query('truncate session_events');
    const r = await verifyPinned(await exportFor('truncated'));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /^BROKEN: session [0-9a-f-]+ \(user \w+\) is missing from the export, but checkpoint 1 of gateway .*: it was deleted from the store, unless it still waits in that gateway's spool \(and 3 more checkpointed session\(s\)\)/,
    );
  });
});
