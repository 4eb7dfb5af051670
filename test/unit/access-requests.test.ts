import { describe, expect, it } from 'vitest';
import { dryRun } from '../../src/policy/dry-run.js';
import { evaluate, type AccessRequest } from '../../src/policy/evaluate.js';
import { parsePolicyDocuments } from '../../src/policy/loader.js';
import { approve, checkReason, findRequestable, grantDuration, type Approval } from '../../src/policy/requestable.js';
import type { PolicySet } from '../../src/policy/schema.js';
import { readStartupSettings } from '../../src/policy/startup-settings.js';
import type { GatewayConfig } from '../../src/config/schema.js';
import type { AccessRequestRow } from '../../src/store/access-request-queries.js';
import { detailView, fieldIssue, requestOptions } from '../../src/web/console-api-access.js';

function policy(yaml: string): PolicySet {
  const loaded = parsePolicyDocuments({ 'jit.yaml': yaml }, 3);
  if (!loaded.ok) throw new Error(loaded.problems.map((p) => `${p.line}:${p.column} ${p.message}`).join('\n'));
  return loaded.set;
}

const P = policy(`
rules:
  - name: devs-read
    effect: allow
    subjects: { groups: [developers] }
    targets: [warehouse]
  - name: devs-write
    effect: allow
    subjects: { groups: [developers] }
    targets: [app]
    role: app_rw
    requestable:
      approvers: { groups: [dba] }
      approvals: 2
      maxDuration: 2h
      reason: { pattern: 'OPS-[0-9]+' }
  - name: dba-glass
    effect: allow
    subjects: { groups: [dba] }
    targets: [app]
    role: app_owner
    requestable:
      approvers: { groups: [dba] }
      selfApproval: break-glass
      reason: { required: false }
`);

const conn = (over: Partial<AccessRequest> = {}): AccessRequest => ({
  user: 'alice',
  groups: ['developers'],
  claims: {},
  method: 'scram-sha-256-plus',
  source: '10.0.0.1',
  tls: { version: 'TLSv1.3', channelBinding: true },
  target: 'app',
  clientDatabase: 'app',
  database: 'app',
  targetDatabase: 'app',
  targetRole: 'app_default',
  settings: readStartupSettings([]),
  at: new Date('2026-12-04T10:00:00Z'),
  ...over,
});

const grantFor = (over: Partial<{ user: string; rule: string; expiresAt: Date; database: string }> = {}) => ({
  request: '00000000-0000-4000-8000-000000000001',
  user: 'alice',
  rule: 'devs-write',
  target: 'app',
  database: 'app',
  expiresAt: new Date('2026-12-04T11:00:00Z'),
  ...over,
});

describe('requestable rules in evaluation', () => {
  it('grant nothing standing, and the refusal names the command to ask', () => {
    const d = evaluate(P, conn());
    expect(d).toMatchObject({
      kind: 'deny',
      code: '28000',
      message: 'pgward: user "alice" has no access to database "app"',
      hint: 'Ask for access: pgward request create --target app --database app --role app_rw --reason "..."',
    });
  });

  it('grant through an approved request in force, naming it', () => {
    expect(evaluate(P, conn(), [grantFor()])).toMatchObject({
      kind: 'grant',
      rule: 'devs-write',
      role: 'app_rw',
      request: grantFor().request,
    });
  });

  it.each([
    ['expired', grantFor({ expiresAt: new Date('2026-12-04T10:00:00Z') })],
    ['for someone else', grantFor({ user: 'bob' })],
    ['for another database', grantFor({ database: 'other' })],
    ['of another rule', grantFor({ rule: 'dba-glass' })],
  ])('ignore a grant %s', (_what, g) => {
    expect(evaluate(P, conn(), [g]).kind).toBe('deny');
  });

  it('give no hint to someone who may not ask', () => {
    const d = evaluate(P, conn({ user: 'mallory', groups: ['sales'] }));
    expect(d.kind === 'deny' && d.hint).toBeFalsy();
  });
});

describe('asking and approving', () => {
  const place = {
    user: 'alice',
    groups: ['developers'],
    target: 'app',
    database: 'app',
    targetDatabase: 'app',
    targetRole: 'x',
  };
  const rule = findRequestable(P, place).rule;

  it('finds the rule by role or name, and only for its subjects', () => {
    expect(findRequestable(P, { ...place, role: 'app_rw' }).rule.name).toBe('devs-write');
    expect(() => findRequestable(P, { ...place, rule: 'dba-glass' })).toThrow(
      'no requestable rule lets alice ask for rule dba-glass',
    );
    expect(() => findRequestable(P, { ...place, target: 'warehouse' })).toThrow('no requestable rule');
  });

  it('checks the reason and caps the duration', () => {
    expect(() => checkReason(rule, undefined)).toThrow('requires a reason');
    expect(() => checkReason(rule, 'because')).toThrow('must match');
    expect(() => checkReason(rule, 'OPS-12 index')).not.toThrow();
    expect(grantDuration(rule, undefined)).toBe(7_200_000);
    expect(grantDuration(rule, '30m')).toBe(1_800_000);
    expect(() => grantDuration(rule, '3h')).toThrow('at most 2h');
  });

  it('needs distinct approvers from the approver groups, never the requester without break-glass', () => {
    const bob = { user: 'bob', groups: ['dba'] };
    expect(() => approve(rule, 'alice', [], { user: 'alice', groups: ['dba'] })).toThrow(
      'nobody approves their own request',
    );
    expect(() => approve(rule, 'alice', [], { user: 'eve', groups: ['developers'] })).toThrow(
      'not in an approver group',
    );
    expect(approve(rule, 'alice', [], bob)).toEqual({ done: false, breakGlass: false });
    const one: Approval[] = [{ by: 'bob', at: new Date(), reason: null, breakGlass: false }];
    expect(() => approve(rule, 'alice', one, bob)).toThrow('already approved');
    expect(approve(rule, 'alice', one, { user: 'erin', groups: ['dba'] })).toEqual({ done: true, breakGlass: false });
    const glass = findRequestable(P, { ...place, user: 'dana', groups: ['dba'] }).rule;
    expect(approve(glass, 'dana', [], { user: 'dana', groups: ['dba'] })).toEqual({ done: true, breakGlass: true });
  });

  it('rejects an invalid requestable block', () => {
    const bad = parsePolicyDocuments(
      {
        'bad.yaml':
          'rules:\n  - name: x\n    effect: allow\n    subjects: { users: [a] }\n    requestable: { approvers: { groups: [] }, reason: { pattern: "(" } }\n',
      },
      1,
    );
    expect(bad.ok).toBe(false);
  });
});

describe('the policy dry run', () => {
  const targets = [{ name: 'app', database: 'app', databases: [], role: 'app_default' }];

  it('says when a refusal is covered by a requestable rule, on what terms, and the hint the person gets', () => {
    const d = dryRun(P, targets, { user: 'alice', groups: ['developers'], database: 'app' });
    expect(d).toMatchObject({
      kind: 'deny',
      reason:
        'no allow rule matches user alice (groups: developers) on app/app; requestable by rule devs-write ' +
        '(approvers dba; 2 approvals; at most 2h; reason matching OPS-[0-9]+)',
      hint: 'Ask for access: pgward request create --target app --database app --role app_rw --reason "..."',
    });
  });

  it('adds nothing to a refusal no requestable rule covers', () => {
    const d = dryRun(P, targets, { user: 'mallory', groups: [], database: 'app' });
    expect(d).toMatchObject({ kind: 'deny', reason: 'no allow rule matches user mallory (groups: none) on app/app' });
    expect(d.kind === 'deny' && d.hint).toBeFalsy();
  });
});

describe('the console side', () => {
  const config = {
    targets: {
      app: { database: 'app', databases: ['app_archive', 'tmp_*'], role: 'app_default' },
      warehouse: { database: 'wh', databases: [], role: 'wh_ro' },
    },
  } as unknown as GatewayConfig;
  const ctx = { config, policy: { current: () => P } };

  it('offers each person the requestable rules they may ask for, per target, with concrete databases', () => {
    expect(requestOptions(ctx, { user: 'alice', groups: ['developers'] })).toEqual([
      {
        rule: 'devs-write',
        target: 'app',
        databases: ['app'],
        role: 'app_rw',
        maxDuration: '2h',
        approvals: 2,
        approverGroups: ['dba'],
        reasonRequired: true,
        reasonPattern: 'OPS-[0-9]+',
        selfApproval: 'never',
      },
    ]);
    expect(requestOptions(ctx, { user: 'mallory', groups: [] })).toEqual([]);
  });

  it('names the field each problem of a new request belongs to', () => {
    const place = {
      user: 'alice',
      groups: ['developers'],
      target: 'app',
      database: 'app',
      targetDatabase: 'app',
      targetRole: 'app_default',
      rule: 'devs-write',
    };
    expect(fieldIssue(P, { ...place, rule: 'dba-glass' }, undefined, 'OPS-1')?.field).toBe('rule');
    expect(fieldIssue(P, place, '3h', 'OPS-1')).toEqual({
      field: 'duration',
      message: 'rule devs-write grants at most 2h',
    });
    expect(fieldIssue(P, place, 'soon', 'OPS-1')?.field).toBe('duration');
    expect(fieldIssue(P, place, '30m', '')).toEqual({ field: 'reason', message: 'rule devs-write requires a reason' });
    expect(fieldIssue(P, place, '30m', 'fix')?.message).toBe('the reason must match /OPS-[0-9]+/ (rule devs-write)');
    expect(fieldIssue(P, place, '30m', 'OPS-12')).toBeNull();
  });

  it('reads the decisions of a request from its chain', () => {
    const at = new Date('2026-12-04T10:00:00Z');
    const request: AccessRequestRow = {
      id: '00000000-0000-4000-8000-000000000009',
      createdAt: at,
      requester: 'dana',
      requesterGroups: ['dba'],
      target: 'app',
      database: 'app',
      rule: 'dba-glass',
      role: 'app_owner',
      durationMs: 3_600_000,
      reason: null,
      state: 'approved',
      approvals: [{ by: 'dana', at: at.toISOString(), reason: 'outage', breakGlass: true }],
      needed: 1,
      decidedAt: at,
      decidedBy: 'dana',
      decisionReason: 'outage',
      expiresAt: new Date(at.getTime() + 3_600_000),
    };
    const rule = findRequestable(P, {
      user: 'dana',
      groups: ['dba'],
      target: 'app',
      database: 'app',
      targetDatabase: 'app',
      targetRole: 'x',
    }).rule;
    const view = detailView(
      {
        request,
        events: [
          { seq: 1, at, kind: 'access_requested', user: 'dana', payload: { via: 'console' } },
          {
            seq: 2,
            at,
            kind: 'access_approved',
            user: 'dana',
            payload: { by: 'dana', reason: 'outage', breakGlass: true, via: 'operator', operator: 'root' },
          },
        ],
        sessions: [],
      },
      rule,
    );
    expect(view.rule).toEqual({
      name: 'dba-glass',
      approverGroups: ['dba'],
      approvals: 1,
      maxDuration: '1h',
      selfApproval: 'break-glass',
      onExpiry: 'end-sessions',
    });
    expect(view.approvers).toEqual([{ user: 'dana', at: at.toISOString(), reason: 'outage', breakGlass: true }]);
    expect(view.decisions).toEqual([
      { at, kind: 'approved', by: 'dana', reason: 'outage', breakGlass: true, via: 'operator' },
    ]);
  });
});
