import { z } from 'zod';

/*
 * The console API's shapes for just-in-time access (docs/access-requests.md): the developer's
 * Request access page, the approver's view and the request detail auditors read. Responses
 * list their fields, as in api-schemas.ts.
 */

const time = z.date();
const maybeTime = z.date().nullable();
const text = z.string().nullable();

export const requestId = z.object({ id: z.uuid() });

export const approval = z.object({ by: z.string(), at: z.string(), reason: text, breakGlass: z.boolean() });

export const accessRequest = z.object({
  id: z.string(),
  createdAt: time,
  requester: z.string(),
  requesterGroups: z.array(z.string()),
  target: z.string(),
  database: z.string(),
  rule: z.string(),
  role: z.string(),
  durationMs: z.number(),
  reason: text,
  state: z.enum(['pending', 'approved', 'denied', 'cancelled', 'expired', 'revoked']),
  approvals: z.array(approval),
  needed: z.number(),
  decidedAt: maybeTime,
  decidedBy: text,
  decisionReason: text,
  expiresAt: maybeTime,
});

export const accessRequests = z.array(accessRequest);

/** What the signed-in person may ask for: one entry per requestable rule and target. */
export const requestOptions = z.array(
  z.object({
    rule: z.string(),
    target: z.string(),
    /** The upstream databases the rule covers on that target (the first is the target's own). */
    databases: z.array(z.string()),
    role: z.string(),
    maxDuration: z.string(),
    approvals: z.number(),
    approverGroups: z.array(z.string()),
    reasonRequired: z.boolean(),
    reasonPattern: text,
    selfApproval: z.enum(['never', 'break-glass']),
  }),
);

export const createRequest = z.object({
  target: z.string().min(1),
  database: z.string().min(1).optional(),
  rule: z.string().min(1),
  duration: z.string().min(1).optional(),
  reason: z.string().max(2000).optional(),
});

export const decisionRequest = z.object({ reason: z.string().max(2000).optional() });

/** A pending request as one approver sees it: whether they may approve it now, and if not why. */
export const pendingRequests = z.array(
  accessRequest.extend({
    canApprove: z.boolean(),
    /** Their own request under a break-glass rule: approving it alerts at once. */
    breakGlass: z.boolean(),
    note: text,
  }),
);

export const approverCount = z.object({
  /** The person is in an approver group of some requestable rule in force. */
  approver: z.boolean(),
  pending: z.number(),
});

/** GET /api/access-requests/:id — the request, its rule now, its chain and the sessions it admitted. */
export const requestDetail = z.object({
  request: accessRequest,
  /** The rule as the policy in force has it (null once it is no longer requestable). */
  rule: z
    .object({
      name: z.string(),
      approverGroups: z.array(z.string()),
      approvals: z.number(),
      maxDuration: z.string(),
      selfApproval: z.enum(['never', 'break-glass']),
      onExpiry: z.enum(['end-sessions', 'finish']),
    })
    .nullable(),
  /** Who approved, in order (break-glass marks a requester's own approval). */
  approvers: z.array(z.object({ user: z.string(), at: z.string(), reason: text, breakGlass: z.boolean() })),
  /** Every decision taken on it, from its audit chain: approval, approved, denied, cancelled, expired, revoked. */
  decisions: z.array(
    z.object({
      at: time,
      kind: z.enum(['approval', 'approved', 'denied', 'cancelled', 'expired', 'revoked']),
      by: text,
      reason: text,
      breakGlass: z.boolean(),
      /** How the actor was identified: console, cli-login, operator (an --as override), or null. */
      via: text,
    }),
  ),
  /** The request's own hash chain (session_events with the request id as chain id). */
  events: z.array(
    z.object({
      seq: z.number(),
      at: time,
      kind: z.string(),
      user: text,
      payload: z.record(z.string(), z.unknown()),
    }),
  ),
  /** Sessions it admitted (sessions.access_request). */
  sessions: z.array(
    z.object({
      id: z.string(),
      gatewayId: z.string(),
      user: z.string(),
      database: z.string(),
      role: z.string(),
      startedAt: time,
      endedAt: maybeTime,
      endReason: text,
    }),
  ),
});

export type ApiAccessRequest = z.infer<typeof accessRequest>;
