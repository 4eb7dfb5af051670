import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { auditExport, auditRetention } from '../../src/cli/audit-commands.js';
import { AUDIT_KEY_LABEL, deriveAuditKeys } from '../../src/audit/keys.js';
import { verifyExport } from '../../src/audit/verify.js';
import { startTestGateway, type TestGateway } from '../harness/gateway.js';

let gw: TestGateway;
let dir: string;
let configPath: string;
const from = new Date(Date.now() - 3600_000).toISOString();

beforeAll(async () => {
  gw = await startTestGateway(inject('pgCluster'));
  dir = await mkdtemp(join(tmpdir(), 'pgward-export-'));
  configPath = join(dir, 'pgward.yaml');
  await writeFile(
    configPath,
    // The gateway's own spool dir: the export attaches its checkpoint log, no other's.
    `store: { url: '${gw.storeUrl}', caFile: '${gw.caPath}' }\nvault: { keyFile: '${gw.vaultKeyFile}' }\naudit: { spoolDir: '${gw.config.audit.spoolDir}' }\n`,
  );
  // 100,000 events in 200 sessions, through the gateway's own writer: chained and batched
  // exactly as live sessions are, with payloads that need escaping in every format.
  const audit = gw.gateway.audit;
  for (let s = 0; s < 200; s++) {
    const id = randomUUID();
    for (let i = 0; i < 500; i++) {
      audit.append(id, `user${s % 7}`, i === 0 ? 'session_start' : 'statement', {
        statements: [
          { sql: `select * from "t,${i}" where note = $1 -- "quoted"\nline two`, category: 'read', tables: [`t,${i}`] },
        ],
        rows: i,
        ms: i % 13,
        outcome: 'ok',
      });
    }
  }
  await audit.flush();
}, 120_000);
afterAll(async () => {
  await gw?.close();
});

const silently = async <T>(fn: () => Promise<T>): Promise<T> => {
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    return await fn();
  } finally {
    process.stderr.write = write;
  }
};

describe('audit export and offline verification', () => {
  it('exports 100,000 events and verifies them', async () => {
    const out = join(dir, 'all.jsonl');
    const { events } = await silently(() => auditExport(configPath, { from, format: 'jsonl', out }));
    expect(events).toBe(100_000);
    const jwks = {
      keys: [gw.cp.keys.activePublicJwk(), deriveAuditKeys(gw.cp.vault.derive(AUDIT_KEY_LABEL)).publicJwk],
    };
    const r = await verifyExport(out, { jwks });
    expect(r).toMatchObject({ ok: true, pinned: true, events: 100_000, sessions: 200, problem: null });
    expect(r.keyThumbprint).toMatch(/^[\w-]{43}$/);
    // Every event carries a valid MAC: the gateway's writer holds the audit key.
    expect(r.notes).toContainEqual(expect.stringMatching(/^MACs: 100000 events keyed with audit key /));
  }, 120_000);

  it.each(['csv', 'ocsf'])(
    'verifies the %s format too, for one person',
    async (format) => {
      const out = join(dir, `user3.${format}`);
      const { events } = await silently(() => auditExport(configPath, { from, format, out, user: 'user3' }));
      expect(events).toBeGreaterThan(10_000);
      expect((await verifyExport(out)).ok).toBe(true);
    },
    60_000,
  );

  describe('names the first broken event', () => {
    let lines: string[];
    const variant = async (name: string, edit: (l: string[]) => string[]): Promise<string | null> => {
      const path = join(dir, `${name}.jsonl`);
      await writeFile(path, edit([...lines]).join('\n') + '\n');
      await writeFile(`${path}.manifest.jws`, await readFile(join(dir, 'small.jsonl.manifest.jws')));
      return (await verifyExport(path)).problem;
    };
    beforeAll(async () => {
      const out = join(dir, 'small.jsonl');
      await silently(() => auditExport(configPath, { from, format: 'jsonl', out, user: 'user5' }));
      lines = (await readFile(out, 'utf8')).trimEnd().split('\n');
    }, 60_000);

    it('a changed event', async () => {
      const p = await variant('changed', (l) => {
        l[41] = l[41]!.replace('"rows":', '"rows":1');
        return l;
      });
      expect(p).toMatch(/^line 42 \(session [0-9a-f-]+, seq 42\): the event was changed/);
    });

    it('a removed event', async () => {
      const p = await variant('removed', (l) => [...l.slice(0, 99), ...l.slice(100)]);
      expect(p).toMatch(
        /^line 100 \(session [0-9a-f-]+, seq 101\): expected seq 100: events were removed or reordered/,
      );
    });

    it('two events swapped', async () => {
      const p = await variant('swapped', (l) => {
        [l[10], l[11]] = [l[11]!, l[10]!];
        return l;
      });
      expect(p).toMatch(/^line 11 \(session [0-9a-f-]+, seq 12\): expected seq 11/);
    });

    it('the last events of the export cut off', async () => {
      const p = await variant('truncated', (l) => l.slice(0, -3));
      expect(p).toMatch(/events were removed from its end/);
    });

    it('a forged manifest', async () => {
      const path = join(dir, 'forged.jsonl');
      await writeFile(path, lines.join('\n') + '\n');
      const [h, p, s] = (await readFile(join(dir, 'small.jsonl.manifest.jws'), 'utf8')).trim().split('.') as [
        string,
        string,
        string,
      ];
      const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
      claims.events += 1;
      await writeFile(
        `${path}.manifest.jws`,
        [h, Buffer.from(JSON.stringify(claims)).toString('base64url'), s].join('.'),
      );
      expect((await verifyExport(path)).problem).toMatch(/^the manifest signature does not verify/);
    });
  });

  it('retention deletes old events and records that it did', async () => {
    const n = await silently(() => auditRetention(configPath, '0s'));
    expect(n).toBeGreaterThanOrEqual(100_000);
    const { rows } = await gw.cp.store.sql.query<{ actor: string; detail: { deletedEvents: number } }>(
      `select actor, detail from admin_events where action = 'retention' order by id desc limit 1`,
    );
    expect(rows[0]?.detail.deletedEvents).toBe(n);
    expect(rows[0]?.actor).toMatch(/\(cli\)$/);
  }, 60_000);
});
