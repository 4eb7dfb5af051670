import { parseDuration } from '../util/duration.js';
import { placeMatches, subjectMatches } from './evaluate.js';
import type { AllowRule, PolicySet, Requestable } from './schema.js';

/**
 * Pure decisions about access requests (docs/access-requests.md): which requestable rule a
 * request names, whether its reason and duration are acceptable, and what one approval does.
 * The store keeps the requests; the CLI and the gateway call these.
 */

export type RequestableRule = AllowRule & { requestable: Requestable };

export interface RequestPlace {
  user: string;
  groups: string[];
  target: string;
  database: string;
  /** The target's own database and role (the defaults of a rule). */
  targetDatabase: string;
  targetRole: string;
  /** Narrow by the role the grant runs as, or by the rule's name. */
  role?: string | undefined;
  rule?: string | undefined;
}

export class RequestRefused extends Error {
  override name = 'RequestRefused';
}

/** The first requestable rule this person may ask for at this place (and role or rule, when given). */
export function findRequestable(policy: PolicySet, p: RequestPlace): { rule: RequestableRule; role: string } {
  for (const { rule } of policy.rules) {
    if (rule.effect !== 'allow' || !rule.requestable) continue;
    const role = rule.role ?? p.targetRole;
    if (p.rule !== undefined && rule.name !== p.rule) continue;
    if (p.role !== undefined && role !== p.role) continue;
    if (!subjectMatches(rule, { user: p.user, groups: p.groups, claims: {} })) continue;
    if (!placeMatches(rule, p)) continue;
    return { rule: rule as RequestableRule, role };
  }
  const what = p.rule ? `rule ${p.rule}` : p.role ? `role ${p.role}` : 'access';
  throw new RequestRefused(`no requestable rule lets ${p.user} ask for ${what} on ${p.target}/${p.database}`);
}

/** The duration granted (ms): the one asked for, at most the rule's longest. */
export function grantDuration(rule: RequestableRule, asked: string | undefined): number {
  const max = parseDuration(rule.requestable.maxDuration);
  if (asked === undefined) return max;
  const ms = parseDuration(asked);
  if (ms > max) throw new RequestRefused(`rule ${rule.name} grants at most ${rule.requestable.maxDuration}`);
  return ms;
}

export function checkReason(rule: RequestableRule, reason: string | undefined): void {
  const r = rule.requestable.reason;
  const text = reason?.trim() ?? '';
  if (r.required && !text) throw new RequestRefused(`rule ${rule.name} requires a reason (--reason)`);
  if (r.pattern && text && !new RegExp(r.pattern, 'u').test(text))
    throw new RequestRefused(`the reason must match /${r.pattern}/ (rule ${rule.name})`);
}

export interface Approval {
  by: string;
  at: Date;
  reason: string | null;
  breakGlass: boolean;
}

/** What one more approval does: refused (why), or counted, and whether the request is now approved. */
export function approve(
  rule: RequestableRule,
  requester: string,
  approvals: readonly Approval[],
  approver: { user: string; groups: string[] },
): { done: boolean; breakGlass: boolean } {
  const r = rule.requestable;
  if (!approver.groups.some((g) => r.approvers.groups.includes(g)))
    throw new RequestRefused(`${approver.user} is not in an approver group of rule ${rule.name}`);
  if (approvals.some((a) => a.by === approver.user))
    throw new RequestRefused(`${approver.user} has already approved this request`);
  if (approver.user === requester) {
    if (r.selfApproval !== 'break-glass')
      throw new RequestRefused(`nobody approves their own request under rule ${rule.name}`);
    // Break-glass: the requester's own approval suffices, and is alerted on at once.
    return { done: true, breakGlass: true };
  }
  return { done: approvals.length + 1 >= r.approvals, breakGlass: false };
}
