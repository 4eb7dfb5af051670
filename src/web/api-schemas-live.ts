import { z } from 'zod';

/*
 * Shapes of the live sessions page, the developer's page and the dashboard. As in
 * api-schemas.ts, responses list their fields: the serializer drops anything else.
 */

const time = z.date();
const maybeTime = z.date().nullable();
const text = z.string().nullable();

// ---- live sessions (admin) ---------------------------------------------------------------

/** What a session does now; only the gateway that runs it knows (null for sessions on other gateways). */
const liveNumbers = z.object({
  state: z.enum(['active', 'idle']),
  /** From the last ReadyForQuery; null where the session has no observer (detector off, not read-only). */
  transaction: z.enum(['idle', 'in transaction', 'failed']).nullable(),
  statement: text,
  statementSince: maybeTime,
  /** How long the current statement has run, by the gateway's clock. */
  runningMs: z.number().nullable(),
  statements: z.number().nullable(),
  rowsToClient: z.number(),
  bytesFromClient: z.number(),
  bytesToClient: z.number(),
});

export const liveSessionRows = z.array(
  z.object({
    id: z.string(),
    /** Runs on the gateway of the console that answers: its live numbers are known. */
    here: z.boolean(),
    gatewayId: z.string(),
    username: text,
    target: text,
    database: text,
    upstreamRole: text,
    applicationName: text,
    clientAddr: z.string(),
    startedAt: time,
    policyRule: text,
    accessRequest: text,
    readOnly: z.boolean(),
    anomalies: z.number(),
    live: liveNumbers.nullable(),
    /** Sessions of other gateways: the newest statement their audit trail has so far (null: none yet). */
    lastSeen: z.object({ sql: z.string(), at: time }).nullable(),
  }),
);

export const killRequest = z.object({
  /** Shown to the killed client in its FATAL and written to the audit record. */
  reason: z.string().trim().min(3, 'say why (at least 3 characters)').max(300).optional(),
  /** Also revoke the token the session logged in with (its other sessions end too). */
  revokeToken: z.boolean().default(false),
  /** Also lock the person out for this many minutes: no new login, sign-in or link approval anywhere. */
  lockMinutes: z.number().int().min(1).max(43_200).optional(),
});
export const killResult = z.object({
  killed: z.string(),
  local: z.boolean(),
  /** What the client was told. */
  message: z.string().optional(),
  /** Until when the person is locked out (only when asked). */
  lockedUntil: z.date().optional(),
  /** Whether a token was revoked (only when asked). */
  revoked: z.boolean().optional(),
  /** Why the token could not be revoked (link login and workload sessions have none). */
  note: z.string().optional(),
});

// ---- the developer's page ----------------------------------------------------------------

export const myReach = z.object({
  user: z.string(),
  groups: z.array(z.string()),
  tokenExpiresAt: z.string(),
  /** The address the policy was evaluated from (this browser's), for rules limited by source. */
  from: z.string(),
  policyVersion: z.number().nullable(),
  databases: z.array(
    z.object({
      target: z.string(),
      database: z.string(),
      granted: z.boolean(),
      role: text,
      rule: text,
      readOnly: z.boolean(),
      /** The earliest instant the access ends by itself (the token's expiry, an access request's). */
      until: maybeTime,
      /** What else bounds it, in words: a schedule, the longest session, the idle timeout. */
      conditions: z.array(z.string()),
      /** The access request whose approval grants it, if that is how. */
      accessRequest: text,
      /** For a refusal: what psql would be told. */
      message: text,
      /** The psql line without the password (the token is on the Connect page, or from pgward login). */
      psql: text,
    }),
  ),
});

// ---- dashboard (admin, auditor) --------------------------------------------------------------

const count = z.object({ label: z.string(), n: z.number() });
export const dashboard = z.object({
  at: time,
  hours: z.number(),
  liveNow: z.number(),
  liveByGateway: z.array(count),
  /** Per hour: sessions started, logins refused, anomalies. */
  series: z.array(z.object({ bucket: time, sessions: z.number(), refused: z.number(), anomalies: z.number() })),
  refusalsByReason: z.array(count),
  anomaliesByKind: z.array(count),
  endReasons: z.array(count),
  topUsers: z.array(count),
  topTargets: z.array(count),
  totals: z.object({ sessions: z.number(), refused: z.number(), anomalies: z.number(), statements: z.number() }),
});
export const dashboardQuery = z.object({ hours: z.coerce.number().int().min(1).max(720).default(24) });
