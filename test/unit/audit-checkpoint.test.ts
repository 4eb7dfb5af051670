import { createHash, randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodePayload, defaultCheckpointFile } from '../../src/audit/checkpoint.js';
import { readCheckpoints } from '../../src/audit/checkpoint-verify.js';
import { deriveAuditKeys } from '../../src/audit/keys.js';
import { AuditWriter } from '../../src/audit/writer.js';
import { createLogger } from '../../src/util/logger.js';

const keys = deriveAuditKeys(randomBytes(32));
const jwks = { keys: [keys.publicJwk] };
const takesAll = { insertEvents: async () => undefined, refusal: () => null };
const writer = (dir: string, o: { webhook?: string } = {}): AuditWriter =>
  new AuditWriter(takesAll, createLogger('silent'), { keys, checkpoint: { gatewayId: 'gw-a', ...o } }, dir);
const lines = async (dir: string): Promise<string[]> =>
  (await readFile(defaultCheckpointFile(dir), 'utf8')).trimEnd().split('\n');

describe('audit checkpoints', () => {
  it("sign what the writer appended: each session's length and head, totals; nothing when nothing changed", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pgward-cp-'));
    const w = writer(dir);
    const [a, b] = [randomUUID(), randomUUID()];
    const heads: Record<string, string> = {};
    for (let i = 0; i < 3; i++) heads[a] = w.append(a, 'ann', 'statements', { i }).hash;
    heads[b] = w.append(b, 'ben', 'session_start', {}).hash;
    w.endChain(b);
    await w.checkpoint();
    await w.checkpoint();
    const [line, ...more] = await lines(dir);
    expect(more).toEqual([]);
    const set = readCheckpoints([line!], { jwks });
    if ('problem' in set) throw new Error(set.problem);
    expect(set.points.map((p) => ({ s: p.session, u: p.user, seq: p.seq, head: p.head }))).toEqual([
      { s: a, u: 'ann', seq: 3, head: heads[a] },
      { s: b, u: 'ben', seq: 1, head: heads[b] },
    ]);
    expect(decodePayload(line!)).toMatchObject({
      gateway: 'gw-a',
      seq: 1,
      prev: null,
      totals: { sessions: 2, events: 4 },
    });
    await w.close();
  });

  it('continue one log across a restart, each line linked to the one before; a changed or removed line shows', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pgward-cp-'));
    const first = writer(dir);
    first.append(randomUUID(), 'ann', 'statements', {});
    await first.close();
    const second = writer(dir);
    second.append(randomUUID(), 'ann', 'statements', {});
    await second.close();
    const [l1, l2] = await lines(dir);
    expect(decodePayload(l2!)).toMatchObject({
      seq: 2,
      prev: createHash('sha256').update(l1!).digest('hex'),
      totals: { sessions: 2, events: 2 },
    });
    expect(readCheckpoints([`${l1}\n${l2}\n`], { jwks })).not.toHaveProperty('problem');

    const [h, p, s] = l1!.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString()) as { totals: { events: number } };
    claims.totals.events = 0;
    const changed = [h, Buffer.from(JSON.stringify(claims)).toString('base64url'), s].join('.');
    expect(readCheckpoints([changed, l2!], { jwks })).toEqual({
      problem: 'checkpoint 1: its signature does not verify (changed after it was signed)',
    });
    // A third line that does not follow the second (written elsewhere with the key, or edited).
    const third = writer(dir);
    third.append(randomUUID(), 'ann', 'statements', {});
    await third.close();
    const [, , l3] = await lines(dir);
    await writeFile(defaultCheckpointFile(dir), `${l1}\n${l3}\n`);
    const gap = readCheckpoints([`${l1}\n${l3}\n`], { jwks });
    if ('problem' in gap) throw new Error(gap.problem);
    expect(gap.gateways.get('gw-a')).toMatchObject({ first: 1, last: 3, gaps: 1 });
  });

  it('are refused when signed by a key that is not pinned', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pgward-cp-'));
    const w = writer(dir);
    w.append(randomUUID(), 'ann', 'statements', {});
    await w.close();
    const other = deriveAuditKeys(randomBytes(32));
    expect(readCheckpoints(await lines(dir), { jwks: { keys: [other.publicJwk] } })).toEqual({
      problem: `checkpoint 1: signed by key ${keys.kid}, which the given JWKS does not hold`,
    });
    expect(readCheckpoints(await lines(dir), { thumbprints: [other.kid] })).toEqual({
      problem: `checkpoint 1: signed by key ${keys.kid}, which is not pinned`,
    });
    expect(readCheckpoints(await lines(dir), { thumbprints: [keys.kid] })).not.toHaveProperty('problem');
  });

  it('go to the webhook as well, in order, retried when it fails', async () => {
    const got: Array<{ gateway: string; seq: number; checkpoint: string }> = [];
    let calls = 0;
    const hook = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        if (++calls === 1) return void res.writeHead(503).end();
        got.push(JSON.parse(body) as (typeof got)[number]);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    try {
      const dir = await mkdtemp(join(tmpdir(), 'pgward-cp-'));
      const w = writer(dir, { webhook: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/checkpoints` });
      w.append(randomUUID(), 'ann', 'statements', {});
      await w.checkpoint();
      w.append(randomUUID(), 'ann', 'statements', {});
      await w.close();
      expect(got.map((g) => [g.gateway, g.seq])).toEqual([
        ['gw-a', 1],
        ['gw-a', 2],
      ]);
      expect(got.map((g) => g.checkpoint)).toEqual(await lines(dir));
      expect(calls).toBe(3);
    } finally {
      await new Promise((r) => hook.close(r));
    }
  });
});
