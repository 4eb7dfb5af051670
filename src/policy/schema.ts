import { isIP } from 'node:net';
import { z } from 'zod';
import { maskingSchema } from './masking-schema.js';
import { profileSchema, type DetectorProfile } from './profiles.js';

/**
 * The policy language. One schema for YAML files in policies/ and for versions edited in
 * the console; `pgward policy schema` exports it as JSON Schema for editors.
 */

const duration = z.string().regex(/^\d+(ms|s|m|h|d)$/, 'a duration such as 30s, 15m, 8h or 7d');
const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time of day as HH:MM (24-hour)');
const weekday = z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']);

export const AUTH_METHODS = ['scram-sha-256-plus', 'scram-sha-256', 'password', 'workload-jwt', 'link'] as const;
export type AuthMethodName = (typeof AUTH_METHODS)[number];

const subjectsSchema = z
  .object({
    /** User names; `*` matches any run of characters. */
    users: z.array(z.string().min(1)).optional(),
    groups: z.array(z.string().min(1)).optional(),
    /** Identity claims that must all be present with these exact values (workload JWT claims, say). */
    claims: z.record(z.string(), z.string()).optional(),
  })
  .strict()
  .refine((s) => s.users !== undefined || s.groups !== undefined || s.claims !== undefined, {
    message: 'name at least one of users, groups or claims (users: ["*"] for everyone)',
  })
  .describe('Who the rule is about: matched if any listed user or group matches and every claim matches.');

const scheduleSchema = z
  .object({
    /** IANA time zone such as Europe/Paris; the window follows its daylight-saving changes. */
    timezone: z.string().min(1),
    days: z.array(weekday).min(1).optional(),
    /** Start of the window; a window with from > to runs across midnight. */
    from: hhmm,
    to: hhmm,
  })
  .strict()
  .refine((s) => isTimeZone(s.timezone), { message: 'unknown time zone', path: ['timezone'] });

/** A startup parameter: `*` for any value, a list of exact values, or { pattern: regex } for the whole value. */
const paramRuleSchema = z.union([
  z.literal('*'),
  z.array(z.string()).min(1),
  z.object({ pattern: z.string().refine(isRegex, 'not a valid regular expression') }).strict(),
]);
export type ParamRule = z.infer<typeof paramRuleSchema>;

const sessionSchema = z
  .object({
    readOnly: z.boolean().default(false),
    maxDuration: duration.optional(),
    idleTimeout: duration.optional(),
    /** The anomaly-detector profile for sessions under this grant. */
    detector: z.string().default('default'),
    /** Data masking for this grant's sessions (docs/masking.md); none when absent. */
    masking: maskingSchema.optional(),
  })
  .strict();

/**
 * A rule marked requestable grants nothing standing: its subjects may ask for it, and it
 * applies to one person, target and database from the approval to the expiry of a request
 * (docs/access-requests.md).
 */
const requestableSchema = z
  .object({
    /** Who decides: members of any of these groups. */
    approvers: z.object({ groups: z.array(z.string().min(1)).min(1) }).strict(),
    /** Distinct approvers needed before the grant starts. */
    approvals: z.number().int().min(1).max(10).default(1),
    /** The longest a grant lasts; a request may ask for less. */
    maxDuration: duration.default('1h'),
    reason: z
      .object({
        required: z.boolean().default(true),
        /** The whole reason, or a part of it, must match (a ticket id such as OPS-123). */
        pattern: z.string().refine(isRegex, 'not a valid regular expression').optional(),
      })
      .strict()
      .default({ required: true }),
    /**
     * never: a requester's own approval does not count. break-glass: an approver may approve
     * their own request alone, which raises an alert at once.
     */
    selfApproval: z.enum(['never', 'break-glass']).default('never'),
    /** At expiry or revocation: end the live sessions (FATAL) or let them finish. */
    onExpiry: z.enum(['end-sessions', 'finish']).default('end-sessions'),
    /** Posted each new request and each decision (JSON with a Slack-compatible `text`), retried like alerts. */
    webhook: z.string().url().optional(),
  })
  .strict();
export type Requestable = z.infer<typeof requestableSchema>;

const conditions = {
  /** CIDR ranges of client addresses (IPv4 or IPv6); a bare address means a single host. */
  sources: z.array(z.string().refine(isCidr, 'not an IP address or CIDR range')).optional(),
  schedule: scheduleSchema.optional(),
  methods: z.array(z.enum(AUTH_METHODS)).min(1).optional(),
};

const baseRule = {
  name: z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/i, 'letters, digits, ".", "_" and "-"'),
  description: z.string().optional(),
  subjects: subjectsSchema,
  /** Named targets from the gateway configuration; `*` for all. */
  targets: z.array(z.string().min(1)).min(1).default(['*']),
  /** Upstream database names (globs); defaults to each target's own database. */
  databases: z.array(z.string().min(1)).optional(),
  ...conditions,
};

const allowRuleSchema = z
  .object({
    ...baseRule,
    effect: z.literal('allow'),
    /** The upstream role the session runs as (its credential is in the vault); defaults to the target's role. */
    role: z.string().min(1).optional(),
    /** Startup parameters allowed beyond the safe baseline, with the values allowed. */
    params: z
      .record(z.string(), paramRuleSchema)
      .default({})
      // Setting names compare case-insensitively, as Postgres's do.
      .transform((p) => Object.fromEntries(Object.entries(p).map(([k, v]) => [k.toLowerCase(), v]))),
    tls: z
      .object({
        required: z.boolean().default(true),
        channelBinding: z.enum(['required', 'optional']).default('optional'),
        minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).optional(),
      })
      .strict()
      .default({ required: true, channelBinding: 'optional' }),
    session: sessionSchema.default({ readOnly: false, detector: 'default' }),
    requestable: requestableSchema.optional(),
  })
  .strict();

const denyRuleSchema = z
  .object({
    ...baseRule,
    effect: z.literal('deny'),
  })
  .strict();

export const ruleSchema = z.discriminatedUnion('effect', [allowRuleSchema, denyRuleSchema]);
export type AllowRule = z.infer<typeof allowRuleSchema>;
export type DenyRule = z.infer<typeof denyRuleSchema>;
export type Rule = z.infer<typeof ruleSchema>;

export const policyDocumentSchema = z
  .object({
    rules: z.array(ruleSchema).default([]),
    /** Detector profiles that grants name in session.detector. */
    profiles: z.record(z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/i), profileSchema).default({}),
  })
  .strict();
export type PolicyDocument = z.infer<typeof policyDocumentSchema>;

/** A rule with where it came from, for explanations and error messages. */
export interface SourcedRule {
  rule: Rule;
  file: string;
  index: number;
}

export interface PolicySet {
  rules: SourcedRule[];
  profiles: Record<string, DetectorProfile>;
  /** Store version this set was loaded from (null for files not yet stored). */
  version: number | null;
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function isRegex(s: string): boolean {
  try {
    new RegExp(s, 'u');
    return true;
  } catch {
    return false;
  }
}

function isCidr(s: string): boolean {
  const [addr, bits, extra] = s.split('/');
  if (extra !== undefined || !addr) return false;
  const v = isIP(addr);
  if (!v) return false;
  if (bits === undefined) return true;
  if (!/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (v === 4 ? 32 : 128);
}

/** JSON Schema for editors (yaml-language-server, VS Code). */
export function policyJsonSchema(): unknown {
  return z.toJSONSchema(policyDocumentSchema, { io: 'input', unrepresentable: 'any' });
}
