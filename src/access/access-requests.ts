import { randomUUID } from 'node:crypto';
import type { AlertSender } from '../detect/alerts.js';
import type { AuditWriter } from '../audit/writer.js';
import {
  approve,
  checkReason,
  findRequestable,
  grantDuration,
  RequestRefused,
  type RequestableRule,
} from '../policy/requestable.js';
import type { PolicySet } from '../policy/schema.js';
import {
  AccessRequestQueries,
  type AccessRequestRow,
  type AccessRequestState,
  type ChainStep,
  type RequestChange,
} from '../store/access-request-queries.js';
import { DetectorQueries } from '../store/detector-queries.js';
import type { NoticeHandlers, Store, Subscription } from '../store/store.js';
import type { Logger } from '../util/logger.js';

/**
 * Just-in-time access (docs/access-requests.md): every step of a request (asked, approved,
 * denied, cancelled, expired, revoked) is checked against the policy, stored under the
 * request's row lock, appended to the request's own audit chain, announced to every gateway
 * with an `access-request` notice and posted to the rule's webhook.
 */

export interface AccessDeps {
  store: Store;
  audit: AuditWriter;
  alerts: AlertSender;
  /** The policy in force (the newest stored version). */
  policy: () => PolicySet;
  log: Logger;
  /** Who runs this process, for webhook payloads ("cli", a gateway id). */
  actor: string;
}

export interface Person {
  user: string;
  groups: string[];
  /** How the person was identified; in every event of the step they take. */
  via?: Via | undefined;
}

/**
 * How a step's actor was identified: the console's sign-in, the CLI's `pgward login` token,
 * or an operator naming someone with `--as` (the operator's OS account is recorded beside it).
 */
export type Via = { kind: 'console' } | { kind: 'cli-login' } | { kind: 'operator'; operator: string };

export interface CreateInput extends Person {
  target: string;
  database: string;
  targetDatabase: string;
  targetRole: string;
  role?: string | undefined;
  rule?: string | undefined;
  duration?: string | undefined;
  reason?: string | undefined;
}

/** The chained event kinds of a request, in the order they can happen. */
export const REQUEST_EVENTS = {
  requested: 'access_requested',
  approval: 'access_approval',
  approved: 'access_approved',
  denied: 'access_denied',
  cancelled: 'access_cancelled',
  expired: 'access_expired',
  revoked: 'access_revoked',
} as const;

export class AccessRequests {
  readonly queries: AccessRequestQueries;

  constructor(private readonly deps: AccessDeps) {
    this.queries = new AccessRequestQueries(deps.store);
  }

  /** Notices of changed requests, from any process sharing the store. */
  subscribe(handlers: NoticeHandlers<'access-request'>): Subscription {
    return this.deps.store.subscribe(['access-request'], handlers);
  }

  async create(o: CreateInput): Promise<AccessRequestRow> {
    const { rule, role } = findRequestable(this.deps.policy(), o);
    checkReason(rule, o.reason);
    const durationMs = grantDuration(rule, o.duration);
    const row = await this.queries.create(
      {
        id: randomUUID(),
        requester: o.user,
        requesterGroups: o.groups,
        target: o.target,
        database: o.database,
        rule: rule.name,
        role,
        durationMs,
        reason: o.reason?.trim() || null,
        needed: rule.requestable.approvals,
      },
      this.chained(o.user, o.via, REQUEST_EVENTS.requested, (r) => ({
        target: r.target,
        database: r.database,
        rule: r.rule,
        role: r.role,
        durationMs: r.durationMs,
        reason: r.reason,
        needed: r.needed,
        groups: r.requesterGroups,
      })),
    );
    await this.announce(row, rule, `${o.user} asks for ${row.role} on ${row.target}/${row.database}`);
    return row;
  }

  async approve(id: string, approver: Person, reason: string | undefined): Promise<AccessRequestRow> {
    let breakGlass = false;
    let rule: RequestableRule | null = null;
    const row = await this.step(
      id,
      (r) => {
        pendingOnly(r);
        rule = this.ruleOf(r);
        const prior = r.approvals.map((a) => ({ ...a, at: new Date(a.at) }));
        const outcome = approve(rule, r.requester, prior, approver);
        breakGlass = outcome.breakGlass;
        const approvals = [
          ...r.approvals,
          { by: approver.user, at: new Date().toISOString(), reason: reason ?? null, breakGlass },
        ];
        if (!outcome.done) return { approvals };
        return {
          approvals,
          state: 'approved',
          decidedBy: approver.user,
          decisionReason: reason ?? null,
          startGrant: true,
        };
      },
      (r) =>
        this.chained(
          approver.user,
          approver.via,
          r.state === 'approved' ? REQUEST_EVENTS.approved : REQUEST_EVENTS.approval,
          (x) => ({
            by: approver.user,
            reason: reason ?? null,
            approvals: x.approvals.length,
            needed: x.needed,
            breakGlass,
            expiresAt: x.expiresAt?.toISOString() ?? null,
          }),
        ),
    );
    const when = row.expiresAt ? ` until ${row.expiresAt.toISOString()}` : ` (${row.approvals.length}/${row.needed})`;
    await this.announce(row, rule, `${approver.user} approved the request of ${row.requester}${when}`);
    if (breakGlass) await this.breakGlass(row, rule!);
    return row;
  }

  async deny(id: string, approver: Person, reason: string | undefined): Promise<AccessRequestRow> {
    let rule: RequestableRule | null = null;
    const row = await this.step(
      id,
      (r) => {
        pendingOnly(r);
        rule = this.ruleOf(r);
        if (!approver.groups.some((g) => rule!.requestable.approvers.groups.includes(g)))
          throw new RequestRefused(`${approver.user} is not in an approver group of rule ${rule.name}`);
        return { state: 'denied', decidedBy: approver.user, decisionReason: reason ?? null };
      },
      () =>
        this.chained(approver.user, approver.via, REQUEST_EVENTS.denied, () => ({
          by: approver.user,
          reason: reason ?? null,
        })),
    );
    await this.announce(row, rule, `${approver.user} denied the request of ${row.requester}`);
    return row;
  }

  async cancel(id: string, requester: string, via?: Via): Promise<AccessRequestRow> {
    const row = await this.step(
      id,
      (r) => {
        if (r.requester !== requester) throw new RequestRefused(`only ${r.requester} may cancel this request`);
        if (r.state !== 'pending' && r.state !== 'approved')
          throw new RequestRefused(`the request is already ${r.state}`);
        // Cancelling an approved request gives the grant back: its sessions end as at expiry.
        return { state: 'cancelled' };
      },
      () => this.chained(requester, via, REQUEST_EVENTS.cancelled, () => ({ by: requester })),
    );
    await this.announce(row, this.ruleOfOrNull(row), `${requester} cancelled their request`);
    return row;
  }

  /** An approver ends an approved grant early. */
  async revoke(id: string, by: Person, reason: string | undefined): Promise<AccessRequestRow> {
    const row = await this.step(
      id,
      (r) => {
        if (r.state !== 'approved') throw new RequestRefused(`the request is ${r.state}, not approved`);
        const rule = this.ruleOf(r);
        if (!by.groups.some((g) => rule.requestable.approvers.groups.includes(g)))
          throw new RequestRefused(`${by.user} is not in an approver group of rule ${rule.name}`);
        return { state: 'revoked', decidedBy: by.user, decisionReason: reason ?? null };
      },
      () => this.chained(by.user, by.via, REQUEST_EVENTS.revoked, () => ({ by: by.user, reason: reason ?? null })),
    );
    await this.announce(row, this.ruleOfOrNull(row), `${by.user} revoked the grant of ${row.requester}`);
    return row;
  }

  /** Marks every grant whose time is up as expired (any gateway may; the row lock makes it once). */
  async expireDue(): Promise<number> {
    let n = 0;
    for (const id of await this.queries.due()) {
      try {
        const row = await this.step(
          id,
          (r) => {
            if (r.state !== 'approved' || !r.expiresAt || r.expiresAt.getTime() > Date.now())
              throw new RequestRefused('not due');
            return { state: 'expired' };
          },
          () =>
            this.chained(null, undefined, REQUEST_EVENTS.expired, (r) => ({
              expiresAt: r.expiresAt?.toISOString() ?? null,
            })),
        );
        n++;
        await this.announce(row, this.ruleOfOrNull(row), `the grant of ${row.requester} expired`);
      } catch (err) {
        if (!(err instanceof RequestRefused)) throw err;
      }
    }
    return n;
  }

  private async step(
    id: string,
    decide: (row: AccessRequestRow) => RequestChange,
    chain: (row: AccessRequestRow) => ChainStep,
  ): Promise<AccessRequestRow> {
    const row = await this.queries.step(id, decide, (r, from) => chain(r)(r, from));
    if (!row) throw new RequestRefused(`no access request ${id}`);
    return row;
  }

  /** A ChainStep appending one event to the request's chain from where the store says it stands. */
  private chained(
    user: string | null,
    via: Via | undefined,
    kind: string,
    payload: (row: AccessRequestRow) => Record<string, unknown>,
  ): ChainStep {
    return (row, from) => {
      this.deps.audit.continueChain(row.id, from.seq, from.head);
      const ev = this.deps.audit.append(row.id, user, kind, {
        request: row.id,
        requester: row.requester,
        ...payload(row),
        ...(via ? { via: via.kind, ...(via.kind === 'operator' ? { operator: via.operator } : {}) } : {}),
      });
      this.deps.audit.endChain(row.id);
      return { seq: ev.seq, head: ev.hash };
    };
  }

  private ruleOf(r: AccessRequestRow): RequestableRule {
    const rule = this.ruleOfOrNull(r);
    if (!rule) throw new RequestRefused(`rule ${r.rule} is no longer requestable`);
    return rule;
  }

  private ruleOfOrNull(r: AccessRequestRow): RequestableRule | null {
    for (const { rule } of this.deps.policy().rules)
      if (rule.name === r.rule && rule.effect === 'allow' && rule.requestable) return rule as RequestableRule;
    return null;
  }

  /** Tells every gateway, and posts to the rule's webhook (retried in the background). */
  private async announce(row: AccessRequestRow, rule: RequestableRule | null, text: string): Promise<void> {
    await this.deps.store.publish({ kind: 'access-request', id: row.id, state: row.state });
    const url = rule?.requestable.webhook;
    if (!url) return;
    this.deps.alerts.send(url, {
      kind: `access-request-${row.state}`,
      severity: 'info',
      action: 'log',
      user: row.requester,
      session: row.id,
      gateway: this.deps.actor,
      at: new Date().toISOString(),
      detail: describe(row),
      text: `pgward: ${text} (request ${row.id}, rule ${row.rule}${row.reason ? `, reason: ${row.reason}` : ''})`,
    });
  }

  /** Break-glass: an anomaly row and an alert at once, to the rule's webhook and its detector profile's. */
  private async breakGlass(row: AccessRequestRow, rule: RequestableRule): Promise<void> {
    // The anomaly names the request (its row is keyed by the request's chain id, as no session exists yet).
    const detail = { request: row.id, ...describe(row) };
    await new DetectorQueries(this.deps.store).insertAnomaly({
      sessionId: row.id,
      username: row.requester,
      kind: 'break-glass',
      severity: 'high',
      action: 'alert',
      detail,
    });
    const urls = new Set(
      [rule.requestable.webhook, this.deps.policy().profiles[rule.session.detector]?.webhook].filter(
        (u): u is string => typeof u === 'string',
      ),
    );
    for (const url of urls)
      this.deps.alerts.send(url, {
        kind: 'break-glass',
        severity: 'high',
        action: 'alert',
        user: row.requester,
        session: row.id,
        gateway: this.deps.actor,
        at: new Date().toISOString(),
        detail,
        text: `pgward BREAK-GLASS: ${row.requester} approved their own access to ${row.role} on ${row.target}/${row.database} (request ${row.id}${row.reason ? `, reason: ${row.reason}` : ''})`,
      });
    this.deps.log.warn({ event: 'break_glass', request: row.id, user: row.requester }, 'break-glass self-approval');
  }
}

function pendingOnly(r: AccessRequestRow): void {
  if (r.state !== 'pending') throw new RequestRefused(`the request is already ${r.state}`);
}

export function describe(r: AccessRequestRow): Record<string, unknown> {
  return {
    id: r.id,
    requester: r.requester,
    target: r.target,
    database: r.database,
    rule: r.rule,
    role: r.role,
    durationMs: r.durationMs,
    reason: r.reason,
    state: r.state satisfies AccessRequestState,
    approvals: r.approvals,
    needed: r.needed,
    decidedAt: r.decidedAt?.toISOString() ?? null,
    decidedBy: r.decidedBy,
    decisionReason: r.decisionReason,
    expiresAt: r.expiresAt?.toISOString() ?? null,
  };
}
