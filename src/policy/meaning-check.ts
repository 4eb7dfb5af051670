import { didYouMean } from '../util/did-you-mean.js';
import type { PolicySet } from './schema.js';

/** What the policy's names are checked against: the gateway's configuration, the vault. */
export interface PolicyContext {
  /** The targets in pgward.yaml, each with the upstream roles known for it (null: not known here). */
  targets: ReadonlyMap<string, { roles: ReadonlySet<string> | null }>;
  /** The groups people can have (policies.knownGroups); null: not known, not checked. */
  groups: ReadonlySet<string> | null;
}

/**
 * A name in a rule that points at nothing. Errors reject the policy (a typo in a target or a
 * detector profile silently turns a grant or its blocking off); warnings are shown and let
 * through (a group the identity provider may issue but nobody listed).
 */
export interface MeaningFinding {
  ruleIndex: number;
  file: string;
  /** Where in the rule, as a path under the rule (for the line and column). */
  path: Array<string | number>;
  severity: 'error' | 'warning';
  message: string;
}

/** The profile name that means "no detector actions", said on purpose. */
export const NO_PROFILE = 'none';
/** The profile that applies when a grant names none. */
export const DEFAULT_PROFILE_NAME = 'default';

export function checkPolicyMeaning(set: PolicySet, context: PolicyContext | null): MeaningFinding[] {
  const findings: MeaningFinding[] = [];
  const profiles = new Set([...Object.keys(set.profiles), DEFAULT_PROFILE_NAME, NO_PROFILE]);
  for (const { rule, file, index } of set.rules) {
    const at = (path: Array<string | number>, severity: MeaningFinding['severity'], message: string): void => {
      findings.push({ ruleIndex: index, file, path, severity, message });
    };
    if (rule.effect === 'allow' && !profiles.has(rule.session.detector)) {
      const name = rule.session.detector;
      at(
        ['session', 'detector'],
        'error',
        `session.detector: profile "${name}" is not defined${didYouMean(name, profiles)}; define it under profiles:, or write detector: ${NO_PROFILE} for a grant with no detector actions`,
      );
    }
    if (!context) continue;
    rule.targets.forEach((target, i) => {
      if (target === '*' || context.targets.has(target)) return;
      at(
        ['targets', i],
        'error',
        `targets: unknown target "${target}"${didYouMean(target, context.targets.keys())}; targets are the names under targets: in the gateway configuration`,
      );
    });
    if (context.groups) {
      const known = context.groups;
      const checkGroups = (groups: readonly string[] | undefined, where: Array<string | number>): void =>
        groups?.forEach((g, i) => {
          if (g === '*' || known.has(g)) return;
          at(
            [...where, i],
            'warning',
            `${where.join('.')}: group "${g}" is not one of policies.knownGroups${didYouMean(g, known)}`,
          );
        });
      checkGroups(rule.subjects.groups, ['subjects', 'groups']);
      if (rule.effect === 'allow')
        checkGroups(rule.requestable?.approvers.groups, ['requestable', 'approvers', 'groups']);
    }
    if (rule.effect === 'allow' && rule.role) {
      for (const target of rule.targets) {
        const roles = context.targets.get(target)?.roles;
        if (!roles || roles.has(rule.role)) continue;
        at(
          ['role'],
          'warning',
          `role: "${rule.role}" has no credential for target "${target}"${didYouMean(rule.role, roles)}; store one with pgward vault set or on the Targets page`,
        );
      }
    }
  }
  return findings;
}
