import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { parsePolicyDocuments } from '../../src/policy/loader.js';
import type { PolicySet } from '../../src/policy/schema.js';
import type { AccessRequestRow } from '../../src/store/access-request-queries.js';
import { reachOf, windowEnd } from '../../src/web/my-reach.js';

function policy(yaml: string): PolicySet {
  const loaded = parsePolicyDocuments({ 'test.yaml': yaml }, 3);
  if (!loaded.ok) throw new Error(loaded.problems.map((p) => `${p.line}:${p.column} ${p.message}`).join('\n'));
  return loaded.set;
}

const target = (database: string, databases: string[] = []) => ({
  host: 'db.internal',
  port: 5432,
  database,
  databases,
  role: 'owner',
});
const config = parseConfig({
  vault: { keyFile: '/nonexistent' },
  targets: { app: target('app_db', ['app_reports', 'app_*']), ledger: target('ledger') },
});

const POLICY = `rules:
  - name: devs-app
    effect: allow
    subjects: { groups: [developers] }
    targets: [app]
    databases: [app_db, app_reports]
    role: app_rw
    session: { maxDuration: 8h }
  - name: devs-reports-office-hours
    effect: allow
    subjects: { groups: [developers] }
    targets: [app]
    databases: [app_reports]
    role: app_ro
    schedule: { timezone: Europe/Paris, days: [mon, tue, wed, thu, fri], from: '09:00', to: '18:00' }
    session: { readOnly: true }
  - name: no-ledger
    effect: deny
    subjects: { users: ['*'] }
    targets: [ledger]
`;

const at = new Date('2026-12-04T10:00:00Z'); // a Friday, 11:00 in Paris
const tokenExpiresAt = new Date('2026-12-04T18:00:00Z');
const base = {
  user: 'alice',
  groups: ['developers'],
  tokenExpiresAt,
  from: '127.0.0.1',
  at,
  policy: policy(POLICY),
  targets: config.targets,
  pg: { host: 'pgward.example.com', port: 5432, caPath: null },
  requests: [] as AccessRequestRow[],
};

describe('what a developer reaches now', () => {
  it('lists each plain database name with the decision of the policy in force, role, until when and the psql line without a password', () => {
    const rows = reachOf(base);
    expect(rows.map((r) => [r.database, r.granted, r.role, r.rule, r.readOnly])).toEqual([
      ['app', true, 'app_rw', 'devs-app', false],
      ['app_reports', true, 'app_rw', 'devs-app', false],
      ['ledger', false, null, null, false],
    ]);
    expect(rows[0]!.until).toEqual(tokenExpiresAt);
    expect(rows[0]!.conditions).toEqual(['sessions end after 8 h']);
    expect(rows[0]!.psql).toMatch(/^psql "host=pgward.example.com port=5432 dbname=app user=alice sslmode=verify-full/);
    expect(rows[0]!.psql).not.toContain('PGPASSWORD');
    // A refusal says what psql would be told, never the rule that refused.
    expect(rows[2]!.message).not.toContain('no-ledger');
    expect(rows[2]!.psql).toBeNull();
  });

  it('ends access at the close of a schedule window when it comes before the token expires', () => {
    const p = policy(POLICY.replace('databases: [app_db, app_reports]', 'databases: [app_db]'));
    const reports = reachOf({ ...base, policy: p }).find((r) => r.database === 'app_reports')!;
    expect([reports.granted, reports.rule, reports.readOnly]).toEqual([true, 'devs-reports-office-hours', true]);
    // 18:00 in Paris is 17:00 UTC, before the token's 18:00 UTC.
    expect(reports.until).toEqual(new Date('2026-12-04T17:00:00Z'));
    expect(reports.conditions[0]).toBe('mon, tue, wed, thu, fri 09:00–18:00 (Europe/Paris)');
  });

  it('adds what an approved access request opens, until the request expires', () => {
    const request = {
      id: '3f1c2b4e-0000-4000-8000-000000000001',
      target: 'ledger',
      database: 'ledger',
      role: 'ledger_ro',
      rule: 'ledger-on-request',
      expiresAt: new Date('2026-12-04T11:00:00Z'),
    } as AccessRequestRow;
    const ledger = reachOf({ ...base, requests: [request] }).filter((r) => r.target === 'ledger');
    expect(ledger).toEqual([
      expect.objectContaining({
        granted: true,
        role: 'ledger_ro',
        accessRequest: request.id,
        until: request.expiresAt,
      }),
    ]);
  });

  it('finds the end of a window across midnight and says nothing for one open longer than two days', () => {
    const night = { timezone: 'UTC', from: '22:00', to: '06:00' };
    expect(windowEnd(night, new Date('2026-12-04T23:30:10Z'))).toEqual(new Date('2026-12-05T06:00:00Z'));
    expect(windowEnd({ timezone: 'UTC', from: '00:00', to: '00:00' }, at)).toBeNull();
  });
});
