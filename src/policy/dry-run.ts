import { resolveDatabase, type DatabaseHome } from '../config/resolve-database.js';
import { globMatch } from '../util/glob.js';
import { evaluate, precheck, type Decision } from './evaluate.js';
import { AUTH_METHODS, type AuthMethodName, type PolicySet } from './schema.js';
import { readStartupSettings } from './startup-settings.js';

export interface DryRunInput {
  user: string;
  groups: string[];
  database: string;
  params?: Array<[string, string]>;
  claims?: Record<string, string>;
  from?: string;
  at?: Date;
  method?: string;
  tls?: string;
}

export class DryRunError extends Error {
  override name = 'DryRunError';
}

/** The decision a connection would get, from the same code path as a real one (for CLI and console). */
export function dryRun(set: PolicySet, targets: Array<DatabaseHome & { role: string }>, o: DryRunInput): Decision {
  const method = (o.method ?? 'scram-sha-256-plus') as AuthMethodName;
  if (!AUTH_METHODS.includes(method)) throw new DryRunError(`method must be one of ${AUTH_METHODS.join(', ')}`);
  const at = o.at ?? new Date();
  if (Number.isNaN(at.getTime())) throw new DryRunError('not a time');
  const tls = o.tls ?? 'TLSv1.3';
  // Without configured targets, the database name stands for a target of the same name.
  const place =
    resolveDatabase(targets, o.database) ??
    (targets.length === 0
      ? {
          target: { name: o.database, database: o.database, databases: [], role: '(target role)' },
          database: o.database,
        }
      : null);
  const settings = readStartupSettings(o.params ?? []);
  const early = precheck(set, settings);
  if (early) return early;
  if (!place)
    return {
      kind: 'deny',
      rule: null,
      reason: 'no target serves that database',
      code: '3D000',
      message: `database "${o.database}" does not exist`,
    };
  const decision = evaluate(set, {
    user: o.user,
    groups: o.groups,
    claims: o.claims ?? {},
    method,
    source: o.from ?? '127.0.0.1',
    tls: { version: tls === 'none' ? null : tls, channelBinding: method === 'scram-sha-256-plus' },
    target: place.target.name,
    clientDatabase: o.database,
    database: place.database,
    targetDatabase: place.target.database,
    targetRole: place.target.role,
    settings,
    at,
  });
  return withRequestableTerms(set, decision);
}

/**
 * A refusal a requestable rule would cover (evaluate's reason ends "requestable by rule N",
 * and the client gets the hint): the dry run adds what asking involves, so the policy's
 * author sees who would decide and for how long without opening the rule.
 */
function withRequestableTerms(set: PolicySet, d: Decision): Decision {
  if (d.kind !== 'deny' || !d.hint) return d;
  const name = /; requestable by rule (\S+)$/.exec(d.reason)?.[1];
  const rule = set.rules.find((r) => r.rule.name === name)?.rule;
  if (!rule || rule.effect !== 'allow' || !rule.requestable) return d;
  const r = rule.requestable;
  const terms = [
    `approvers ${r.approvers.groups.join(', ')}`,
    `${r.approvals} approval${r.approvals === 1 ? '' : 's'}`,
    `at most ${r.maxDuration}`,
    ...(r.reason.required ? [r.reason.pattern ? `reason matching ${r.reason.pattern}` : 'reason required'] : []),
    ...(r.selfApproval === 'break-glass' ? ['break-glass self-approval'] : []),
  ];
  return { ...d, reason: `${d.reason} (${terms.join('; ')})` };
}

/** Allow and deny rules that can apply to a target, for "who can reach X". */
export function rulesForTarget(
  set: PolicySet,
  target: string,
): Array<{ name: string; effect: string; file: string; subjects: unknown; role: string | null; conditions: string[] }> {
  return set.rules
    .filter(({ rule }) => rule.targets.some((p) => globMatch(p, target)))
    .map(({ rule, file }) => ({
      name: rule.name,
      effect: rule.effect,
      file,
      subjects: rule.subjects,
      role: rule.effect === 'allow' ? (rule.role ?? null) : null,
      conditions: [
        ...(rule.sources ? [`from ${rule.sources.join(', ')}`] : []),
        ...(rule.schedule
          ? [
              `${rule.schedule.days?.join(',') ?? 'daily'} ${rule.schedule.from}-${rule.schedule.to} ${rule.schedule.timezone}`,
            ]
          : []),
        ...(rule.methods ? [`methods ${rule.methods.join(', ')}`] : []),
        ...(rule.effect === 'allow' && rule.session.readOnly ? ['read-only'] : []),
      ],
    }));
}
