import type { FastifyInstance, FastifyReply } from 'fastify';
import { AccessRequests, REQUEST_EVENTS, type Person } from '../access/access-requests.js';
import { AUDIT_KEY_LABEL, deriveAuditKeys } from '../audit/keys.js';
import { AuditWriter } from '../audit/writer.js';
import { AlertSender } from '../detect/alerts.js';
import { globMatch } from '../util/glob.js';
import { parseDuration } from '../util/duration.js';
import { placeMatches, subjectMatches } from '../policy/evaluate.js';
import {
  checkReason,
  findRequestable,
  grantDuration,
  RequestRefused,
  type RequestableRule,
} from '../policy/requestable.js';
import type { PolicySet } from '../policy/schema.js';
import type { AccessRequestDetail, AccessRequestRow } from '../store/access-request-queries.js';
import { AuditQueries } from '../store/audit-queries.js';
import type { ApiContext } from './api-context.js';
import { addApiRoute, caller } from './api-route.js';
import * as A from './api-schemas-access.js';
import { sessionRoles } from './roles.js';
import type { WebSession } from './session.js';

/**
 * Just-in-time access in the console (docs/access-requests.md): developers ask for the
 * requestable rules they may ask for, approvers decide, auditors read a request whole. The
 * person acting is always the console sign-in (user and groups from the identity provider),
 * never a typed name; every rule check is the policy's, in AccessRequests, as for the CLI.
 */
export function registerAccessRoutes(api: FastifyInstance, ctx: ApiContext): void {
  // The console continues each request's audit chain itself, under the request's row lock.
  const audit = new AuditWriter(new AuditQueries(ctx.store), ctx.log, {
    keys: deriveAuditKeys(ctx.vault.derive(AUDIT_KEY_LABEL)),
  });
  const alerts = new AlertSender(ctx.log);
  const requests = new AccessRequests({
    store: ctx.store,
    audit,
    alerts,
    policy: () => ctx.policy.current(),
    log: ctx.log,
    actor: 'console',
  });
  api.addHook('onClose', async () => {
    await audit.close();
    await alerts.drain();
  });
  const person = (s: WebSession): Person => ({ user: s.user, groups: s.groups, via: { kind: 'console' } });
  /** Runs a step; a refusal by the policy is a 400 with its reason, a missing request a 404. */
  const act = async (reply: FastifyReply, step: () => Promise<AccessRequestRow>) => {
    try {
      const row = await step();
      // The step's chain event is stored before the answer, so a reload shows it.
      await audit.flush();
      return row;
    } catch (err) {
      if (!(err instanceof RequestRefused)) throw err;
      return reply.code(/^no access request /.test(err.message) ? 404 : 400).send({ error: err.message });
    }
  };
  /** Approving acts on others' access: the groups must be as fresh as an admin's (web.rolesMaxAge). */
  const freshApprover = (s: WebSession, reply: FastifyReply): FastifyReply | null => {
    const fresh = Date.now() - s.groupsReadAt.getTime() <= parseDuration(ctx.config.web.rolesMaxAge);
    return fresh ? null : reply.code(401).send({ error: 'sign in again to confirm your approver groups' });
  };

  addApiRoute(api, {
    method: 'GET',
    url: '/api/access/options',
    config: { role: 'developer' },
    schema: { summary: 'What I may ask for: requestable rules, targets, databases', response: A.requestOptions },
    handler: async (req) => requestOptions(ctx, caller(req)),
  });
  addApiRoute(api, {
    method: 'GET',
    url: '/api/my/access-requests',
    config: { role: 'developer' },
    schema: { summary: 'My access requests, newest first', response: A.accessRequests },
    handler: async (req) => requests.queries.list({ requester: caller(req).user, limit: 50 }),
  });
  addApiRoute(api, {
    method: 'POST',
    url: '/api/access-requests',
    config: { role: 'developer', csrf: true },
    schema: { summary: 'Ask for access (a requestable rule)', body: A.createRequest, response: A.accessRequest },
    handler: async (req, reply) => {
      const s = caller(req);
      const b = req.body;
      const t = ctx.config.targets[b.target];
      if (!t)
        return reply.code(400).send({ error: `no target ${b.target}`, issues: [`target: no target ${b.target}`] });
      const place = {
        user: s.user,
        groups: s.groups,
        target: b.target,
        database: b.database ?? t.database,
        targetDatabase: t.database,
        targetRole: t.role,
        rule: b.rule,
      };
      // Each check on its own, so the page can show the problem beside its field.
      const issue = fieldIssue(ctx.policy.current(), place, b.duration, b.reason);
      if (issue) return reply.code(400).send({ error: issue.message, issues: [`${issue.field}: ${issue.message}`] });
      return act(reply, () =>
        requests.create({ ...place, duration: b.duration, reason: b.reason, via: { kind: 'console' } }),
      );
    },
  });
  addApiRoute(api, {
    method: 'POST',
    url: '/api/access-requests/:id/cancel',
    config: { role: 'developer', csrf: true },
    schema: {
      summary: 'Cancel my request (an approved one gives its grant back)',
      params: A.requestId,
      response: A.accessRequest,
    },
    handler: async (req, reply) =>
      act(reply, () => requests.cancel(req.params.id, caller(req).user, { kind: 'console' })),
  });
  addApiRoute(api, {
    method: 'GET',
    url: '/api/access-requests/count',
    config: { role: 'developer' },
    schema: { summary: 'Whether I approve anything, and how many requests wait for me', response: A.approverCount },
    handler: async (req) => {
      const s = caller(req);
      const policy = ctx.policy.current();
      const approver = requestableRules(policy).some((r) => inApprovers(r, s.groups));
      if (!approver) return { approver, pending: 0 };
      const pending = await pendingFor(requests, policy, s);
      return { approver, pending: pending.filter((p) => p.canApprove).length };
    },
  });
  addApiRoute(api, {
    method: 'GET',
    url: '/api/access-requests/pending',
    config: { role: 'developer' },
    schema: { summary: 'Pending requests I am an approver of', response: A.pendingRequests },
    handler: async (req) => pendingFor(requests, ctx.policy.current(), caller(req)),
  });
  addApiRoute(api, {
    method: 'GET',
    url: '/api/access-requests/decided',
    config: { role: 'developer' },
    schema: { summary: 'Requests I approved, denied or revoked', response: A.accessRequests },
    handler: async (req) => requests.queries.decidedBy(caller(req).user),
  });
  for (const verb of ['approve', 'deny', 'revoke'] as const) {
    addApiRoute(api, {
      method: 'POST',
      url: `/api/access-requests/:id/${verb}`,
      config: { role: 'developer', csrf: true },
      schema: {
        summary:
          verb === 'revoke'
            ? 'End an approved grant now (approvers)'
            : `${verb === 'approve' ? 'Approve' : 'Deny'} a pending request (approvers)`,
        params: A.requestId,
        body: A.decisionRequest,
        response: A.accessRequest,
      },
      handler: async (req, reply) => {
        const s = caller(req);
        const stale = freshApprover(s, reply);
        if (stale) return stale;
        const reason = req.body.reason?.trim() || undefined;
        return act(reply, () =>
          verb === 'approve'
            ? requests.approve(req.params.id, person(s), reason)
            : verb === 'deny'
              ? requests.deny(req.params.id, person(s), reason)
              : requests.revoke(req.params.id, person(s), reason),
        );
      },
    });
  }
  addApiRoute(api, {
    method: 'GET',
    url: '/api/access-requests/:id',
    config: { role: 'signed-in' },
    schema: {
      summary:
        'One request: reason, approvers, decisions, its audit chain and sessions (auditors, the requester, its approvers)',
      params: A.requestId,
      response: A.requestDetail,
    },
    handler: async (req, reply) => {
      const s = caller(req);
      const d = await requests.queries.detail(req.params.id);
      if (!d) return reply.code(404).send({ error: `no access request ${req.params.id}` });
      const rule = ruleNamed(ctx.policy.current(), d.request.rule);
      const auditor = sessionRoles(s, ctx.config).usable.has('auditor');
      if (!auditor && d.request.requester !== s.user && !(rule && inApprovers(rule, s.groups)))
        return reply.code(403).send({ error: 'only auditors, the requester and its approvers see this request' });
      return detailView(d, rule);
    },
  });
}

function requestableRules(policy: PolicySet): RequestableRule[] {
  return policy.rules
    .map((r) => r.rule)
    .filter((r): r is RequestableRule => r.effect === 'allow' && r.requestable !== undefined);
}

function ruleNamed(policy: PolicySet, name: string): RequestableRule | null {
  return requestableRules(policy).find((r) => r.name === name) ?? null;
}

const inApprovers = (rule: RequestableRule, groups: readonly string[]): boolean =>
  groups.some((g) => rule.requestable.approvers.groups.includes(g));

const hasGlob = (s: string): boolean => /[*?[\]]/.test(s);

/** The requestable rules this person may ask for, per configured target the rule covers. */
export function requestOptions(ctx: Pick<ApiContext, 'config' | 'policy'>, s: Pick<WebSession, 'user' | 'groups'>) {
  const out = [];
  for (const rule of requestableRules(ctx.policy.current())) {
    if (!subjectMatches(rule, { user: s.user, groups: s.groups, claims: {} })) continue;
    for (const [name, t] of Object.entries(ctx.config.targets)) {
      if (!rule.targets.some((p) => globMatch(p, name))) continue;
      const candidates = [t.database, ...t.databases, ...(rule.databases ?? [])].filter((d) => !hasGlob(d));
      const databases = [...new Set(candidates)].filter((database) =>
        placeMatches(rule, { target: name, database, targetDatabase: t.database }),
      );
      if (databases.length === 0) continue;
      const r = rule.requestable;
      out.push({
        rule: rule.name,
        target: name,
        databases,
        role: rule.role ?? t.role,
        maxDuration: r.maxDuration,
        approvals: r.approvals,
        approverGroups: r.approvers.groups,
        reasonRequired: r.reason.required,
        reasonPattern: r.reason.pattern ?? null,
        selfApproval: r.selfApproval,
      });
    }
  }
  return out;
}

/** The first problem of a new request, by the field that has it (the same checks create makes). */
export function fieldIssue(
  policy: PolicySet,
  place: Parameters<typeof findRequestable>[1],
  duration: string | undefined,
  reason: string | undefined,
): { field: 'rule' | 'duration' | 'reason'; message: string } | null {
  let rule: RequestableRule;
  try {
    rule = findRequestable(policy, place).rule;
  } catch (err) {
    return { field: 'rule', message: (err as Error).message };
  }
  try {
    grantDuration(rule, duration);
  } catch (err) {
    return { field: 'duration', message: (err as Error).message };
  }
  try {
    checkReason(rule, reason);
  } catch (err) {
    return { field: 'reason', message: (err as Error).message.replace(' (--reason)', '') };
  }
  return null;
}

/** Pending requests under rules this person approves for, each saying whether they may approve it now. */
async function pendingFor(requests: AccessRequests, policy: PolicySet, s: WebSession) {
  const rows = await requests.queries.list({ states: ['pending'], limit: 200 });
  const out = [];
  for (const r of rows) {
    const rule = ruleNamed(policy, r.rule);
    if (!rule || !inApprovers(rule, s.groups)) continue;
    const own = r.requester === s.user;
    const breakGlass = own && rule.requestable.selfApproval === 'break-glass';
    // Nobody approves their own request, unless the rule allows break-glass: then it is shown, marked.
    if (own && !breakGlass) continue;
    const already = r.approvals.some((a) => a.by === s.user);
    out.push({
      ...r,
      canApprove: !already,
      breakGlass,
      note: already
        ? `you approved; ${r.approvals.length}/${r.needed}`
        : breakGlass
          ? 'your own request: approving it is break-glass and alerts at once'
          : null,
    });
  }
  return out;
}

const DECISIONS: Record<string, 'approval' | 'approved' | 'denied' | 'cancelled' | 'expired' | 'revoked'> = {
  [REQUEST_EVENTS.approval]: 'approval',
  [REQUEST_EVENTS.approved]: 'approved',
  [REQUEST_EVENTS.denied]: 'denied',
  [REQUEST_EVENTS.cancelled]: 'cancelled',
  [REQUEST_EVENTS.expired]: 'expired',
  [REQUEST_EVENTS.revoked]: 'revoked',
};

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** The detail answer: the stored request, its rule now, and its decisions read from its chain. */
export function detailView(d: AccessRequestDetail, rule: RequestableRule | null) {
  return {
    request: d.request,
    rule: rule && {
      name: rule.name,
      approverGroups: rule.requestable.approvers.groups,
      approvals: rule.requestable.approvals,
      maxDuration: rule.requestable.maxDuration,
      selfApproval: rule.requestable.selfApproval,
      onExpiry: rule.requestable.onExpiry,
    },
    approvers: d.request.approvals.map((a) => ({ user: a.by, at: a.at, reason: a.reason, breakGlass: a.breakGlass })),
    decisions: d.events.flatMap((e) => {
      const kind = DECISIONS[e.kind];
      if (!kind) return [];
      return [
        {
          at: e.at,
          kind,
          by: str(e.payload['by']) ?? e.user,
          reason: str(e.payload['reason']),
          breakGlass: e.payload['breakGlass'] === true,
          via: str(e.payload['via']),
        },
      ];
    }),
    events: d.events,
    sessions: d.sessions,
  };
}
