import { z } from 'zod';
import { EXPORT_FORMATS } from '../audit/formats.js';
import { sessionSearch } from './api-schemas.js';

/*
 * The auditor's paged API: session search across statements, a session's timeline a page at
 * a time, refused logins and admin actions. Every list says where it is ("1–50 of 1,234").
 */

const time = z.date();
const maybeTime = z.date().nullable();
const text = z.string().nullable();

/** Where a page sits in the whole list. */
const paging = { offset: z.number(), limit: z.number(), total: z.number() };

/** Query strings arrive as text; offset and limit are read (and bounded) by the handler. */
const pageQuery = { offset: z.string().optional(), limit: z.string().optional() };

/** The session search's filters, plus filters on the statements the sessions ran, and paging. */
export const auditSearch = sessionSearch.extend({
  /** Statement text contains (case-insensitive). */
  text: z.string().optional(),
  /** A table a statement reads or writes (as the classifier names it, e.g. public.orders or orders). */
  table: z.string().optional(),
  /** Statement classification (read, write, ddl, …). */
  category: z.string().optional(),
  /** A statement outcome: ok, error, blocked, interrupted. */
  outcome: z.string().optional(),
  ...pageQuery,
});

export const auditSearchPage = z.object({
  ...paging,
  rows: z.array(
    z.object({
      id: z.string(),
      username: text,
      target: text,
      database: text,
      upstreamRole: text,
      clientAddr: z.string(),
      startedAt: time,
      endedAt: maybeTime,
      endReason: text,
      statements: z.number(),
      anomalies: z.number(),
      policyRule: text,
      /** Statements of this session that match the statement filters (null without such filters). */
      matches: z.number().nullable(),
      /** The first matching statement, as recorded. */
      match: text,
    }),
  ),
});

/** Without an offset, find= filters open the timeline on the page of the first matching statement. */
export const timelineQuery = z.object({
  ...pageQuery,
  text: z.string().optional(),
  table: z.string().optional(),
  category: z.string().optional(),
  outcome: z.string().optional(),
});

const statementItem = z.object({
  type: z.literal('statement'),
  /** 0-based position among the session's timeline items. */
  index: z.number(),
  seq: z.number(),
  at: time,
  sql: z.array(z.string()),
  categories: z.array(z.string()),
  tables: z.array(z.string()),
  risks: z.array(z.string()),
  blocked: text,
  rows: z.number(),
  bytes: z.number(),
  ms: z.number(),
  outcome: z.string(),
  /** SQLSTATE of the first error. */
  error: text,
  /** What that SQLSTATE means (its condition name), or the server's message where the record has it. */
  errorMessage: text,
  /** Bind values per statement, where the detector profile logs them. */
  params: z.array(z.array(z.string().nullable())).nullable(),
  /** Masked sessions: how many values were masked, per column or recogniser (never the values). */
  masked: z.record(z.string(), z.number()).nullable(),
});

const eventItem = z.object({
  type: z.literal('event'),
  index: z.number(),
  seq: z.number(),
  at: time,
  kind: z.string(),
  /** One readable line (who/what/why), never raw JSON. */
  summary: z.string(),
  fields: z.array(z.tuple([z.string(), z.string()])),
});

export const timelinePage = z.object({
  ...paging,
  /** The index of the first item matching the find filters, when asked and found. */
  focus: z.number().nullable(),
  session: z.object({
    id: z.string(),
    username: text,
    groups: z.array(z.string()),
    clientAddr: z.string(),
    clientPort: z.number().nullable(),
    applicationName: text,
    target: text,
    database: text,
    upstreamRole: text,
    authMethod: text,
    channelBinding: z.boolean(),
    tlsVersion: text,
    policyRule: text,
    policyVersion: z.number().nullable(),
    readOnly: z.boolean(),
    accessRequest: text,
    gatewayId: z.string(),
    startedAt: time,
    endedAt: maybeTime,
    endReason: text,
    chainHead: text,
    chainLength: z.number(),
  }),
  totals: z.object({
    statements: z.number(),
    errors: z.number(),
    blocked: z.number(),
    anomalies: z.number(),
    rows: z.number(),
    bytes: z.number(),
    ms: z.number(),
    durationMs: z.number().nullable(),
  }),
  items: z.array(z.discriminatedUnion('type', [statementItem, eventItem])),
});

export const auditEventsQuery = z.object({
  /** auth (logins: refused and accepted) or admin (actions in the console and CLI). */
  type: z.enum(['auth', 'admin']).default('auth'),
  user: z.string().optional(),
  /** auth: failure | success. */
  outcome: z.string().optional(),
  /** Reason (auth) or action (admin) contains. */
  text: z.string().optional(),
  from: z.string().optional(),
  to: z.string().optional(),
  ...pageQuery,
});

export const auditEventsPage = z.object({
  ...paging,
  type: z.enum(['auth', 'admin']),
  rows: z.array(
    z.object({
      id: z.number(),
      at: time,
      /** The person: the login's user, or the admin's actor. */
      user: text,
      /** auth: failure | success; admin: the action. */
      what: z.string(),
      /** auth: the reason; admin: the details, as key=value text. */
      detail: z.string(),
      clientAddr: text,
      method: text,
      gatewayId: text,
      sessionId: text,
    }),
  ),
});

/** An export, optionally with the range's logins and admin actions after the chained events. */
export const exportRequest = z.object({
  from: z.string(),
  to: z.string().optional(),
  user: z.string().optional(),
  format: z.enum(EXPORT_FORMATS).default('jsonl'),
  /** Also the logins, refused and accepted (auth_events). */
  logins: z.boolean().optional(),
  /** Also the admin actions (admin_events). */
  adminActions: z.boolean().optional(),
});
export const exported = z.object({
  id: z.string(),
  events: z.number(),
  sessions: z.number(),
  logins: z.number().nullable(),
  adminActions: z.number().nullable(),
  file: z.string(),
  manifest: z.string(),
});
