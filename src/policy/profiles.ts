import { z } from 'zod';

/** Statement forms a detector profile can act on (src/detect/classify.ts finds them). */
export const RISKS = [
  'update-without-where',
  'delete-without-where',
  'truncate',
  'drop',
  'alter-system',
  'copy-program',
  'copy-server-file',
  'server-file-function',
  'large-object-function',
  'remote-access',
  'set-role',
  'set-session-authorization',
  'create-extension',
  'multi-statement',
  'function-call-message',
  'dynamic-sql',
  'signal-backend',
] as const;
export type Risk = (typeof RISKS)[number];

export const ANOMALIES = ['bulk-read', 'new-table', 'new-source', 'unusual-hour', 'protocol'] as const;
export type AnomalyKind = (typeof ANOMALIES)[number];

export const STATEMENT_ACTIONS = ['log', 'alert', 'block', 'end-session', 'revoke-token'] as const;
export const ANOMALY_ACTIONS = ['log', 'alert', 'end-session', 'revoke-token'] as const;
export type StatementAction = (typeof STATEMENT_ACTIONS)[number];
export type AnomalyAction = (typeof ANOMALY_ACTIONS)[number];

const duration = z.string().regex(/^\d+(ms|s|m|h|d)$/, 'a duration such as 500ms, 60s or 5m');

export const profileSchema = z
  .object({
    /** Action per risky form; `*` for every form not listed. */
    risks: z.partialRecord(z.enum([...RISKS, '*']), z.enum(STATEMENT_ACTIONS)).default({}),
    /** Action per anomaly kind; `*` for every kind not listed. */
    anomalies: z.partialRecord(z.enum([...ANOMALIES, '*']), z.enum(ANOMALY_ACTIONS)).default({}),
    /** Where `alert` actions are POSTed (JSON), with retries. */
    webhook: z.string().url().optional(),
    baseline: z
      .object({
        /** Behaviour is measured in windows of this length (active windows only). */
        window: duration.default('60s'),
        /** Windows observed before a spike can count as an anomaly. */
        minWindows: z.number().int().min(1).default(10),
        /** How many standard deviations above the mean a window must be. */
        sigma: z.number().positive().default(6),
        /** Rows below this in one window never count as a bulk read. */
        bulkReadMinRows: z.number().int().min(1).default(10_000),
      })
      .strict()
      .default({ window: '60s', minWindows: 10, sigma: 6, bulkReadMinRows: 10_000 }),
    /** Keep the literal statement text and bound parameter values in the audit (off: constants become $n). */
    logParameters: z.boolean().default(false),
  })
  .strict();
export type DetectorProfile = z.infer<typeof profileSchema>;

/** What applies when a grant names a profile nobody defined: observe and record everything. */
export const DEFAULT_PROFILE: DetectorProfile = profileSchema.parse({});

const STOPS = new Set<StatementAction>(['block', 'end-session', 'revoke-token']);

/** Whether the profile stops any statement (so what pgward cannot read must not pass it). */
export function blocksAnything(p: DetectorProfile): boolean {
  return Object.values(p.risks).some((a) => a !== undefined && STOPS.has(a));
}

/**
 * What a profile does with a risk. Two risks have their own default where the profile does
 * not name them: dynamic-sql (SQL text pgward cannot read before it runs: EXECUTE of a
 * computed string, query_to_xml, dblink_exec, ...) can carry any other risk, so a profile that
 * stops anything blocks it (else one level of indirection would walk past every block), and
 * one that stops nothing alerts on it: migrations and admin scripts use it, and it should be
 * seen. signal-backend (pg_terminate_backend, pg_cancel_backend) alerts: ending or cancelling
 * another session's work is worth a look, and is a DBA's everyday tool.
 */
export function statementAction(p: DetectorProfile, risk: Risk): StatementAction {
  const named = p.risks[risk];
  if (named) return named;
  const star = p.risks['*'];
  if (risk === 'dynamic-sql') {
    if (!blocksAnything(p)) return star ?? 'alert';
    return star === 'end-session' || star === 'revoke-token' ? star : 'block';
  }
  if (risk === 'signal-backend') return star ?? 'alert';
  return star ?? 'log';
}

export function anomalyAction(p: DetectorProfile, kind: AnomalyKind): AnomalyAction {
  return p.anomalies[kind] ?? p.anomalies['*'] ?? 'log';
}
